"""The project's own deprecation warnings are errors (issue 13 point 8): pytest, run with the
project's configuration on a small generated test file, fails a test when coovox code or the
test itself raises a DeprecationWarning (or sets a str key on an aiohttp request); only the
libraries' own internals listed in pyproject.toml are ignored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TESTS = '''
import warnings

from aiohttp.test_utils import make_mocked_request


def _module(name: str) -> dict:
    """Code that runs as module ``name`` (warnings are attributed to it)."""
    ns = {"__name__": name, "warnings": warnings}
    exec("def old():\\n    warnings.warn('old api', DeprecationWarning)\\n"
         "def pending():\\n    warnings.warn('soon', PendingDeprecationWarning)\\n"
         "def str_key(request):\\n    request['plain-str-key-of-a-test'] = 1\\n", ns)
    return ns


def test_coovox_deprecated():
    _module("coovox.somewhere")["old"]()


def test_coovox_pending():
    _module("coovox_prometheus.metrics")["pending"]()


def test_coovox_str_request_key():
    _module("coovox.web.somewhere")["str_key"](make_mocked_request("GET", "/"))


def test_the_test_itself_deprecated():
    warnings.warn("old test helper", DeprecationWarning)


def test_an_ignored_librarys_own_str_key():
    _module("aiohttp_session")["str_key"](make_mocked_request("GET", "/"))
'''


def test_a_deprecation_warning_from_coovox_code_fails_the_run(tmp_path):
    (tmp_path / "test_generated.py").write_text(TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-p", "no:randomly", "-rA",
         str(tmp_path / "test_generated.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    for name, error in (("test_coovox_deprecated", "DeprecationWarning: old api"),
                        ("test_coovox_pending", "PendingDeprecationWarning: soon"),
                        ("test_coovox_str_request_key", "aiohttp.web_exception"),
                        ("test_the_test_itself_deprecated", "DeprecationWarnin")):
        assert f"FAILED test_generated.py::{name} - {error}" in out, out
    assert "E           aiohttp.web_exceptions.NotAppKeyWarning: It is recommended" in out, out
    assert "PASSED test_generated.py::test_an_ignored_librarys_own_str_key" in out, out
    assert "4 failed, 1 passed" in out, out

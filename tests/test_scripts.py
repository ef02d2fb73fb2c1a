"""``scripts/test.sh`` on a machine it has to set up (issue 15), with stand-ins for apt-get,
sudo, ls and Python: it waits for a locked dpkg instead of failing, shows apt's output,
and installs the tests into their own ``.venv-test`` (the product's ``.venv`` stays as
``scripts/run.sh`` makes it: no test packages, no example plugin)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash") or "/bin/bash"

APT_GET = """#!/bin/sh
echo "apt-get $*" >> "$CALLS"
case "$*" in
  *DPkg::Lock::Timeout=600*) ;;
  *) echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)"; exit 100 ;;
esac
case "$*" in
  *install*)
    if [ -n "$APT_FAIL" ]; then echo "E: Unable to locate package $APT_FAIL"; exit 100; fi
    echo "Setting up chromium (1.2.3) ..." ;;
  *update*) echo "Hit:1 http://deb.debian.org/debian trixie InRelease" ;;
esac
"""

# `python3 -m venv DIR` makes DIR/bin/{python,pip} that record how they are called
PYTHON = """#!/bin/sh
echo "python3 $*" >> "$CALLS"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  for tool in python pip; do
    printf '#!/bin/sh\\necho "%s/bin/%s $*" >> "$CALLS"\\n' "$3" "$tool" > "$3/bin/$tool"
    chmod +x "$3/bin/$tool"
  done
fi
"""


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(body)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A copy of the scripts in a folder, and a PATH of stand-ins (no chromium, no fonts,
    no PostgreSQL: everything must be installed)."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test.sh", repo / "scripts" / "test.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("dirname", "id", "env", "mkdir", "chmod", "printf", "cat"):
        found = shutil.which(name)
        if found:
            (bin_dir / name).symlink_to(found)
    _tool(bin_dir, "apt-get", APT_GET)
    _tool(bin_dir, "sudo", '#!/bin/sh\nexec "$@"\n')
    _tool(bin_dir, "ls", "#!/bin/sh\nexit 2\n")  # no fonts, no PostgreSQL binaries
    _tool(bin_dir, "python3", PYTHON)
    calls = tmp_path / "calls.txt"
    env = {"PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path),
           "COOVOX_SKIP_REAL_ASTERISK": "1"}
    return repo, env, calls


def _run(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(repo / "scripts" / "test.sh"), "-q"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_test_sh_waits_for_dpkg_shows_apt_and_keeps_the_product_venv_clean(machine):
    repo, env, calls = machine
    done = _run(repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    log = calls.read_text().splitlines()
    apt = [line for line in log if line.startswith("apt-get")]
    assert apt and all("DPkg::Lock::Timeout=600" in line for line in apt), apt
    assert any("install" in line and "chromium" in line and "postgresql" in line
               for line in apt)
    assert "Setting up chromium" in done.stdout  # apt's output is shown
    # the tests' own environment; the product's .venv is not made or touched
    assert (repo / ".venv-test" / "bin" / "python").exists()
    assert not (repo / ".venv").exists()
    pip = [line for line in log if "/bin/pip " in line and "install" in line]
    assert any(".venv-test/bin/pip" in line and "examples/coovox-push-events" in line
               for line in pip), log
    assert not [line for line in log if line.startswith(".venv/")]
    pytest = [line for line in log if line.startswith(".venv-test/bin/python -m pytest")]
    # two workers by default, a module whole on one; the caller's arguments come last
    assert pytest and pytest[0].endswith("-n 2 --dist loadfile -q"), log


def test_a_failing_apt_get_shows_why_and_stops(machine):
    repo, env, calls = machine
    done = _run(repo, {**env, "APT_FAIL": "chromium"})
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "Unable to locate package chromium" in out
    assert "apt-get install" in out and "failed" in out
    assert "pytest" not in calls.read_text()


def test_the_readme_still_sets_up_with_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "    bash scripts/run.sh\n" in readme and "    bash scripts/test.sh\n" in readme
    run_sh = (ROOT / "scripts" / "run.sh").read_text()
    assert ".[test]" not in run_sh and "push-events" not in run_sh

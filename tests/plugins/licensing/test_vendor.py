"""The ``coovox-license`` vendor tool end to end, in a subprocess like the vendor runs it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from coovox.plugins.licensing import vendor
from coovox.plugins.licensing.services import Licensing
from coovox.plugins.licensing.store import LicenceStore

TOOL = [sys.executable, "-m", "coovox.plugins.licensing.vendor"]


def run(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([*TOOL, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_keygen_issue_inspect_and_upload(tmp_path, machine_id, clock):
    done = run("keygen", "-o", "keys", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    key, pub = tmp_path / "keys" / "vendor.key", tmp_path / "keys" / "vendor.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    public = pub.read_text().strip()
    assert public in done.stdout

    device = Licensing(LicenceStore(tmp_path / "store", (machine_id,)), clock, [public])
    device.activate("billing", True)
    (tmp_path / "billing.ac").write_bytes(device.request_file("billing"))

    done = run("issue", "billing.ac", "--key", key, "-o", "billing.lic", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run("inspect", "billing.lic", "--public-key", pub, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "signature: valid" in done.stdout
    payload = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert payload["device_id"] == device.status("billing")["device_id"]
    assert payload["expires"] == "never" and payload["feature"] == "billing"

    state = device.install_licence("billing", (tmp_path / "billing.lic").read_bytes())
    assert state["never_expires"] is True


def in_process(*args, cwd, capsys) -> tuple[int, str, str]:
    """The tool's ``main`` in this process (faster than a subprocess for error cases)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = vendor.main([str(a) for a in args])
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    return code, out, err


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    in_process("keygen", "-o", "keys", cwd=tmp_path, capsys=capsys)
    (tmp_path / "garbage.ac").write_bytes(b"\x00\x01 not json")
    (tmp_path / "ok.ac").write_text(json.dumps({
        "product": "coovox-ari", "feature": "billing",
        "device_id": "CVX-ABCDE-ABCDE-ABCDE-ABCDE"}))
    cases = [
        (("issue", "missing.ac", "--key", "keys/vendor.key", "-o", "x.lic"), "not found"),
        (("issue", "garbage.ac", "--key", "keys/vendor.key", "-o", "x.lic"), "not valid JSON"),
        (("issue", "ok.ac", "--key", "ok.ac", "-o", "x.lic"), "private key"),
        (("issue", "ok.ac", "--key", "keys/vendor.key", "-o", "x.lic", "--expires", "soon"),
         "--expires"),
        (("inspect", "garbage.ac"), "malformed"),
        (("keygen", "-o", "keys"), "already exists"),
        (("inspect", "ok.ac", "--public-key", "bm90IGEga2V5"), "public key"),
    ]
    for args, words in cases:
        code, out, err = in_process(*args, cwd=tmp_path, capsys=capsys)
        assert code == 2, (args, out, err)
        assert words in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (tmp_path / "x.lic").exists()


def test_inspect_detects_a_changed_licence(tmp_path, capsys):
    in_process("keygen", "-o", "keys", cwd=tmp_path, capsys=capsys)
    (tmp_path / "ok.ac").write_text(json.dumps({
        "product": "coovox-ari", "feature": "billing",
        "device_id": "CVX-ABCDE-ABCDE-ABCDE-ABCDE"}))
    in_process("issue", "ok.ac", "--key", "keys/vendor.key", "-o", "a.lic", cwd=tmp_path,
               capsys=capsys)
    lic = tmp_path / "a.lic"
    lic.write_text(lic.read_text().replace("ABCDE-ABCDE-ABCDE-ABCDE", "ABCDE-ABCDE-ABCDE-FFFFF"))
    code, _, err = in_process("inspect", "a.lic", "--public-key", "keys/vendor.pub",
                              cwd=tmp_path, capsys=capsys)
    assert code == 2 and "bad signature" in err

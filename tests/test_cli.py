"""The ``coovox`` command line: administrators, tokens, migrations, errors, ``coovox run``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from coovox import cli
from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from tests.support.postgres import free_port

PASSWORD = "Cli-pass-123"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """COOVOX_DATA_DIR for in-process ``cli.main`` runs (other COOVOX_* removed)."""
    for key in list(os.environ):
        if key.startswith("COOVOX_"):
            monkeypatch.delenv(key)
    data = tmp_path / "data"
    monkeypatch.setenv("COOVOX_DATA_DIR", str(data))
    return data


def run(*argv: str, capsys) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("coovox: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def users_in(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "coovox.sqlite3") as db:
        return list(db.execute("SELECT username, role FROM core_user"))


async def check(data: Path, fn):
    """Open the data dir's database in this process and run ``fn()``."""
    app = Coovox(config=load_config(environ={"COOVOX_DATA_DIR": str(data)}),
                 plugins=PluginHost(load_entry_points=False))
    await app.open(startup=False)
    try:
        return await fn()
    finally:
        await app.close()


def test_db_migrate_creates_the_schema_and_no_user(data_dir, capsys):
    code, out, _ = run("db", "migrate", capsys=capsys)
    assert code == 0 and "up to date" in out
    assert users_in(data_dir) == []  # no default administrator, no default password
    code, out, _ = run("db", "migrate", capsys=capsys)
    assert code == 0 and "up to date" in out


def test_admin_create_and_passwd(data_dir, capsys):
    from coovox.users import authenticate

    code, out, _ = run("admin", "create", "root", "--password", PASSWORD, capsys=capsys)
    assert code == 0 and "administrator root created" in out
    assert users_in(data_dir) == [("root", "admin")]
    assert asyncio.run(check(data_dir, lambda: authenticate("root", PASSWORD))) is not None

    code, out, _ = run("admin", "passwd", "root", "--password", "New-pass-456", capsys=capsys)
    assert code == 0 and "password of root changed" in out
    assert asyncio.run(check(data_dir, lambda: authenticate("root", PASSWORD))) is None
    assert asyncio.run(check(data_dir, lambda: authenticate("root", "New-pass-456"))) is not None


def test_admin_create_reads_the_password_from_stdin(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    env["COOVOX_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "coovox", "admin", "create", "boss"],
                          input=PASSWORD + "\n", env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert users_in(tmp_path) == [("boss", "admin")]


@pytest.mark.parametrize(("argv", "named"), [
    (("admin", "passwd", "ghost", "--password", PASSWORD), "no user named 'ghost'"),
    (("token", "create", "--user", "ghost"), "ghost"),
    (("admin", "create", "weak", "--password", "short"), "password must be at least 8"),
    (("admin", "create", "bad name!", "--password", PASSWORD), "username"),
    (("plugins", "enable", "ghost"), "no plugin named 'ghost'"),
    (("db", "makemigrations", "ghost"), "unknown app label 'ghost'"),
])
def test_errors_are_one_line_without_traceback(data_dir, capsys, argv, named):
    code, _, err = run(*argv, capsys=capsys)
    assert code == 1
    assert named in one_line_error(err)


def test_duplicate_admin_is_refused(data_dir, capsys):
    assert run("admin", "create", "root", "--password", PASSWORD, capsys=capsys)[0] == 0
    code, _, err = run("admin", "create", "root", "--password", PASSWORD, capsys=capsys)
    assert code == 1 and "already exists" in one_line_error(err)


def test_token_create_prints_a_working_token(data_dir, capsys):
    from coovox.users import user_for_token

    run("admin", "create", "root", "--password", PASSWORD, capsys=capsys)
    code, out, _ = run("token", "create", "--user", "root", "--name", "ci", capsys=capsys)
    assert code == 0
    token = out.strip()
    assert token.startswith("cvx_") and "\n" not in token
    user = asyncio.run(check(data_dir, lambda: user_for_token(token)))
    assert user is not None and user.username == "root"
    assert asyncio.run(check(data_dir, lambda: user_for_token(token + "x"))) is None


# --- coovox run ---------------------------------------------------------------------------------


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_run_serves_then_stops_cleanly_on_sigterm(data_dir, capsys):
    run("admin", "create", "root", "--password", PASSWORD, capsys=capsys)
    token = run("token", "create", "--user", "root", capsys=capsys)[1].strip()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    env.update(COOVOX_DATA_DIR=str(data_dir), COOVOX_WEB_PORT=str(port),
               COOVOX_ARI_URL=f"http://127.0.0.1:{free_port()}")  # no Asterisk there
    proc = subprocess.Popen([sys.executable, "-m", "coovox", "run"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(base + "/healthz")
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "coovox run did not start"
                time.sleep(0.2)
        assert status == 200
        health = json.loads(body)
        assert health["database"]["ok"] is True
        assert health["ari"]["connected"] is False
        status, body = get(base + "/api/v1/plugins", token)
        assert status == 200 and "billing" in body  # the token printed by the CLI works
        status, body = get(base + "/sign-in")
        assert status == 200
        assert "Asterisk not connected (retrying)" in body
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == 0, err
    assert "Traceback" not in err
    assert "stopping" in err

"""``coovox reset`` in a subprocess: the store survives a reset, ``--hard`` wipes it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.licensing.services import Licensing
from coovox.plugins.licensing.store import LicenceStore
from coovox.users import create_user
from tests.support.licensing import DAY0, issue

COOVOX = [sys.executable, "-m", "coovox"]


def coovox_cmd(*args: str, data_dir, stdin: str = "", **env: str):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    environ.update(COOVOX_DATA_DIR=str(data_dir), **env)
    return subprocess.run([*COOVOX, *args], input=stdin, capture_output=True, text=True,
                          env=environ, timeout=120)


async def test_reset_keeps_the_store_and_hard_reset_wipes_it(tmp_path, machine_id, clock,
                                                             vendor_key, public_key):
    data = tmp_path / "data"
    app = Coovox(config=load_config(environ={}, data_dir=str(data)), plugins=PluginHost())
    await app.open(startup=False)
    await create_user("admin", "Admin-pass-1")
    await app.close()
    database = data / "coovox.sqlite3"
    assert database.exists()

    def device() -> Licensing:
        return Licensing(LicenceStore(data / "licence", (machine_id,)), clock, [public_key])

    first = device()
    first.activate("billing", True)
    licence = issue(vendor_key, first.status("billing")["device_id"])
    first.install_licence("billing", licence)

    done = coovox_cmd("reset", "--yes", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert not database.exists() and not (data / "secret.key").exists()
    after = device().status("billing")
    assert after["first_activation"] == DAY0  # the trial is not restarted
    assert after["never_expires"] and after["licence_uploaded"]  # the licence survives

    done = coovox_cmd("reset", "--yes", "--hard", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert not (data / "licence").exists()
    wiped = device()
    assert wiped.status("billing")["licence_uploaded"] is False
    state = wiped.install_licence("billing", licence)  # the same file restores it
    assert state["usable"] and state["never_expires"]


def test_reset_asks_for_confirmation(tmp_path, monkeypatch, capsys):
    import io

    from coovox import cli

    data = tmp_path / "data"
    (data / "licence").mkdir(parents=True)
    (data / "licence" / "trial-billing.json").write_text("{}")
    database = data / "coovox.sqlite3"
    database.write_bytes(b"")
    for name in [k for k in os.environ if k.startswith("COOVOX_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COOVOX_DATA_DIR", str(data))

    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert cli.main(["reset"]) == 1
    assert "cancelled" in capsys.readouterr().err and database.exists()

    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert cli.main(["reset"]) == 0
    assert not database.exists()
    assert (data / "licence" / "trial-billing.json").exists()


@pytest.mark.postgres
def test_reset_drops_the_tables_on_postgresql(tmp_path, pg_url):
    import asyncio

    import asyncpg

    data = tmp_path / "data"
    done = coovox_cmd("db", "migrate", data_dir=data, COOVOX_DATABASE_URL=pg_url)
    assert done.returncode == 0, done.stderr

    async def tables() -> set[str]:
        conn = await asyncpg.connect(pg_url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    assert "tortoise_migrations" in asyncio.run(tables())
    done = coovox_cmd("reset", "--yes", data_dir=data, COOVOX_DATABASE_URL=pg_url)
    assert done.returncode == 0, done.stderr
    assert asyncio.run(tables()) == set()
    done = coovox_cmd("db", "migrate", data_dir=data, COOVOX_DATABASE_URL=pg_url)
    assert done.returncode == 0, done.stderr

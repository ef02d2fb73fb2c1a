"""Point 8: secrets never appear in logs.

A full run of ``coovox -v run`` (debug logging) on PostgreSQL with a password, against the
ARI double: sign-ins (good and bad), API calls with a token, metered calls, a websocket
drop and reconnect, a licence request/upload (and the vendor's private key uploaded by
mistake), ``coovox config show`` and ``coovox check``.  Everything the processes print is
then searched for the ARI password, the admin password, the API token, the licence private
key and the database password (also base64/URL-encoded forms).
"""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
import sys
import urllib.parse
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.models import set_setting
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import services
from coovox.plugins.calls.models import Call
from coovox.users import create_token, create_user
from tests.reliability.books import assert_books
from tests.reliability.proc import App, until
from tests.support.call_app import ARI_PASSWORD, seed
from tests.support.restart import ROOT

ADMIN_PASSWORD = "Adm1n-Zebra-Quartz-77"
DB_PASSWORD = "Pg-Walrus-Secret-913"


def _psql(server, sql: str) -> None:
    import os

    subprocess.run(server._cmd(f"{server.bindir}/psql", "-h", "127.0.0.1", "-p",
                               str(server.port), "-U", "coovox", "-d", "postgres", "-qc", sql),
                   check=True, env={**os.environ, "PGPASSWORD": "coovox"}, capture_output=True)


def _forms(secret: str) -> list[str]:
    """The secret and the encodings a careless log line could show it in."""
    raw = secret.encode()
    return [secret, urllib.parse.quote(secret, safe=""), base64.b64encode(raw).decode(),
            raw.hex()]


async def _sign_in(session, base: str, password: str) -> int:
    page = await (await session.get(base + "/sign-in")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = await session.post(base + "/sign-in", allow_redirects=False, data={
        "username": "admin", "password": password, "csrf_token": csrf, "next": "/"})
    return resp.status


def _cli(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "coovox", "-v", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    return out.stdout + out.stderr


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_a_full_run_logs_no_secret(tmp_path, pg_server, double):
    db = user = "sec_" + uuid.uuid4().hex[:10]
    _psql(pg_server, f"CREATE ROLE {user} LOGIN PASSWORD '{DB_PASSWORD}'")
    _psql(pg_server, f'CREATE DATABASE "{db}" OWNER {user}')
    db_url = f"postgres://{user}:{DB_PASSWORD}@127.0.0.1:{pg_server.port}/{db}"
    keys = tmp_path / "vendor"
    subprocess.run([sys.executable, "-m", "coovox.plugins.licensing.vendor", "keygen", "-o",
                    str(keys)], cwd=ROOT, capture_output=True, text=True, check=True)
    public = (keys / "vendor.pub").read_text().strip()
    private_pem = (keys / "vendor.key").read_text()
    private_body = "".join(line for line in private_pem.splitlines() if "-----" not in line)

    data_dir = str(tmp_path / "data")
    local = Coovox(config=load_config(environ={}, data_dir=data_dir, database_url=db_url,
                                      secret_key="test-secret"),
                   plugins=PluginHost(load_entry_points=False))
    await local.open(startup=False)
    log = tmp_path / "app.log"
    app = App(data_dir, double.url, log, verbose=True, COOVOX_DATABASE_URL=db_url,
              COOVOX_LICENCE_PUBLIC_KEYS=public)
    try:
        await seed()
        await create_user("admin", ADMIN_PASSWORD)
        _, token = await create_token("admin")
        await set_setting("billing", "active", True)
        await services.update_accounts(["100"], {"enabled": True, "credit": Decimal(0)})
        await services.recharge(["100"], "5", "test", datetime.now(UTC))
        await services.create_rate({"prefix": "9", "initial_cost": "0", "initial_time": 0,
                                    "rate": "0.01", "unit": 1, "extensions": "all"})
        await app.start()
        await app.wait_web()
        await double.wait_connected(30)
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            assert await _sign_in(s, app.url, "wrong-" + ADMIN_PASSWORD) != 302
            assert await _sign_in(s, app.url, ADMIN_PASSWORD) == 302
            assert (await s.get(app.url + "/api/v1/users", headers=auth)).status == 200
            resp = await s.get(app.url + "/api/v1/users",
                               headers={"Authorization": f"Bearer {token}x"})
            assert resp.status == 401
            req = await s.get(app.url + "/api/v1/licensing/features/billing/request",
                              headers=auth)
            assert req.status == 200
            (tmp_path / "billing.ac").write_bytes(await req.read())
            resp = await s.put(app.url + "/api/v1/licensing/features/billing/licence",
                               data=private_pem.encode(), headers=auth)  # wrong file
            assert resp.status == 400
            # calls: answered and hung up, and one across a websocket drop
            for n in ("9555000", "9555010"):
                caller = await double.place_call("100", n)
                await asyncio.sleep(0.6)
                await double.phone_hangup(caller)
            caller = await double.place_call("100", "9555020")
            await asyncio.sleep(0.3)
            await double.drop_websocket(down_for=0.5)
            await double.wait_connected(10)
            await asyncio.sleep(0.5)
            await double.phone_hangup(caller)
            await until(lambda: _finished(3), 20, "calls finished")
        printed = _cli("config", "show", env=app.env) + _cli("check", env=app.env)
        await app.stop()
        await assert_books()
    finally:
        await app.stop()
        await local.close()
    text = log.read_text(errors="replace") + printed
    assert "Traceback" not in text, text[-3000:]
    for seen in ("signed in", "failed sign-in", "ARI websocket connected", "ari_password",
                 "database_url", "billing invariants hold"):
        assert seen in text, f"{seen!r} missing: the run did not log what it should"
    secrets = {"ARI password": ARI_PASSWORD, "admin password": ADMIN_PASSWORD,
               "API token": token, "database password": DB_PASSWORD,
               "licence private key": private_body,
               "ARI basic auth": base64.b64encode(f"coovox:{ARI_PASSWORD}".encode()).decode()}
    for what, secret in secrets.items():
        for form in _forms(secret):
            assert form not in text, f"the {what} appears in the logs"
    for half in (private_body[:32], private_body[-32:]):
        assert half not in text, "part of the licence private key appears in the logs"


async def _finished(n: int) -> bool:
    return await Call.exclude(status="active").count() >= n

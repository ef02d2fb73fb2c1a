"""The operator role (manual 003 §7.10.1, operator guide 004; issue 16): the dashboard,
extensions (list, add, edit; no delete, no import), the call log and live calls (no
hang-up); nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coovox.plugins.calls.models import Call, Extension
from coovox.web.keys import ROUTES_KEY
from tests.support.web import become

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def operator(client, admin_user):
    await Extension.create(number="100", name="Alice")
    now = datetime.now(UTC)
    await Call.create(id="talk", started_at=now - timedelta(seconds=30),
                      answered_at=now - timedelta(seconds=20), extension="100",
                      dialed="912345", status="active")
    await become(client, "operator")
    return client


async def test_the_operator_sees_its_pages(operator):
    for path in ("/", "/calls/extensions", "/calls/extensions/new", "/calls/extensions/100/edit",
                 "/calls/log", "/calls/live", "/calls/extensions/export.csv"):
        resp = await operator.get(path, allow_redirects=False)
        assert resp.status == 200, path
    html = await (await operator.get("/")).text()
    assert 'id="dashboard-cards"' in html
    menu = html.split('id="menu"')[1].split("</nav>")[0]
    for route in ("home", "calls_extensions", "calls_log", "calls_live"):
        assert f'data-route="{route}"' in menu, route
    for route in ("calls_trunks", "users", "weblog", "plugins"):
        assert f'data-route="{route}"' not in menu, route


async def test_the_operator_adds_and_edits_extensions_but_never_deletes(operator):
    resp = await operator.post("/calls/extensions/new", data={
        "csrf_token": operator.csrf, "number": "101", "name": "Bob",
        "dial_permission": "DialPlan1", "enabled": "on"})
    assert resp.status == 200 and await Extension.filter(number="101").exists()
    html = await (await operator.get("/calls/extensions")).text()
    assert "/delete" not in html and 'id="import"' not in html
    resp = await operator.post("/calls/extensions/101/delete",
                               data={"csrf_token": operator.csrf}, allow_redirects=False)
    assert resp.status == 403 and await Extension.filter(number="101").exists()


async def test_the_operator_watches_live_calls_but_cannot_hang_up(operator):
    html = await (await operator.get("/calls/live")).text()
    assert 'data-call="talk"' in html and "/hangup" not in html
    resp = await operator.post("/calls/live/talk/hangup", data={"csrf_token": operator.csrf},
                               allow_redirects=False)
    assert resp.status == 403
    resp = await operator.get("/calls/live/events")
    line = b""
    while not line.startswith(b"data: "):
        line = await resp.content.readline()
    resp.close()
    assert b'"hangup": false' in line


async def test_the_operator_is_refused_elsewhere(operator):
    refused = []
    for route in operator.server.app[ROUTES_KEY].values():
        if route.method != "GET" or route.api or route.public or "{" in route.path:
            continue
        if "operator" in route.roles or "*" in route.roles:
            continue
        resp = await operator.get(route.path, allow_redirects=False)
        refused.append((route.path, resp.status))
    assert refused and all(status == 403 for _, status in refused), refused


async def test_the_administrator_creates_an_operator(client, admin_user):
    from tests.support.web import ADMIN_PASSWORD, sign_in

    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    html = await (await client.get("/users", headers=ZH)).text()
    assert ">操作员</option>" in html
    resp = await client.post("/users", data={"csrf_token": client.csrf, "username": "op1",
                                             "password": "Op-pass-123", "role": "operator"})
    assert 'id="created-username">op1<' in await resp.text()
    await sign_in(client, "op1", "Op-pass-123")
    assert (await client.get("/", allow_redirects=False)).status == 200

"""Live calls pushed by the server (issue 16): server-sent events with the running cost
(with its currency) and the remaining balance; an administrator hangs a talking call up
from the page (CSRF, web log) and the call ends as "hung up by administrator"."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from coovox.models import WebLog
from coovox.plugins.calls.models import Call
from coovox.web.app import create_app
from tests.support.call_app import active_answered, finished
from tests.support.web import ADMIN_PASSWORD, sign_in


async def read_event(resp, name: str = "calls", timeout: float = 5.0) -> dict:
    """The data of the next event ``name`` of a text/event-stream."""
    event = None
    async with asyncio.timeout(timeout):
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == name:
                return json.loads(line[6:])


# --- with billing, no Asterisk: what the page and the stream show -------------------------


@pytest.fixture
async def billed_live(client, coovox, admin_user):
    from coovox.plugins.billing import services
    from coovox.plugins.billing.models import BillingCall
    from coovox.plugins.calls.models import Extension

    now = coovox.now()
    await Extension.create(number="100", name="Alice")
    await services.update_accounts(["100"], {"enabled": True})
    await services.recharge(["100"], "12.5", "admin", now)
    await services.update_settings({"active": True, "currency": "CNY"})
    await Call.create(id="talk1", started_at=now - timedelta(seconds=90),
                      answered_at=now - timedelta(seconds=75), extension="100",
                      extension_name="Alice", dialed="912345", trunk="pstn", status="active")
    await Call.create(id="ring1", started_at=now - timedelta(seconds=5), extension="100",
                      extension_name="Alice", dialed="955555", trunk="pstn", status="active")
    await BillingCall.create(call_id="talk1", extension="100", charged="0.3000",
                             rate={"id": 1, "remark": "local"})
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    return client


async def test_the_stream_pushes_calls_with_cost_currency_and_balance(billed_live):
    resp = await billed_live.get("/calls/live/events", headers={"Accept-Language": "en"})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["Cache-Control"] == "no-store"
    first = await read_event(resp)
    second = await read_event(resp)  # one snapshot a second
    resp.close()
    items = {i["id"]: i for i in first["items"]}
    assert set(items) == {"talk1", "ring1"} and first["billing"] is True
    talk = items["talk1"]
    assert talk["hangup"] is True and talk["state_text"] == "talking"
    assert talk["cost_text"] == "CN¥0.30" and talk["balance_text"] == "CN¥12.50"
    assert talk["talk_text"].startswith("01:1")
    assert items["ring1"]["hangup"] is False and items["ring1"]["talk_text"] == ""
    later = {i["id"]: i for i in second["items"]}["talk1"]
    assert later["duration"] > talk["duration"]


async def test_the_stream_speaks_the_page_language(billed_live):
    resp = await billed_live.get("/calls/live/events", headers={"Accept-Language": "zh-CN"})
    data = await read_event(resp)
    resp.close()
    talk = {i["id"]: i for i in data["items"]}["talk1"]
    assert talk["state_text"] == "通话中"
    assert "¥" in talk["cost_text"]


async def test_the_page_uses_the_stream_not_polling(billed_live):
    html = await (await billed_live.get("/calls/live")).text()
    assert 'data-events="/calls/live/events"' in html and "data-api=" not in html
    assert 'action="/calls/live/talk1/hangup"' in html  # talking: a hang-up form
    assert 'action="/calls/live/ring1/hangup"' not in html  # dialling: none
    assert "CN¥12.50" in html and "CN¥0.30" in html
    script = await (await billed_live.get("/static/calls/live.js")).text()
    assert "EventSource" in script and "setTimeout(poll" not in script


async def test_the_stream_needs_an_administrator(client, coovox, admin_user):
    resp = await client.get("/calls/live/events", allow_redirects=False)
    assert resp.status in (302, 401, 403)
    from tests.support.web import become

    await become(client, "billing")
    resp = await client.get("/calls/live/events", allow_redirects=False)
    assert resp.status == 403


async def test_hanging_up_needs_csrf(billed_live):
    resp = await billed_live.post("/calls/live/talk1/hangup", data={},
                                  allow_redirects=False)
    assert resp.status == 403


async def test_a_call_that_cannot_be_cut_is_explained(billed_live):
    for call_id, text in (("ring1", "Only a call that is talking can be hung up."),
                          ("gone", "The call has already ended."),
                          ("talk1", "could not be hung up from this node")):
        resp = await billed_live.post(f"/calls/live/{call_id}/hangup",
                                      data={"csrf_token": billed_live.csrf},
                                      headers={"Accept-Language": "en"})
        assert resp.status == 200 and str(resp.url).endswith("/calls/live")
        assert text in await resp.text(), call_id


# --- against the ARI double: the call really ends ------------------------------------------


async def test_an_administrator_hangs_a_talking_call_up(app, double, aiohttp_client):
    from coovox.users import create_user

    await create_user("admin", ADMIN_PASSWORD)
    client = await aiohttp_client(create_app(app))
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    await double.place_call("100", "9123455")
    row = await active_answered()
    html = await (await client.get("/calls/live")).text()
    assert f'action="/calls/live/{row.id}/hangup"' in html
    resp = await client.post(f"/calls/live/{row.id}/hangup", data={"csrf_token": csrf},
                             headers={"Accept-Language": "en"})
    assert "is being hung up" in await resp.text()
    (done,) = await finished()
    assert (done.status, done.reason) == ("answered", "hung up by administrator")
    assert done.talk_time is not None and done.talk_time > 0
    entry = await WebLog.filter(action=f"POST /calls/live/{row.id}/hangup").first()
    assert entry is not None and entry.username == "admin" and entry.result.startswith("303")
    await asyncio.sleep(0.1)
    assert not double.channels and not double.bridges
    zh = await (await client.get("/calls/log", headers={"Accept-Language": "zh-CN"})).text()
    assert "被管理员挂断" in zh


async def test_a_stream_ends_after_a_while_and_at_shutdown(billed_live, monkeypatch):
    from coovox.plugins.calllog import pages as calllog_pages
    from coovox.web.keys import STOPPING_KEY

    monkeypatch.setattr(calllog_pages, "LIVE_STREAM_SECONDS", 0.3)
    resp = await billed_live.get("/calls/live/events")
    async with asyncio.timeout(5):
        body = (await resp.read()).decode()  # the stream ends by itself
    assert body.startswith("retry: ") and "event: calls" in body
    assert body.rstrip().endswith("event: reconnect\ndata: {}")
    monkeypatch.setattr(calllog_pages, "LIVE_STREAM_SECONDS", 600)
    resp = await billed_live.get("/calls/live/events")
    await read_event(resp)
    billed_live.server.app[STOPPING_KEY].set()  # what the server's shutdown does
    async with asyncio.timeout(3):
        await resp.read()

"""The third-party example plugin ``coovox-push-events``, installed from examples/."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from aiohttp import web

from coovox.context import Coovox
from coovox.hooktypes import CallInfo
from coovox.plugin_host import PluginHost
from tests.support.postgres import free_port

if os.environ.get("CI"):  # scripts/test.sh installs it: missing there is a failure
    import coovox_push_events  # noqa: F401
pytest.importorskip("coovox_push_events", reason="pip install -e examples/coovox-push-events")

from coovox_push_events import services  # noqa: E402
from coovox_push_events.models import PushFailure  # noqa: E402

PASSWORD = "Push-pass-1"
NAME = "push-events"


class Receiver:
    """A local HTTP endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.content_types: list[str] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.gate: asyncio.Event | None = None  # when set, requests wait for it

    async def handle(self, request: web.Request) -> web.Response:
        if self.gate is not None:
            await self.gate.wait()
        self.bodies.append(await request.json())
        self.content_types.append(request.content_type)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok")


@pytest.fixture
async def receiver(aiohttp_server):
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    rec.url = str(server.make_url("/hook"))
    return rec


@pytest.fixture
async def app(config):
    """CooVox with every installed plugin (push-events comes from its entry point)."""
    coovox = Coovox(config=config, plugins=PluginHost())
    coovox.plugins.set_enabled("billing", False)  # (this process only) keep billing out
    await coovox.open()
    pusher = coovox.services["push_events"]
    pusher.backoff = (0.01, 0.02)  # the real 0.5 s / 1 s would only slow the tests
    try:
        yield coovox
    finally:
        await coovox.close()


def record(call_id: str = "c-1") -> dict:
    return {"id": call_id, "started_at": "2026-01-02T03:04:05+00:00",
            "answered_at": "2026-01-02T03:04:10+00:00", "ended_at": "2026-01-02T03:04:40+00:00",
            "extension": "1001", "extension_name": "Alice", "dialed": "013800138000",
            "sent": "13800138000", "rule": "Mobile", "trunk": "trunk-a", "pin": None,
            "status": "answered", "reason": "", "cause": 16, "duration": 35.0,
            "talk_time": 30.0, "billed_talk_time": 30.0, "node": "node1"}


def call_info(call_id: str = "c-1") -> CallInfo:
    return CallInfo(call_id=call_id, extension="1001", extension_name="Alice",
                    dialed="013800138000", sent="13800138000", rule="Mobile",
                    trunks=("trunk-a",), started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                    answered_at=datetime(2026, 1, 2, 3, 4, 10, tzinfo=UTC))


async def call_ends(coovox: Coovox, call_id: str = "c-1") -> None:
    """What the call path does when a call's record is written."""
    await coovox.plugins.acall_each("coovox_call_ended", call=call_info(call_id),
                                    record=record(call_id))


async def configure(url: str, events=("call_end",), enabled: bool = True) -> None:
    await services.save_settings(services.PushSettings(enabled, url, tuple(events)))


# --- discovery -------------------------------------------------------------------------------


def test_listed_by_coovox_plugins_list_as_third_party(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    env["COOVOX_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "coovox", "plugins", "list", "--json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows[NAME]["builtin"] is False
    assert rows[NAME]["enabled"] is True
    assert rows[NAME]["version"] == "0.1.0"
    assert "push" in rows[NAME]["description"].lower()


# --- delivery ----------------------------------------------------------------------------------


async def test_call_record_is_posted_as_json(app, receiver):
    await configure(receiver.url)
    await call_ends(app)
    await app.services["push_events"].idle()
    assert receiver.content_types == ["application/json"]
    (body,) = receiver.bodies
    assert body["event"] == "call_end"
    assert body["call"] == record()
    assert datetime.fromisoformat(body["time"]).tzinfo is not None
    assert await PushFailure.all().count() == 0


async def test_answered_event_only_when_chosen(app, receiver):
    await configure(receiver.url, events=("call_end",))
    await app.plugins.acall("coovox_call_answered", call=call_info(), control=None,
                            decision=None, resumed=False)
    await app.services["push_events"].idle()
    assert receiver.bodies == []
    await configure(receiver.url, events=("call_answered", "call_end"))
    await app.plugins.acall("coovox_call_answered", call=call_info(), control=None,
                            decision=None, resumed=False)
    await app.services["push_events"].idle()
    (body,) = receiver.bodies
    assert body["event"] == "call_answered"
    assert body["call"]["id"] == "c-1" and body["call"]["extension"] == "1001"


async def test_disabled_plugin_delivers_nothing(app, receiver):
    await configure(receiver.url)
    await app.set_plugin_enabled(NAME, False)
    await call_ends(app)
    await app.services["push_events"].idle()
    assert receiver.bodies == []
    await app.set_plugin_enabled(NAME, True)
    await call_ends(app, "c-2")
    await app.services["push_events"].idle()
    assert [b["call"]["id"] for b in receiver.bodies] == ["c-2"]


async def test_push_switch_off_or_empty_url_delivers_nothing(app, receiver):
    await configure(receiver.url, enabled=False)
    await call_ends(app)
    await configure("", enabled=False)
    await call_ends(app)
    await app.services["push_events"].idle()
    assert receiver.bodies == []


async def test_retry_after_a_500_then_success(app, receiver):
    receiver.statuses = [500]
    await configure(receiver.url)
    await call_ends(app)
    await app.services["push_events"].idle()
    assert [b["call"]["id"] for b in receiver.bodies] == ["c-1", "c-1"]
    assert await PushFailure.all().count() == 0


async def test_client_error_is_logged_without_retry(app, receiver):
    receiver.statuses = [404]
    await configure(receiver.url)
    await call_ends(app)
    await app.services["push_events"].idle()
    assert len(receiver.bodies) == 1
    failure = await PushFailure.get()
    assert failure.attempts == 1 and "404" in failure.error


async def test_failure_logged_when_the_receiver_is_down(app):
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    await configure(url)
    await call_ends(app, "c-down")
    await app.services["push_events"].idle()
    failure = await PushFailure.get()
    assert (failure.event, failure.call_id, failure.url) == ("call_end", "c-down", url)
    assert failure.attempts == services.TRIES == 3
    assert failure.error


async def test_call_path_is_not_blocked_and_shutdown_finishes_deliveries(config, receiver):
    coovox = Coovox(config=config, plugins=PluginHost())
    coovox.plugins.set_enabled("billing", False)
    await coovox.open()
    await configure(receiver.url)
    receiver.gate = asyncio.Event()  # the receiver does not answer yet
    await call_ends(coovox)  # returns although the delivery is still waiting
    assert receiver.bodies == [] and coovox.services["push_events"].tasks
    closing = asyncio.create_task(coovox.close())
    await asyncio.sleep(0)
    receiver.gate.set()
    await asyncio.wait_for(closing, 30)
    assert [b["call"]["id"] for b in receiver.bodies] == ["c-1"]


def test_timeout_and_tries_follow_the_readme():
    pusher = services.Pusher(lambda: datetime.now(UTC))
    assert (pusher.timeout, pusher.tries, pusher.backoff) == (5.0, 3, (0.5, 1.0))


# --- settings page and API ------------------------------------------------------------------------


@pytest.fixture
async def admin(app, aiohttp_client):
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    await create_user("admin", PASSWORD)
    _, token = await create_token("admin")
    client = await aiohttp_client(create_app(app))
    page = await client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post("/sign-in", allow_redirects=False, data={
        "username": "admin", "password": PASSWORD, "csrf_token": csrf, "next": "/"})
    assert resp.status == 302
    page = await client.get("/addons/push-events")
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    client.auth = {"Authorization": f"Bearer {token}"}
    return client


async def test_settings_page_saves_the_url(admin, receiver):
    html = await (await admin.get("/")).text()
    assert 'href="/addons/push-events"' in html  # in the menu, under Addons
    resp = await admin.post("/addons/push-events", allow_redirects=False, data={
        "csrf_token": admin.csrf, "enabled": "1", "url": receiver.url,
        "events": ["call_end", "call_answered"]})
    assert resp.status == 302
    settings = await services.load_settings()
    assert settings == services.PushSettings(True, receiver.url, ("call_answered", "call_end"))
    html = await (await admin.get(resp.headers["Location"])).text()
    assert 'id="push-saved"' in html and receiver.url in html


BAD_URLS = [
    ("ftp://crm.example.com/x", "must start with http:// or https://"),
    ("http:///nohost", "must name a host"),
    ("http://crm example.com/", "must not contain spaces"),
    ("http://crm.example.com:99999/", "has an invalid port"),
    ("", "is required to push events"),
]


async def test_settings_page_refuses_a_bad_url(admin):
    for url, message in BAD_URLS:
        resp = await admin.post("/addons/push-events", allow_redirects=False, data={
            "csrf_token": admin.csrf, "enabled": "1", "url": url, "events": "call_end"})
        assert resp.status == 400, url
        html = await resp.text()
        assert message in html and 'data-field="url"' in html, url
    assert await services.load_settings() == services.PushSettings()  # nothing saved


async def test_settings_form_needs_csrf(admin):
    resp = await admin.post("/addons/push-events", allow_redirects=False,
                            data={"enabled": "1", "url": "http://127.0.0.1:9/x"})
    assert resp.status == 403
    assert await services.load_settings() == services.PushSettings()


async def test_settings_page_shows_recent_failures_in_chinese(admin, app):
    url = f"http://127.0.0.1:{free_port()}/hook"
    await configure(url)
    await call_ends(app, "c-fail")
    await app.services["push_events"].idle()
    admin.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    html = await (await admin.get("/addons/push-events")).text()
    assert "推送事件" in html and "最近的推送失败" in html
    assert 'id="push-failures"' in html and "c-fail" in html


async def test_api_reads_and_changes_settings(admin, receiver):
    resp = await admin.put("/api/v1/push-events/settings", headers=admin.auth,
                           json={"enabled": True, "url": "gopher://x", "events": ["call_end"]})
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "url"
    resp = await admin.put("/api/v1/push-events/settings", headers=admin.auth,
                           json={"enabled": True, "url": receiver.url, "events": ["nope"]})
    assert (await resp.json())["error"]["field"] == "events"
    resp = await admin.put("/api/v1/push-events/settings", headers=admin.auth,
                           json={"enabled": True, "url": receiver.url, "events": ["call_end"]})
    assert resp.status == 200
    got = await (await admin.get("/api/v1/push-events/settings", headers=admin.auth)).json()
    assert got == {"enabled": True, "url": receiver.url, "events": ["call_end"]}
    failures = await (await admin.get("/api/v1/push-events/failures", headers=admin.auth)).json()
    assert failures == {"items": [], "total": 0}


# --- a real call through the ARI double --------------------------------------------------------------


async def test_a_real_call_is_pushed_when_it_ends(tmp_path, receiver):
    from coovox_push_events import plugin as push_plugin

    from coovox.sim import AriDouble, FarEnd
    from tests.support.call_app import ARI_PASSWORD, app_config, finished, open_app, seed

    double = AriDouble(app="coovox", user="coovox", password=ARI_PASSWORD, sound_duration=0.05)
    await double.start("127.0.0.1", 0)
    try:
        coovox = await open_app(app_config(tmp_path, double), [push_plugin])
        try:
            await seed()
            await configure(receiver.url, events=("call_answered", "call_end"))
            double.far_end("123450", FarEnd(hangup_after=0.2))
            await double.place_call("100", "9123450")
            (row,) = await finished()
            async with asyncio.timeout(10):
                while len(receiver.bodies) < 2:
                    await asyncio.sleep(0.02)
        finally:
            await coovox.close()
    finally:
        await double.stop()
    by_event = {b["event"]: b for b in receiver.bodies}
    answered, ended = by_event["call_answered"], by_event["call_end"]
    assert answered["call"]["id"] == row.id
    assert ended["call"]["id"] == row.id and ended["call"]["status"] == "answered"
    assert ended["call"]["extension"] == "100" and ended["call"]["sent"] == "123450"


async def test_settings_are_read_once_then_after_a_save_or_ttl(app, receiver, monkeypatch):
    from coovox.models import set_setting

    reads = []
    real_load = services.load_settings

    async def counting_load():
        reads.append(1)
        return await real_load()

    monkeypatch.setattr(services, "load_settings", counting_load)
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    pusher = app.services["push_events"]
    await configure(receiver.url)
    for i in range(5):
        await call_ends(app, f"c-{i}")
        await pusher.idle()
    assert len(receiver.bodies) == 5 and len(reads) == 1  # not one read per event
    await configure(receiver.url, enabled=False)  # a save here is used at once
    await call_ends(app, "c-off")
    await pusher.idle()
    assert len(receiver.bodies) == 5 and len(reads) == 2
    # another node saves: seen once the cache is SETTINGS_TTL old
    await set_setting(services.NAMESPACE, "settings",
                      services.PushSettings(True, receiver.url, ("call_end",)).as_dict())
    await call_ends(app, "c-stale")
    await pusher.idle()
    assert len(receiver.bodies) == 5
    clock[0] += services.SETTINGS_TTL
    await call_ends(app, "c-fresh")
    await pusher.idle()
    assert [b["call"]["id"] for b in receiver.bodies][-1] == "c-fresh" and len(reads) == 3

"""The core's events are published where they happen, with exactly their declared data
(``coovox.api.CORE_EVENTS``); a plugin hears them through ``coovox_event``."""

from __future__ import annotations

import asyncio
import re

import pytest

from coovox.api import CORE_EVENTS, Coovox, Event, hookimpl
from coovox.plugin_host import PluginHost
from coovox.plugins.calls.models import Extension

PASSWORD = "Events-pass-1"
FIELDS = {t.name: set(t.fields) for t in CORE_EVENTS}


class Listener:
    PLUGIN_NAME = "listener"

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def coovox_event(self, event: Event) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


@pytest.fixture
async def web(config, aiohttp_client):
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    listener = Listener()
    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False, extra=[listener]))
    await app.open()
    await create_user("admin", PASSWORD)
    _, token = await create_token("admin")
    client = await aiohttp_client(create_app(app))
    client.auth = {"Authorization": f"Bearer {token}"}
    client.listener, client.coovox = listener, app
    try:
        yield client
    finally:
        await app.close()


async def heard(client) -> Listener:
    await client.coovox.events.stop()  # delivers what is queued
    client.coovox.events.start()
    for event in client.listener.events:
        if event.name in FIELDS:
            assert set(event.data) == FIELDS[event.name], event.name
    return client.listener


async def test_signing_in_publishes_user_signed_in(web):
    page = await web.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    await web.post("/sign-in", data={"username": "admin", "password": PASSWORD,
                                     "csrf_token": csrf, "next": "/"})
    (event,) = (await heard(web)).named("user.signed_in")
    assert (event.source, event.data["username"], event.data["role"]) == ("web", "admin",
                                                                        "admin")


async def test_recharges_corrections_and_settings_publish(web):
    await Extension.create(number="100", name="Alice")
    resp = await web.post("/api/v1/billing/recharges", headers=web.auth,
                          json={"extensions": ["100"], "amount": "10"})
    assert resp.status == 201
    resp = await web.post("/api/v1/billing/corrections", headers=web.auth,
                          json={"extension": "100", "amount": "-2.5", "reason": "refund"})
    assert resp.status == 201
    resp = await web.patch("/api/v1/billing/settings", headers=web.auth,
                           json={"warning_seconds": 30, "active": True})
    assert resp.status == 200
    listener = await heard(web)
    (recharged,) = listener.named("balance.recharged")
    assert dict(recharged.data) == {"extension": "100", "amount": "10.0000",
                                    "balance": "10.0000", "by": "admin"}
    (corrected,) = listener.named("balance.corrected")
    assert (corrected.data["amount"], corrected.data["balance"],
            corrected.data["reason"]) == ("-2.5000", "7.5000", "refund")
    (settings,) = listener.named("settings.changed")
    assert dict(settings.data) == {"namespace": "billing", "keys": ["active",
                                   "warning_seconds"], "by": "admin"}
    (licence,) = listener.named("licence.changed")  # billing's first activation
    assert dict(licence.data) == {"feature": "billing", "usable": True}


async def test_a_refused_change_publishes_nothing(web):
    await Extension.create(number="100", name="Alice")
    resp = await web.post("/api/v1/billing/corrections", headers=web.auth,
                          json={"extension": "100", "amount": "-5", "reason": "too much"})
    assert resp.status == 409
    assert (await heard(web)).named("balance.corrected") == []


async def test_core_events_have_dotted_names_and_a_meaning():
    assert len(FIELDS) == len(CORE_EVENTS) == 11
    for t in CORE_EVENTS:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", t.name) and len(t.doc) > 20
    await asyncio.sleep(0)

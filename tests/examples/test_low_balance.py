"""The third-party example ``coovox-low-balance`` (examples/coovox-low-balance)."""

from __future__ import annotations

import asyncio
import os
import re
from decimal import Decimal

import pytest
from aiohttp import web

from coovox.api import Coovox
from coovox.plugin_host import PluginHost
from tests.support.postgres import free_port

if os.environ.get("CI"):  # scripts/test.sh installs it: missing there is a failure
    import coovox_low_balance  # noqa: F401
pytest.importorskip("coovox_low_balance", reason="pip install -e examples/coovox-low-balance")

from coovox_low_balance import services  # noqa: E402
from coovox_low_balance.models import Delivery  # noqa: E402

PASSWORD = "Balance-pass-1"


class Receiver:
    """A local webhook receiver on 127.0.0.1 recording what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.gate: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.gate is not None:
            await self.gate.wait()
        self.bodies.append(await request.json())
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver(aiohttp_server):
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/low", rec.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    rec.url = str(server.make_url("/low"))
    return rec


class FakeBilling:
    """Billing's read API (coovox.api.BillingReader) for balances the test sets."""

    def __init__(self) -> None:
        self.balances: dict[str, Decimal] = {}
        self.reads = 0

    async def balance(self, extension: str) -> Decimal | None:
        self.reads += 1
        return self.balances.get(extension)


@pytest.fixture
async def app(config):
    coovox = Coovox(config=config, plugins=PluginHost())
    coovox.plugins.set_enabled("billing", False)  # (this process only) balances are ours
    await coovox.open()
    coovox.services["billing"] = FakeBilling()
    watcher = coovox.services["low_balance"]
    watcher.backoff = (0.01, 0.02)
    try:
        yield coovox
    finally:
        await coovox.close()


async def configure(url: str, threshold: str | None = "1.00", **per: str) -> None:
    await services.save_settings(services.parse_settings(
        {"url": url, "threshold": threshold, "per_extension": per}))


async def settle(app: Coovox) -> None:
    """Wait for the events published so far, then for the deliveries they started."""
    await app.events.stop()  # delivers what is queued
    app.events.start()
    await app.services["low_balance"].idle()


def publish(app: Coovox, name: str, **data) -> None:
    app.publish(name, "billing", **data)


def charge(app: Coovox, ext: str, amount: str = "0.02", call_id: str = "c1") -> None:
    publish(app, "call.charged", call_id=call_id, extension=ext, seq=1, amount=amount,
            at=1.0, spent=amount)


async def test_a_charge_during_a_call_that_crosses_the_threshold_posts_once(app, receiver):
    await configure(receiver.url, "1.00")
    billing = app.services["billing"]
    billing.balances["100"] = Decimal("1.03")
    charge(app, "100")                      # read once: 1.03, above
    await settle(app)
    billing.balances["100"] = Decimal("1.01")
    charge(app, "100")                      # estimated 1.01: no read
    await settle(app)
    assert billing.reads == 1 and receiver.bodies == []
    billing.balances["100"] = Decimal("0.99")
    charge(app, "100")                      # estimate 0.99 < 1.00: read, below: post
    charge(app, "100")                      # already told: nothing more
    await settle(app)
    (body,) = receiver.bodies
    assert body == {"event": "balance.low", "extension": "100", "balance": "0.99",
                    "threshold": "1.00", "trigger": "call.charged", "time": body["time"]}
    row = await Delivery.get()
    assert (row.status, row.attempts, row.extension) == ("delivered", 1, "100")


async def test_per_extension_threshold_wins_and_recharge_arms_again(app, receiver):
    await configure(receiver.url, "1.00", **{"200": "5.00"})
    publish(app, "balance.corrected", extension="200", amount="-6", balance="4.0000",
            by="admin", reason="fix")
    await settle(app)
    assert [b["extension"] for b in receiver.bodies] == ["200"]
    assert receiver.bodies[0]["threshold"] == "5.00"
    publish(app, "balance.recharged", extension="200", amount="10", balance="14.0000",
            by="admin")
    publish(app, "balance.corrected", extension="200", amount="-10", balance="4.0000",
            by="admin", reason="again")
    await settle(app)
    assert len(receiver.bodies) == 2  # above again after the recharge, then below


async def test_balance_low_warning_posts(app, receiver):
    await configure(receiver.url, "2")
    app.services["billing"].balances["300"] = Decimal("1.5")
    publish(app, "balance.low", extension="300", call_id="c9", available="1.5000",
            seconds_left=30.0)
    await settle(app)
    assert receiver.bodies[0]["trigger"] == "balance.low"


async def test_a_fraud_guard_trip_is_forwarded_to_the_webhook(app, receiver):
    """Issue 18 point 7: the fraud guard's trip reaches the administrator's webhook."""
    await configure(receiver.url, "1.00")
    publish(app, "fraud.tripped", extension="100", reason="spend per hour", action="lock")
    await settle(app)
    (body,) = receiver.bodies
    assert body == {"event": "fraud.tripped", "extension": "100", "reason": "spend per hour",
                    "action": "lock", "time": body["time"]}
    row = await Delivery.get()
    assert (row.status, row.trigger, row.extension) == ("delivered", "fraud.tripped", "100")


async def test_retries_with_backoff_then_records_the_failure(app, receiver):
    receiver.statuses = [500, 503]
    await configure(receiver.url, "1")
    publish(app, "balance.corrected", extension="100", amount="-1", balance="0.5000",
            by="admin", reason="x")
    await settle(app)
    assert len(receiver.bodies) == 3
    row = await Delivery.get()
    assert (row.status, row.attempts) == ("delivered", 3)


async def test_a_receiver_down_is_a_failed_delivery_after_every_try(app):
    url = f"http://127.0.0.1:{free_port()}/low"
    await configure(url, "1")
    publish(app, "balance.corrected", extension="100", amount="-1", balance="0.5000",
            by="admin", reason="x")
    await settle(app)
    row = await Delivery.get()
    assert (row.status, row.attempts) == ("failed", 4) and row.error


async def test_a_slow_receiver_never_holds_the_events(app, receiver):
    """Deliveries run in their own tasks: later events (other plugins') still flow."""
    receiver.gate = asyncio.Event()
    await configure(receiver.url, "1")
    publish(app, "balance.corrected", extension="100", amount="-1", balance="0.5000",
            by="admin", reason="x")
    for _ in range(100):
        if app.services["low_balance"].tasks:
            break
        await asyncio.sleep(0.01)
    before = app.events.delivered
    charge(app, "999")
    async with asyncio.timeout(2):
        while app.events.delivered <= before:
            await asyncio.sleep(0.01)
    assert receiver.bodies == []  # still waiting, yet the next event was delivered
    receiver.gate.set()
    await settle(app)
    assert len(receiver.bodies) == 1


# --- page and API ----------------------------------------------------------------------------


@pytest.fixture
async def admin(app, aiohttp_client):
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    await create_user("admin", PASSWORD)
    _, token = await create_token("admin")
    client = await aiohttp_client(create_app(app))
    page = await client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    await client.post("/sign-in", data={"username": "admin", "password": PASSWORD,
                                        "csrf_token": csrf, "next": "/"})
    page = await client.get("/addons/low-balance")
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    client.auth = {"Authorization": f"Bearer {token}"}
    return client


async def test_page_saves_thresholds_and_lists_deliveries_in_chinese(admin, app, receiver):
    resp = await admin.post("/addons/low-balance", allow_redirects=False, data={
        "csrf_token": admin.csrf, "url": receiver.url, "threshold": "2",
        "per_extension": "100 = 5.00\n101=0.5"})
    assert resp.status == 302
    settings = await services.load_settings()
    assert settings.per_extension == {"100": Decimal("5.00"), "101": Decimal("0.5")}
    publish(app, "balance.corrected", extension="100", amount="-1", balance="4.0000",
            by="admin", reason="x")
    await settle(app)
    admin.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    html = await (await admin.get("/addons/low-balance")).text()
    assert "余额不足提醒" in html and 'id="low-balance-deliveries"' in html
    assert "已送达" in html and "余额更正" in html


async def test_page_refuses_a_bad_threshold_naming_the_field(admin):
    admin.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    resp = await admin.post("/addons/low-balance", data={
        "csrf_token": admin.csrf, "url": "http://127.0.0.1:9/x", "threshold": "1e3"})
    assert resp.status == 400
    html = await resp.text()
    assert 'data-field="threshold"' in html and "阈值 必须是金额" in html
    assert await services.load_settings() == services.Settings()


async def test_api_settings_and_deliveries(admin, receiver):
    resp = await admin.put("/api/v1/low-balance/settings", headers=admin.auth,
                           json={"url": "ftp://x", "threshold": "1"})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "url"
    body = {"url": receiver.url, "threshold": "1.5", "per_extension": {"100": "3"}}
    resp = await admin.put("/api/v1/low-balance/settings", headers=admin.auth, json=body)
    assert resp.status == 200
    got = await (await admin.get("/api/v1/low-balance/settings", headers=admin.auth)).json()
    assert got == {"url": receiver.url, "threshold": "1.5", "per_extension": {"100": "3"}}
    items = await (await admin.get("/api/v1/low-balance/deliveries", headers=admin.auth)).json()
    assert items == {"items": [], "total": 0}


# --- with the real billing: a live call ----------------------------------------------------


async def test_a_real_call_posts_when_its_charges_cross_the_threshold(tmp_path, receiver):
    from coovox_low_balance import plugin as low_plugin

    from coovox.models import set_setting
    from coovox.plugins.billing import services as billing
    from coovox.sim import AriDouble, FarEnd
    from tests.support.call_app import ARI_PASSWORD, app_config, finished, seed

    double = AriDouble(app="coovox", user="coovox", password=ARI_PASSWORD, sound_duration=0.05)
    await double.start("127.0.0.1", 0)
    coovox = Coovox(config=app_config(tmp_path, double),
                    plugins=PluginHost(load_entry_points=False, extra=[low_plugin]))
    try:
        await coovox.open()
        await coovox.services["calls"].ari.wait_connected(10)
        await seed()
        await set_setting("billing", "active", True)
        await billing.create_rate({"prefix": "9", "initial_cost": "0", "initial_time": 0,
                                   "rate": "0.10", "unit": 1, "extensions": "all"})
        await billing.update_accounts(["100"], {"enabled": True})
        await billing.recharge(["100"], "1.25", "test", coovox.now())
        await configure(receiver.url, "1.00")
        double.far_end("123450", FarEnd(hangup_after=4.5))
        await double.place_call("100", "9123450")
        await finished(timeout=15)
        async with asyncio.timeout(10):
            while not receiver.bodies:
                await asyncio.sleep(0.02)
    finally:
        await coovox.close()
        await double.stop()
    (body,) = receiver.bodies
    assert body["extension"] == "100" and body["trigger"] == "call.charged"
    assert Decimal(body["balance"]) < Decimal("1.00")

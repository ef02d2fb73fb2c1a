"""The real app (calls plugin, ARI connection) against the ARI double over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.calls.models import Call, DialPermission, DialRule, Extension, PinSet, Trunk
from coovox.sim import AriDouble

ARI_PASSWORD = "double-secret"


@pytest.fixture
async def double() -> AsyncIterator[AriDouble]:
    d = AriDouble(app="coovox", user="coovox", password=ARI_PASSWORD, sound_duration=0.05)
    await d.start("127.0.0.1", 0)
    try:
        yield d
    finally:
        await d.stop()


def app_config(tmp_path, double, **extra):
    return load_config(environ={}, data_dir=str(tmp_path / "data"), secret_key="test-secret",
                       ari_url=double.url, ari_user="coovox", ari_password=ARI_PASSWORD,
                       **extra)


async def seed() -> None:
    """Extensions 100-103, trunks, rules: 9 + X. (pstn), 8 + X. (PIN), 7 + X. (failover)."""
    for number, name in (("100", "Alice"), ("101", "Bob"), ("102", "Carol")):
        await Extension.create(number=number, name=name)
    await Extension.create(number="103", name="Off", enabled=False)
    await Trunk.create(name="pstn", dial_string="Local/{number}@pstn")
    await Trunk.create(name="bad", dial_string="Local/{number}9@pstn")
    await PinSet.create(name="staff", pins=["1234", "5678"])
    await DialRule.create(name="Out", prefix="9", pattern="X.", trunks=["pstn"])
    await DialRule.create(name="Pin", prefix="8", pattern="X.", trunks=["pstn"], pin_set="staff")
    await DialRule.create(name="Failover", prefix="7", pattern="X.", trunks=["bad", "pstn"])
    await DialRule.create(name="Limited", prefix="6", pattern="X.", trunks=["pstn"],
                          time_limit=60)
    perm, _ = await DialPermission.get_or_create(name="DialPlan1")
    perm.dial_rules = ["Out", "Pin", "Failover", "Limited"]
    await perm.save()


async def open_app(config, plugins=()) -> Coovox:
    host = PluginHost(load_entry_points=False, extra=list(plugins))
    host.set_enabled("billing", False)
    app = Coovox(config=config, plugins=host)
    await app.open()
    ctl = app.services["calls"]
    ctl.dial_timeout = 1
    ctl.dial_grace = 2.0
    ctl.pin_timeout = 0.5
    ctl.refuse_tone_seconds = 0.1
    ctl.cause_wait = 0.5
    await ctl.ari.wait_connected(10)
    await asyncio.wait_for(ctl.reconciled.wait(), 10)
    return app


@pytest.fixture
def plugins() -> list:
    return []


@pytest.fixture
async def app(tmp_path, double, plugins) -> AsyncIterator[Coovox]:
    coovox = await open_app(app_config(tmp_path, double), plugins)
    await seed()
    try:
        yield coovox
    finally:
        await coovox.close()


async def finished(count: int = 1, timeout: float = 10.0) -> list[Call]:
    """Wait until ``count`` calls are finished; returns them oldest first."""
    async with asyncio.timeout(timeout):
        while True:
            rows = await Call.exclude(status="active").order_by("started_at")
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)


async def active_answered(timeout: float = 5.0) -> Call:
    """Wait until a call is answered (its record updated at answer)."""
    async with asyncio.timeout(timeout):
        while True:
            row = await Call.filter(status="active", answered_at__isnull=False).first()
            if row is not None:
                return row
            await asyncio.sleep(0.05)

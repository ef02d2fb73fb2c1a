"""The third-party example ``coovox-prometheus`` (examples/coovox-prometheus)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3

import pytest

from coovox.api import Coovox
from coovox.plugin_host import PluginHost

if os.environ.get("CI"):  # scripts/test.sh installs it: missing there is a failure
    import coovox_prometheus  # noqa: F401
pytest.importorskip("coovox_prometheus", reason="pip install -e examples/coovox-prometheus")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

PASSWORD = "Metrics-pass-1"
README = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "coovox-prometheus",
                      "README.md")


@pytest.fixture
async def app(config):
    coovox = Coovox(config=config, plugins=PluginHost())
    await coovox.open()
    try:
        yield coovox
    finally:
        await coovox.close()


@pytest.fixture
async def scraper(app, aiohttp_client):
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    await create_user("admin", PASSWORD)
    _, token = await create_token("admin")
    client = await aiohttp_client(create_app(app))
    client.auth = {"Authorization": f"Bearer {token}"}
    return client


async def scrape(client) -> dict[tuple[str, tuple], float]:
    resp = await client.get("/metrics", headers=client.auth)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    values = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values


def call(app: Coovox, call_id: str, status: str = "answered") -> None:
    app.publish("call.started", "calls", call_id=call_id, extension="100", dialed="9123",
                sent="123", rule="Out", trunks=["pstn"], cap=None, money_cap=None)
    app.publish("call.charged", "billing", call_id=call_id, extension="100", seq=1,
                amount="0.0200", at=0.0, spent="0.0200")


async def test_metrics_follow_the_events(app, scraper):
    call(app, "c1")
    call(app, "c2")
    app.publish("call.cut", "calls", call_id="c1", extension="100", reason="money cap reached",
                plugin="billing")
    app.publish("call.ended", "calls", call_id="c1", extension="100", status="answered",
                reason="money cap reached", talk_time=1.0, billed_talk_time=1.0)
    app.publish("call.ended", "calls", call_id="r1", extension="100", status="refused",
                reason="locked", talk_time=0.0, billed_talk_time=None)
    app.publish("balance.recharged", "billing", extension="100", amount="10.0000",
                balance="10.0000", by="admin")
    app.publish("user.signed_in", "web", username="admin", role="admin", ip="127.0.0.1")
    async with asyncio.timeout(5):  # events are delivered by a background task
        while (m := await scrape(scraper)).get(("coovox_sign_ins_total",
                                                 (("role", "admin"),))) is None:
            await asyncio.sleep(0.02)
    assert m[("coovox_calls_total", (("status", "answered"),))] == 1
    assert m[("coovox_calls_total", (("status", "refused"),))] == 1
    assert m[("coovox_calls_started_total", ())] == 2
    assert m[("coovox_live_calls", ())] == 1  # c2 is still up; a refused call never was
    assert m[("coovox_calls_cut_total", (("reason", "money cap reached"),))] == 1
    assert m[("coovox_charges_total", ())] == 2
    assert m[("coovox_charged_money_total", ())] == pytest.approx(0.04)
    assert m[("coovox_recharged_money_total", ())] == pytest.approx(10.0)
    assert m[("coovox_sign_ins_total", (("role", "admin"),))] >= 1
    assert m[("coovox_ari_connected", ())] == 0  # no Asterisk in this test
    assert m[("coovox_events_dropped", ())] == 0


async def test_event_loop_lag_and_database_probe(app, scraper):
    metrics = app.services["prometheus"]
    assert await metrics.probe() is True
    task = asyncio.get_running_loop().create_task(metrics.measure_lag(0.01))
    await asyncio.sleep(0.05)
    import time
    time.sleep(0.1)  # block the loop on purpose: a lag of about 0.1 s
    await asyncio.sleep(0.05)
    task.cancel()
    m = await scrape(scraper)
    assert m[("coovox_database_up", ())] == 1
    assert m[("coovox_event_loop_lag_distribution_seconds_count", ())] >= 2
    assert m[("coovox_event_loop_lag_distribution_seconds_sum", ())] >= 0.09


async def test_database_errors_are_counted(app, scraper, monkeypatch):
    from coovox_prometheus import metrics as module

    async def broken(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(module, "get_setting", broken)
    assert await app.services["prometheus"].probe() is False
    try:
        raise sqlite3.OperationalError("disk I/O error")
    except sqlite3.OperationalError:
        logging.getLogger("coovox.somewhere").exception("a write failed")
    m = await scrape(scraper)
    assert m[("coovox_database_up", ())] == 0
    assert m[("coovox_database_errors_total", (("source", "probe"),))] == 1
    assert m[("coovox_database_errors_total", (("source", "log"),))] == 1


async def test_metrics_need_an_administrator(scraper):
    resp = await scraper.get("/metrics")
    assert resp.status == 401


async def test_page_lists_the_metrics_in_chinese(scraper):
    import re

    page = await scraper.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    await scraper.post("/sign-in", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": csrf, "next": "/"})
    scraper.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    html = await (await scraper.get("/addons/prometheus")).text()
    assert "监控指标" in html and 'id="prometheus-metrics"' in html
    assert "coovox_live_calls" in html and 'href="/addons/prometheus"' in html


def test_every_metric_is_documented_in_the_readme(app):
    text = open(README, encoding="utf-8").read()
    names = {f.name for f in app.services["prometheus"].registry.collect()}
    for name in names:
        suffix = "_total" if f"`{name}_total`" in text else ""
        assert f"`{name}{suffix}`" in text, name

"""One format for times and money on every page (issue 15): ``YYYY-MM-DD HH:MM:SS`` in
the PBX's time zone (lists, the web log, tokens, licences alike; no ISO with microseconds,
no "Nov 20, 2026, 12:00:00 PM"), and money with the currency's decimals (VND none; a
decimals setting per currency)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coovox.models import WebLog
from coovox.plugins.billing import services
from coovox.plugins.calls.models import Call, Extension
from coovox.users import create_token, create_user
from coovox.web.formats import local_datetime, money_text, price_text
from tests.support.web import ADMIN_PASSWORD, sign_in

TZ = "Asia/Shanghai"
UTC_MOMENT = datetime(2026, 11, 20, 23, 30, 5, 123456, tzinfo=UTC)
LOCAL = "2026-11-21 07:30:05"  # the same moment in Shanghai (UTC+8)
BILL = "Bill-pass-123"
# what a time looks like in any other format than the one pages use
OTHER_FORMATS = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}\.\d+|[A-Z][a-z]{2} \d{1,2}, \d{4}"
    r"|\d{4}年\d{1,2}月|\+00:00|\bUTC\b")


@pytest.fixture
def config(config):
    return config.replace(timezone=TZ)


def test_the_helpers():
    assert local_datetime(UTC_MOMENT, TZ) == LOCAL
    assert local_datetime("2026-11-20T23:30:05.123456+00:00", TZ) == LOCAL
    assert local_datetime("2026-11-20 23:30:05.123456+00:00", TZ) == LOCAL  # SQLite text
    assert local_datetime(datetime(2026, 11, 20, 23, 30, 5), TZ) == LOCAL  # naive = UTC
    assert local_datetime(None, TZ) == ""
    assert money_text(Decimal("1234.5678"), 2) == "1234.57"
    assert money_text("1234.5000", 0) == "1235"
    assert money_text("-0.0010", 2) == "0.00"
    assert money_text("12.3400", 4) == "12.3400"
    assert price_text("0.0125", 2) == "0.0125" and price_text("0.1000", 2) == "0.10"
    assert price_text("100.0000", 0) == "100" and price_text("0.5000", 0) == "0.5"


@pytest.fixture
async def data(coovox, admin_user):
    await Extension.create(number="100", name="Alice")
    await services.update_accounts(["100"], {"enabled": True})
    await services.recharge(["100"], "1234.5678", "bill-fmt", UTC_MOMENT)
    await services.create_rate({"remark": "r", "prefix": "9", "rate": "0.0125",
                                "initial_cost": "0.1", "unit": 60, "extensions": "all"})
    await Call.create(id="c1", started_at=UTC_MOMENT, answered_at=UTC_MOMENT,
                      ended_at=UTC_MOMENT, extension="100", extension_name="Alice",
                      dialed="912345678", trunk="t", status="answered", duration=61.0,
                      talk_time=61.0)
    await Call.create(id="live", started_at=UTC_MOMENT, extension="100", dialed="9123",
                      status="active")
    await WebLog.create(ip="1.2.3.4", username="admin", role="admin", action="POST /x",
                        result="200 OK (0.001 s)")
    await WebLog.filter(ip="1.2.3.4").update(at=UTC_MOMENT)
    _, _token = await create_token("admin", "t1")
    from coovox.models import ApiToken

    await ApiToken.filter(name="t1").update(created_at=UTC_MOMENT, last_used_at=UTC_MOMENT)
    await create_user("bill-fmt", BILL, role="billing")


def _times(html: str) -> list[str]:
    return re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", html)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_every_time_on_the_pages_has_one_format_in_the_pbx_time_zone(client, data, lang):
    headers = {"Accept-Language": lang}
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    for path in ("/calls/log", "/calls/live", "/weblog", "/tokens", "/addons/billing/settings"):
        html = await (await client.get(path, headers=headers)).text()
        assert not OTHER_FORMATS.search(html), (path, OTHER_FORMATS.search(html).group(0))
        if path != "/addons/billing/settings":
            assert LOCAL in _times(html), path
    client.session.cookie_jar.clear()
    client.csrf = await sign_in(client, "bill-fmt", BILL)
    for path in ("/billing/calls", "/billing/recharges"):
        html = await (await client.get(path, headers=headers)).text()
        assert not OTHER_FORMATS.search(html), (path, OTHER_FORMATS.search(html).group(0))
        assert LOCAL in _times(html), path


async def test_the_live_page_formats_times_in_the_pbx_time_zone_too(client, data):
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    html = await (await client.get("/calls/live")).text()
    assert f'data-timezone="{TZ}"' in html
    script = await (await client.get("/static/calls/live.js")).text()
    assert "Intl.DateTimeFormat" in script and "dataset.timezone" in script


async def _balance_cell(client) -> str:
    html = await (await client.get("/billing/extensions")).text()
    return re.search(r'<td class="num balance">([^<]*)</td>', html).group(1)


async def test_money_has_the_currency_decimals_and_a_setting_per_currency(client, data):
    client.csrf = await sign_in(client, "bill-fmt", BILL)
    assert await _balance_cell(client) == "1234.57"  # USD: 2 decimals
    await client.post("/billing/settings", data={"csrf_token": client.csrf, "currency": "VND"})
    assert await _balance_cell(client) == "1235"  # VND: no decimals
    html = await (await client.get("/billing/recharges")).text()
    assert ">1235<" in html and "1234.5678" not in html
    rates = await (await client.get("/billing/rates")).text()
    assert ">0.0125<" in rates  # a price below the smallest coin is not shown as 0
    # VND with 2 decimals, then back to USD: each currency keeps its own choice
    await client.post("/billing/settings", data={"csrf_token": client.csrf, "currency": "VND",
                                                 "decimals": "2"})
    assert await _balance_cell(client) == "1234.57"
    await client.post("/billing/settings", data={"csrf_token": client.csrf, "currency": "USD",
                                                 "decimals": "3"})
    assert await _balance_cell(client) == "1234.568"
    await client.post("/billing/settings", data={"csrf_token": client.csrf, "currency": "VND"})
    assert await _balance_cell(client) == "1234.57"
    settings = await services.get_settings()
    assert settings["decimals"] == {"VND": 2, "USD": 3}


async def test_the_admin_call_log_shows_costs_with_the_currency_decimals(client, data):
    await services.update_settings({"currency": "VND"})
    from coovox.plugins.billing.models import BillingCall

    await BillingCall.create(call_id="c1", extension="100", rate={"id": 1, "remark": "r"},
                             cost=Decimal("1234.5678"), charged=Decimal("1234.5678"),
                             settled=True, answered=True, talk_time=61.0,
                             local_date="2026-11-21")
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    html = await (await client.get("/calls/log")).text()
    assert '<td class="num">1235</td>' in html

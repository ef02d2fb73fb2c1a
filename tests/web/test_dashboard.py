"""The overview is a dashboard (issue 16): today's calls and spend, answered ratio, live
calls, extensions low on money, SVG charts per hour and per day, in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from coovox.plugins.billing import services
from coovox.plugins.billing.models import BillingCall
from coovox.plugins.calls.models import Call, Extension
from tests.support.web import ADMIN_PASSWORD, sign_in

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)


async def _call(i: int, at: datetime, status: str, ext: str = "100") -> None:
    await Call.create(id=f"c{i}", started_at=at, answered_at=at if status == "answered" else None,
                      ended_at=None if status == "active" else at + timedelta(seconds=60),
                      extension=ext, dialed="912345", status=status, talk_time=60.0)


@pytest.fixture
async def dash(client, coovox, admin_user):
    coovox.clock = lambda: NOW
    await Extension.create(number="100", name="Alice")
    await Extension.create(number="101", name="Bob")
    await services.update_accounts(["100", "101"], {"enabled": True})
    await services.recharge(["100"], "50", "admin", NOW)
    await services.recharge(["101"], "0.40", "admin", NOW)
    await _call(1, NOW.replace(hour=9, minute=5), "answered")
    await _call(2, NOW.replace(hour=9, minute=50), "answered")
    await _call(3, NOW.replace(hour=10), "busy")
    await _call(4, NOW.replace(hour=10, minute=20), "answered", "101")
    await _call(5, NOW - timedelta(minutes=1), "active")
    await _call(6, NOW - timedelta(days=2), "answered")  # not today
    await _call(7, NOW - timedelta(days=40), "answered")  # not in the last 30 days
    for cid, cost, day in (("c1", "0.25", "2026-11-21"), ("c2", "0.50", "2026-11-21"),
                           ("c4", "0.10", "2026-11-21"), ("c6", "1.00", "2026-11-19")):
        await BillingCall.create(call_id=cid, extension="100", cost=cost, charged=cost,
                                 settled=True, answered=True, talk_time=60.0,
                                 local_date=day)
    await services.update_settings({"active": True})
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    return client


def _card(html: str, card: str) -> str:
    found = re.search(rf'id="card-{card}">(.*?)</div>', html, re.S)
    assert found, card
    return re.sub(r"<[^>]+>", " ", found.group(1))


def _bars(html: str, chart: str) -> dict[str, str]:
    figure = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', html, re.S)
    assert figure, chart
    return dict(re.findall(r'<rect class="bar"[^>]*data-label="([^"]+)" data-value="([^"]+)"',
                           figure.group(1)))


async def test_the_dashboard_shows_todays_figures(dash):
    html = await (await dash.get("/", headers={"Accept-Language": "en"})).text()
    assert "5" in _card(html, "calls")  # today: 4 finished + 1 live
    answered = _card(html, "answered")
    assert "75%" in answered and "3 of 4 finished calls" in answered
    assert "1" in _card(html, "live")
    assert "$0.85" in _card(html, "spend")
    low = _card(html, "low")
    assert "1" in low and "less than $1.00 to spend" in low
    table = re.search(r'id="low-money">(.*?)</section>', html, re.S).group(1)
    assert "101" in table and "Bob" in table and "0.40" in table and "Alice" not in table
    assert "Version" in _card(html, "asterisk")


async def test_the_charts_are_svg_drawn_by_the_server(dash):
    html = await (await dash.get("/", headers={"Accept-Language": "en"})).text()
    calls_hour = _bars(html, "chart-calls-hour")
    assert len(calls_hour) == 24 and calls_hour["09"] == "2" and calls_hour["10"] == "3"
    calls_day = _bars(html, "chart-calls-day")
    assert len(calls_day) == 30 and calls_day["11-21"] == "5" and calls_day["11-19"] == "1"
    assert "10-12" not in calls_day  # 40 days ago
    cost_hour = _bars(html, "chart-cost-hour")
    assert cost_hour["09"] == "0.75" and cost_hour["10"] == "0.10" and cost_hour["08"] == "0.00"
    cost_day = _bars(html, "chart-cost-day")
    assert cost_day["11-21"] == "0.85" and cost_day["11-19"] == "1.00"
    assert "<svg" in html and "<script" not in html.split("</head>")[1]
    assert ' style="' not in html  # CSP: no inline style


async def test_the_dashboard_in_chinese(dash):
    html = await (await dash.get("/", headers={"Accept-Language": "zh-CN"})).text()
    for words in ("今日通话", "应答率", "今日消费", "余额不足的分机", "每小时通话数（今日）",
                  "每日费用（最近 30 天）", "可用金额少于 US$1.00"):
        assert words in html, words


async def test_an_empty_dashboard_says_so(client, coovox, admin_user):
    coovox.clock = lambda: NOW
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    resp = await client.get("/", headers={"Accept-Language": "en"})
    html = await resp.text()
    assert resp.status == 200
    assert "No calls today." in html and "No calls in the last 30 days." in html
    assert "–" in _card(html, "answered")


async def test_without_billing_the_dashboard_shows_the_calls(dash, coovox):
    await coovox.set_plugin_enabled("billing", False)
    resp = await dash.get("/", headers={"Accept-Language": "en"})
    html = await resp.text()
    assert resp.status == 200 and "chart-calls-hour" in html
    assert "card-spend" not in html and "chart-cost-day" not in html


async def test_a_billing_user_still_goes_to_the_billing_pages(dash):
    from tests.support.web import become

    await become(dash, "billing")
    resp = await dash.get("/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/billing")

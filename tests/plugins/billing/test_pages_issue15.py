"""Billing pages (issue 15): a page past the end shows the last page, the rate form shows
every error at once, statistics find extensions by name or part of the number like the
call log's keyword, and the billing user is told when billing is switched off."""

from __future__ import annotations

import re

import pytest

from coovox.plugins.billing import reports, services
from tests.support.billing import billed_calls, make_extensions

ZH = {"Accept-Language": "zh-CN"}


# --- ?page=999 -------------------------------------------------------------------------------


@pytest.mark.parametrize("path, row", [
    ("/billing/extensions", 'data-extension="100"'), ("/billing/rates", "data-rate="),
    ("/billing/recharges", "100[100]"), ("/billing/calls", "data-call="),
    ("/billing/statistics", "2026-11-2")])
async def test_a_page_past_the_end_shows_the_last_page(bare_billing_client, path, row):
    await billed_calls()
    html = await (await bare_billing_client.get(f"{path}?page=999&per_page=10")).text()
    pager = re.search(r'data-page="(\d+)" data-pages="(\d+)"', html)
    assert pager and pager.group(1) == pager.group(2) == "1", path
    assert row.replace("100[100]", "Alice[100]") in html, path


# --- the rate form -----------------------------------------------------------------------------


@pytest.mark.parametrize("headers, words", [
    ({}, ["Number Length must be between 0 and 32", "Rate must not be negative",
          "Billing Unit(s) must be between 1 and 86400", "Start Time is not a valid time of day",
          "choose at least one extension"]),
    (ZH, ["号码长度必须在 0 到 32 之间", "费率不能为负数", "计费周期(秒)必须在 1 到 86400 之间",
          "开始时间不是有效的时间", "请至少选择一个分机"])])
async def test_the_rate_form_shows_every_error_at_once(bare_billing_client, headers, words):
    await make_extensions("100")
    resp = await bare_billing_client.post("/billing/rates/new", headers=headers, data={
        "csrf_token": bare_billing_client.csrf, "prefix": "9", "length": "99", "rate": "-1",
        "unit": "0", "initial_cost": "0", "initial_time": "0", "start_time": "25:00",
        "end_time": "00:00"})
    html = await resp.text()
    assert resp.status == 400
    for word in words:
        assert word in html, word
    marked = set(re.findall(r'<div class="field-error" data-field="(\w+)"', html))
    assert marked == {"length", "rate", "unit", "start_time", "extensions"}
    assert 'value="99"' in html and 'value="25:00"' in html  # the input is kept


# --- statistics by keyword ----------------------------------------------------------------------


async def test_statistics_find_extensions_by_name_or_part_of_the_number(coovox):
    await billed_calls()
    tz = __import__("zoneinfo").ZoneInfo("UTC")
    for keyword, calls, label in (("alice", 2, "Alice[100]"), ("Bob", 1, "Bob[101]"),
                                  ("100", 3, "Alice[100], Carol[1000]"),
                                  ("10", 4, "Alice[100], Bob[101], Carol[1000]")):
        stats, _ = await reports.statistics({"by": "year", "keyword": keyword})
        log, total = await reports.call_log({"keyword": keyword}, tz, 0, 100)
        assert sum(s["calls"] for s in stats) == calls == total, keyword  # as the call log
        assert stats[0]["extension"] == label
    stats, total = await reports.statistics({"by": "day", "keyword": "nobody"})
    assert (stats, total) == ([], 0)
    exact, _ = await reports.statistics({"by": "year", "extension": "100"})  # the API's
    assert exact[0]["calls"] == 2


async def test_the_statistics_page_searches_by_keyword(bare_billing_client):
    await billed_calls()
    html = await (await bare_billing_client.get("/billing/statistics?by=year&keyword=ali")).text()
    assert 'name="keyword"' in html and "Alice[100]" in html
    assert re.search(r'<td class="num">2</td>', html)


# --- billing switched off -------------------------------------------------------------------


@pytest.mark.parametrize("headers, text", [({}, "Billing is switched off"),
                                           (ZH, "计费功能已关闭")])
async def test_billing_users_are_told_when_billing_is_off(bare_billing_client, headers, text):
    await make_extensions("100")
    for path in ("/billing/extensions", "/billing/rates", "/billing/calls",
                 "/billing/statistics", "/billing/settings", "/billing/recharges"):
        html = await (await bare_billing_client.get(path, headers=headers)).text()
        assert 'id="billing-off"' in html and text in html, path
    await services.update_settings({"active": True})
    html = await (await bare_billing_client.get("/billing/extensions", headers=headers)).text()
    assert 'id="billing-off"' not in html

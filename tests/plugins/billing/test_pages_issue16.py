"""Billing pages of issue 16: the statistics page draws its rows as SVG bar charts; the
statistics of a chosen group of extensions (guide 001 §2.6)."""

from __future__ import annotations

import re

from coovox.plugins.billing import reports
from tests.support.billing import billed_calls

ZH = {"Accept-Language": "zh-CN"}


def _bars(html: str, chart: str) -> list[tuple[str, str]]:
    figure = re.search(rf'<figure class="chart" id="{chart}">(.*?)</figure>', html, re.S)
    assert figure, chart
    return re.findall(r'<rect class="bar"[^>]*data-label="([^"]+)" data-value="([^"]+)"',
                      figure.group(1))


def test_statistics_charts_put_the_oldest_period_left():
    rows = [{"period": "2026-11-22", "calls": 1, "cost": "0.1000"},
            {"period": "2026-11-21", "calls": 3, "cost": "0.3500"}]
    charts = reports.statistics_charts(rows, 2)
    assert [b.label for b in charts["calls"].bars] == ["2026-11-21", "2026-11-22"]
    assert [b.text for b in charts["cost"].bars] == ["0.35", "0.10"]
    assert charts["calls"].bars[0].height > charts["calls"].bars[1].height
    assert reports.statistics_charts([], 2)["cost"].empty


async def test_the_statistics_page_has_charts_of_its_rows(bare_billing_client):
    await billed_calls()
    html = await (await bare_billing_client.get("/billing/statistics?by=day")).text()
    calls = _bars(html, "chart-stats-calls")
    assert calls == [("2026-11-20", "2"), ("2026-11-21", "1"), ("2026-11-22", "1")]
    cost = _bars(html, "chart-stats-cost")
    assert [label for label, _ in cost] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert cost[0][1] == "0.20"
    assert ' style="' not in html
    zh = await (await bare_billing_client.get("/billing/statistics?by=day", headers=ZH)).text()
    assert 'id="chart-stats-cost"' in zh and "总费用" in zh


async def test_no_chart_without_rows(bare_billing_client):
    html = await (await bare_billing_client.get("/billing/statistics")).text()
    assert "chart-stats-calls" not in html


# --- guide 001 §2.6: statistics of a chosen group of extensions ------------------------------


async def test_statistics_of_a_chosen_group_of_extensions(bare_billing_client):
    await billed_calls()  # 100 Alice: 2 calls, 101 Bob: 1, 1000 Carol: 1
    html = await (await bare_billing_client.get(
        "/billing/statistics?by=year&extensions=100&extensions=1000")).text()
    select = re.search(r'<select id="group-extensions" name="extensions" multiple.*?</select>',
                       html, re.S).group(0)
    assert '<label for="group-extensions">' in html
    assert re.findall(r'<option value="(\d+)" selected', select) == ["100", "1000"]
    assert re.search(r'value="101"\s*>Bob\[101\]', select)  # not chosen, offered
    row = re.search(r'<tbody>\s*<tr>(.*?)</tr>', html, re.S).group(1)
    assert "Alice[100], Carol[1000]" in row and '<td class="num">3</td>' in row
    # the pages and downloads keep the group
    assert "extensions=100%2C1000" in html


async def test_the_api_sums_a_group(bare_billing_client):
    await billed_calls()
    for query in ("extensions=100,101", "extensions=100&extensions=101"):
        body = await (await bare_billing_client.get(
            f"/api/v1/billing/statistics?by=year&{query}")).json()
        assert [i["calls"] for i in body["items"]] == [3], query
    body = await (await bare_billing_client.get(
        "/api/v1/billing/statistics?by=year&extensions=101&keyword=ali")).json()
    assert body["items"] == []  # the keyword narrows the group
    csv = await (await bare_billing_client.get(
        "/api/v1/billing/statistics?by=year&extensions=100,1000&format=csv")).text()
    assert "Alice[100], Carol[1000]" in csv


async def test_a_too_large_group_is_refused_at_the_field(bare_billing_client, monkeypatch):
    monkeypatch.setattr(reports, "MAX_GROUP", 2)
    resp = await bare_billing_client.get("/api/v1/billing/statistics?extensions=1,2,3")
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "extensions"
    html = await (await bare_billing_client.get("/billing/statistics?extensions=1,2,3",
                                           headers=ZH)).text()
    assert "最多选择 2 个分机" in html

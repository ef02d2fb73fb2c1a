"""Billing pages of issue 16: the statistics page draws its rows as SVG bar charts; the
statistics of a chosen group of extensions (guide 001 §2.6)."""

from __future__ import annotations

import re

from coovox.plugins.billing import reports
from tests.plugins.billing.test_pages_issue15 import ZH, _billed_calls, billing_client  # noqa: F401


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


async def test_the_statistics_page_has_charts_of_its_rows(billing_client):  # noqa: F811
    await _billed_calls()
    html = await (await billing_client.get("/billing/statistics?by=day")).text()
    calls = _bars(html, "chart-stats-calls")
    assert calls == [("2026-11-20", "2"), ("2026-11-21", "1"), ("2026-11-22", "1")]
    cost = _bars(html, "chart-stats-cost")
    assert [label for label, _ in cost] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert cost[0][1] == "0.20"
    assert ' style="' not in html
    zh = await (await billing_client.get("/billing/statistics?by=day", headers=ZH)).text()
    assert 'id="chart-stats-cost"' in zh and "总费用" in zh


async def test_no_chart_without_rows(billing_client):  # noqa: F811
    html = await (await billing_client.get("/billing/statistics")).text()
    assert "chart-stats-calls" not in html

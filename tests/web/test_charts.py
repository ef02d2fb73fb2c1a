"""Chart geometry (issue 16): pure functions, no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from coovox.web import charts, dashboard
from coovox.web.charts import bar_chart, label_step, nice_ceiling


@pytest.mark.parametrize("value, top", [(0, 1), (-3, 1), (0.3, 0.5), (1, 1), (1.2, 2),
                                        (3, 5), (7, 10), (20, 20), (21, 25), (240, 250),
                                        (0.012, 0.02), (float("nan"), 1)])
def test_the_axis_ends_on_a_round_number(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


def test_bars_fill_the_plot_in_proportion_to_their_values():
    chart = bar_chart([("a", 1), ("b", 2), ("c", 0), ("d", Decimal("4"))], width=400,
                      height=200)
    assert chart.top_value == 4 and not chart.empty
    base, plot_h = chart.bottom, chart.bottom - chart.top
    heights = [b.height for b in chart.bars]
    assert heights == pytest.approx([plot_h / 4, 2 * plot_h / 4, 0, plot_h], abs=0.01)
    for bar in chart.bars:  # every bar stands on the base line, inside the plot
        assert bar.y + bar.height == pytest.approx(base, abs=0.02)
        assert chart.left <= bar.x and bar.x + bar.width <= chart.right + 0.01
    xs = [b.x for b in chart.bars]
    assert xs == sorted(xs) and len(set(xs)) == 4  # in order, side by side
    assert chart.bars[0].x + chart.bars[0].width < chart.bars[1].x  # a gap between bars


def test_ticks_run_from_zero_to_the_top():
    chart = bar_chart([("x", 7)], integer=True)
    assert [t.text for t in chart.ticks] == ["0", "2", "4", "6", "8"]
    assert chart.ticks[0].y == chart.bottom and chart.ticks[-1].y == chart.top
    money = bar_chart([("x", Decimal("0.35"))], fmt=lambda v: f"{v:.2f}")
    assert [t.text for t in money.ticks] == ["0.00", "0.10", "0.20", "0.30", "0.40"]
    big = bar_chart([("x", 240)])
    assert [t.text for t in big.ticks] == ["0", "100", "200", "300", "400"]
    assert money.bars[0].text == "0.35"


def test_counts_have_whole_ticks_even_when_small():
    chart = bar_chart([("x", 1)], integer=True)
    assert [t.text for t in chart.ticks] == ["0", "1", "2", "3", "4"]


def test_nothing_to_show_is_an_empty_chart_without_errors():
    for points in ([], [("a", 0), ("b", None), ("c", "bad"), ("d", -5)]):
        chart = bar_chart(points)
        assert chart.empty and all(b.height == 0 for b in chart.bars)
        assert chart.top_value > 0


def test_labels_are_thinned_to_at_most_twelve():
    assert label_step(24) == 2 and label_step(30) == 3 and label_step(5) == 1
    assert label_step(0) == 1
    chart = bar_chart([(f"{h:02d}", h) for h in range(24)])
    assert [lb.text for lb in chart.labels] == [f"{h:02d}" for h in range(0, 24, 2)]
    assert len(bar_chart([(str(i), 1) for i in range(30)]).labels) <= charts.MAX_LABELS


def test_hours_and_days_of_the_dashboard():
    tz = ZoneInfo("Asia/Shanghai")
    counts = dashboard.hour_counts(["2026-11-20T23:30:00+00:00", "2026-11-21 00:10:00",
                                    None, "junk"], tz)
    assert counts[7] == 1 and counts[8] == 1 and sum(counts) == 2
    assert [p[0] for p in dashboard.hour_points(counts)][:3] == ["00", "01", "02"]
    days = {date(2026, 11, 21): 3, date(2026, 11, 20): 1}
    assert dashboard.day_points(days) == [("11-20", 1), ("11-21", 3)]
    assert dashboard.day_start(date(2026, 11, 21), tz).isoformat() == \
        "2026-11-20T16:00:00+00:00"
    assert dashboard.ratio(1, 3) == 33 and dashboard.ratio(0, 0) is None


def test_few_bars_are_slim_and_centred():
    chart = bar_chart([("2026", 3)], width=480)
    (bar,) = chart.bars
    assert bar.width == charts.MAX_BAR
    middle = (chart.left + chart.right) / 2
    assert abs(bar.x + bar.width / 2 - middle) < 0.05
    assert chart.labels[0].x == pytest.approx(middle, abs=0.05)

"""The administrator's overview as a dashboard (issue 16): today's calls and spend, the
answered ratio, live calls, extensions low on money, and charts of calls and cost per hour
(today) and per day (the last 30 days).

The figures come from the call log (``calls`` plugin) and, when the billing plugin runs,
from ``services["billing_dashboard"]``; :func:`hour_points` and :func:`day_points` turn
them into chart points (pure, tested without I/O)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from coovox.web.charts import Chart, bar_chart
from coovox.web.formats import as_datetime, money_text

log = logging.getLogger(__name__)
DAYS = 30


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first moment of ``day`` in ``tz``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def hour_counts(moments: Sequence[Any], tz: ZoneInfo) -> list[int]:
    """Calls per local hour (0-23) of the given start times."""
    out = [0] * 24
    for value in moments:
        moment = as_datetime(value)
        if moment is not None:
            out[moment.astimezone(tz).hour] += 1
    return out


def hour_points(values: Sequence[Any]) -> list[tuple[str, Any]]:
    """24 values as chart points labelled ``00`` .. ``23``."""
    return [(f"{h:02d}", v) for h, v in enumerate(values)]


def day_points(values: dict[date, Any]) -> list[tuple[str, Any]]:
    """Values per day (oldest first) as chart points labelled ``MM-DD``."""
    return [(d.strftime("%m-%d"), values[d]) for d in sorted(values)]


def ratio(part: int, whole: int) -> int | None:
    """``part`` of ``whole`` in whole percent (None when there is nothing to compare)."""
    return round(100 * part / whole) if whole else None


def charts(calls_by_hour: list[int], calls_by_day: dict[date, int],
           money: dict[str, Any] | None) -> dict[str, Chart]:
    """The dashboard's charts: calls per hour and per day, and with billing the cost."""
    out = {"calls_hour": bar_chart(hour_points(calls_by_hour), integer=True),
           "calls_day": bar_chart(day_points(calls_by_day), integer=True)}
    if money is not None:
        places = money["decimals"]

        def show(value: float) -> str:
            return money_text(Decimal(str(value)), places)

        out["cost_hour"] = bar_chart(hour_points(money["cost_by_hour"]), fmt=show)
        out["cost_day"] = bar_chart(day_points(money["cost_by_day"]), fmt=show)
    return out


async def collect(coovox: Any) -> dict[str, Any]:
    """Every figure of the dashboard, read now."""
    from coovox.plugins.calls import causes
    from coovox.plugins.calls.models import Call

    tz = ZoneInfo(coovox.config.timezone)
    now = coovox.now()
    today = now.astimezone(tz).date()
    start = day_start(today, tz)
    first = today - timedelta(days=DAYS - 1)
    rows = await Call.filter(started_at__gte=start).values_list("started_at", "status")
    total = len(rows)
    answered = sum(1 for _, status in rows if status == causes.ANSWERED)
    live = await Call.filter(status=causes.ACTIVE).count()  # also those begun yesterday
    finished = sum(1 for _, status in rows if status != causes.ACTIVE)
    by_hour = hour_counts([at for at, _ in rows], tz)
    by_day: dict[date, int] = {}
    for i in range(DAYS):
        day = first + timedelta(days=i)
        if day == today:
            by_day[day] = total
        else:
            by_day[day] = await Call.filter(started_at__gte=day_start(day, tz),
                                            started_at__lt=day_start(day + timedelta(1),
                                                                     tz)).count()
    money = None
    source = coovox.services.get("billing_dashboard")
    if source is not None and coovox.plugins.is_enabled("billing"):
        try:
            money = await source(today, DAYS, tz)
        except Exception:  # the overview still shows the calls
            log.exception("billing figures of the dashboard could not be read")
    return {"today": today, "calls_today": total, "answered_today": answered,
            "finished_today": finished, "answered_ratio": ratio(answered, finished),
            "live_calls": live, "money": money,
            "charts": charts(by_hour, by_day, money)}

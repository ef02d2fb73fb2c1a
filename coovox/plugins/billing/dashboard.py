"""What billing adds to the administrator's dashboard (``services["billing_dashboard"]``):
today's spend and its cost per hour, the cost per day of the last days, the
extensions low on money, and the fraud guard's trips not cleared yet."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from coovox.plugins.billing import sql
from coovox.storage.money import from_units, to_units
from coovox.web.formats import as_datetime

LOW_AVAILABLE = Decimal("1")  # an account with less than this to spend is "low on money"
LOW_SHOWN = 10  # at most this many of them are listed (the lowest first)


async def dashboard(today: date, days: int, tz: ZoneInfo) -> dict[str, Any]:
    """``{"active", "currency", "decimals", "spend_today", "cost_by_hour" (24),
    "cost_by_day" ({date: Decimal} of the last ``days`` days up to today), "low"
    (accounts), "low_total"}``; money as ``Decimal``."""
    from coovox.plugins.billing.services import extension_names, get_settings

    settings = await get_settings()
    first = today - timedelta(days=days - 1)
    rows = await sql.fetch(
        "SELECT local_date AS day, SUM(COALESCE(cost, 0)) AS cost FROM billing_call "
        "WHERE answered = ? AND settled = ? AND local_date >= ? AND local_date <= ? "
        "GROUP BY local_date", [True, True, first.isoformat(), today.isoformat()])
    by_day = {str(r["day"]): from_units(int(r["cost"] or 0)) for r in rows}
    hourly = [Decimal(0)] * 24
    today_rows = await sql.fetch(
        "SELECT c.started_at AS at, b.cost AS cost FROM billing_call b "
        "JOIN calls_call c ON c.id = b.call_id WHERE b.local_date = ? AND b.settled = ? "
        "AND b.answered = ?", [today.isoformat(), True, True])
    for r in today_rows:
        moment = as_datetime(r["at"])
        if moment is not None:
            hourly[moment.astimezone(tz).hour] += from_units(int(r["cost"] or 0))
    low_units = to_units(LOW_AVAILABLE)
    low_rows = await sql.fetch(
        "SELECT extension, balance, credit, payment_type FROM billing_account "
        "WHERE enabled = ? AND balance + credit < ? ORDER BY balance + credit, extension",
        [True, low_units])
    names = await extension_names([str(r["extension"]) for r in low_rows[:LOW_SHOWN]])
    low = [{"extension": str(r["extension"]), "name": names.get(str(r["extension"]), ""),
            "balance": from_units(int(r["balance"])), "credit": from_units(int(r["credit"])),
            "available": from_units(int(r["balance"]) + int(r["credit"])),
            "payment_type": r["payment_type"]} for r in low_rows[:LOW_SHOWN]]
    from coovox.plugins.billing import fraud
    from coovox.plugins.billing.fraud_rules import ACTION_LABELS

    trips, trips_total = await fraud.open_trips(LOW_SHOWN)
    return {"fraud_trips": [fraud.trip_json(t, tz) for t in trips],
            "fraud_total": trips_total, "action_labels": ACTION_LABELS,
            "active": bool(settings["active"]), "currency": settings["currency"],
            "decimals": settings["money_decimals"],
            "spend_today": by_day.get(today.isoformat(), Decimal(0)),
            "cost_by_hour": hourly,
            "cost_by_day": {(first + timedelta(days=i)): by_day.get(
                (first + timedelta(days=i)).isoformat(), Decimal(0)) for i in range(days)},
            "low": low, "low_total": len(low_rows), "low_mark": LOW_AVAILABLE}




async def live_info(extensions: list[str]) -> dict[str, Any]:
    """For the live calls page: the currency, its decimals and the balance of each
    extension (``Decimal``) of ``extensions``."""
    from coovox.plugins.billing.models import Account
    from coovox.plugins.billing.services import get_settings

    settings = await get_settings()
    rows = await Account.filter(extension__in=extensions).values_list("extension", "balance") \
        if extensions else []
    return {"currency": settings["currency"], "decimals": settings["money_decimals"],
            "balances": {str(ext): balance for ext, balance in rows}}

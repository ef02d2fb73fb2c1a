"""How pages show times and money: one format everywhere (exports may use these too).

* Times: ``YYYY-MM-DD HH:MM:SS`` in the PBX's time zone (configuration ``timezone``),
  whatever the value is (an aware or naive-UTC ``datetime``, an ISO 8601 text as the API
  gives it, a SQLite timestamp text): :func:`local_datetime`.
* Money: with the currency's number of decimals (a billing setting per currency; by
  default the currency's own: 2, VND 0): :func:`money_text`; prices of a rate keep up to 4
  decimals so a price below the smallest coin is never shown as 0: :func:`price_text`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
MAX_DECIMALS = 4  # money is kept with 4 decimals (billing.md)
# decimals of each currency of the billing settings when none was chosen (ISO 4217)
CURRENCY_DECIMALS = {"USD": 2, "CNY": 2, "EUR": 2, "GBP": 2, "VND": 0, "OTHER": 2}


def as_datetime(value: Any) -> datetime | None:
    """An aware datetime from a datetime (naive = UTC) or an ISO 8601 / SQLite text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local_datetime(value: Any, timezone: str | ZoneInfo = "UTC") -> str:
    """``YYYY-MM-DD HH:MM:SS`` in ``timezone`` (the PBX's); "" for no value; a text that is
    not a time is shown as it is."""
    moment = as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    tz = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    return moment.astimezone(tz).strftime(DATETIME_FORMAT)


def local_date(value: Any, timezone: str | ZoneInfo = "UTC") -> str:
    """``YYYY-MM-DD`` of the moment in ``timezone``."""
    return local_datetime(value, timezone)[:10]


def currency_decimals(currency: str, chosen: dict[str, Any] | None = None) -> int:
    """The decimals money of ``currency`` is shown with: the chosen ones, else its own."""
    value = (chosen or {}).get(currency)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DECIMALS:
        return value
    return CURRENCY_DECIMALS.get(currency, 2)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def money_text(value: Any, decimals: int = 2) -> str:
    """An amount with ``decimals`` decimals (rounded half up): ``12.35``, ``1235``, ``-0.50``;
    "" for no value; a text that is not a number is shown as it is."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    quantum = Decimal(1).scaleb(-decimals)
    shown = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    if shown == 0:
        shown = abs(shown)  # no "-0.00"
    return f"{shown:.{decimals}f}"


def price_text(value: Any, decimals: int = 2) -> str:
    """A price of a rate: at least ``decimals`` decimals, more (up to 4) only when needed
    (``0.02``, ``0.0125``; with VND ``100``, ``0.5``)."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    exact = amount.quantize(Decimal(1).scaleb(-MAX_DECIMALS), rounding=ROUND_HALF_UP)
    text = f"{exact:.{MAX_DECIMALS}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    frac = frac + "0" * max(0, decimals - len(frac))
    return f"{whole}.{frac}" if frac else whole

"""Input rules of billing (pure): money, whole numbers, times of day, prefixes, rates."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any

from coovox.storage.money import MoneyError, parse_money

PREFIX_RE = re.compile(r"^[0-9*#+]*$")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
PAYMENT_TYPES = ("prepaid", "postpaid")
STATUSES = ("unlocked", "locked")
CURRENCIES = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "VND": "₫", "OTHER": "¤"}


class BillingError(ValueError):
    """Bad input or a refused operation; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def money(value: Any, field: str, *, positive: bool = False, non_negative: bool = False,
          label: str | None = None) -> Decimal:
    """Parse a money input or raise BillingError naming ``field``."""
    name = label or field
    try:
        amount = parse_money(value)
    except MoneyError as exc:
        raise BillingError(f"{name} {exc}", field) from None
    if positive and amount <= 0:
        raise BillingError(f"{name} must be greater than 0", field)
    if non_negative and amount < 0:
        raise BillingError(f"{name} must not be negative", field)
    return amount


def whole(value: Any, field: str, low: int, high: int | None = None) -> int:
    """A whole number in [low, high] or BillingError naming ``field``."""
    if isinstance(value, bool) or isinstance(value, float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BillingError(f"{field} must be a whole number", field)
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+", text):
            raise BillingError(f"{field} must be a whole number", field)
        value = int(text)
    if not isinstance(value, int):
        raise BillingError(f"{field} must be a whole number", field)
    if value < low or (high is not None and value > high):
        rng = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BillingError(f"{field} must be {rng}", field)
    return value


def flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "off", "no", ""):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BillingError(f"{field} must be true or false", field)


def choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text not in choices:
        raise BillingError(f"{field} must be one of: {', '.join(choices)}", field)
    return text


def time_of_day(value: Any, field: str) -> time:
    """HH:MM[:SS] or BillingError."""
    m = TIME_RE.match(str(value or "").strip())
    if not m:
        raise BillingError(f"{field} must be a time HH:MM or HH:MM:SS", field)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise BillingError(f"{field} is not a valid time of day", field)
    return time(h, mi, s)


def prefix(value: Any, field: str = "prefix") -> str:
    text = str(value or "").strip()
    if len(text) > 32 or not PREFIX_RE.match(text):
        raise BillingError(f"{field} may hold only digits, *, # and + (at most 32)", field)
    return text


def rate_fields(data: dict[str, Any], *, partial: bool = False,
                known_extensions: set[str] | None = None) -> dict[str, Any]:
    """Validate a rate's input; returns the model fields to set (only given ones if partial)."""
    out: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or not partial

    if given("active"):
        out["active"] = flag(data.get("active", True), "active")
    if given("remark"):
        remark = str(data.get("remark") or "").strip()
        if len(remark) > 255:
            raise BillingError("remark is longer than 255 characters", "remark")
        out["remark"] = remark
    if given("prefix"):
        out["prefix"] = prefix(data.get("prefix", ""))
    if given("length"):
        out["length"] = whole(data.get("length", 0), "length", 0, 32)
    if given("initial_cost"):
        out["initial_cost"] = money(data.get("initial_cost", "0"), "initial_cost",
                                    non_negative=True)
    if given("initial_time"):
        out["initial_time"] = whole(data.get("initial_time", 0), "initial_time", 0, 86400)
    if given("rate"):
        if "rate" not in data:
            raise BillingError("rate is required", "rate")
        out["rate"] = money(data.get("rate"), "rate", non_negative=True)
    if given("unit"):
        if "unit" not in data:
            raise BillingError("unit is required", "unit")
        out["unit"] = whole(data.get("unit"), "unit", 1, 86400)
    if given("start_time"):
        out["start_time"] = time_of_day(data.get("start_time", "00:00:00"),
                                        "start_time").isoformat()
    if given("end_time"):
        out["end_time"] = time_of_day(data.get("end_time", "00:00:00"), "end_time").isoformat()
    if given("extensions"):
        exts = data.get("extensions")
        if exts == "all":
            out["all_extensions"], out["extensions"] = True, []
        else:
            if isinstance(exts, str):
                exts = [e for e in re.split(r"[\s,]+", exts) if e]
            if not isinstance(exts, list) or not exts:
                raise BillingError("choose at least one extension (or \"all\")", "extensions")
            clean = sorted({str(e).strip() for e in exts if str(e).strip()})
            if not clean:
                raise BillingError("choose at least one extension (or \"all\")", "extensions")
            if known_extensions is not None:
                unknown = [e for e in clean if e not in known_extensions]
                if unknown:
                    raise BillingError(f"unknown extension {unknown[0]}", "extensions")
            out["all_extensions"], out["extensions"] = False, clean
    return out

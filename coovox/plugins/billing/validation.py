"""Input rules of billing (pure): money, whole numbers, times of day, prefixes, rates."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any

from coovox.inputs import text_problem
from coovox.storage.money import MAX_BALANCE, MoneyError, fmt, parse_money

PREFIX_RE = re.compile(r"^[0-9*#+]*$")
EXTENSION_RE = re.compile(r"[0-9]{1,32}")
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
    if abs(amount) > MAX_BALANCE:
        raise BillingError(f"{name} must be at most {fmt(MAX_BALANCE)} (the largest balance)",
                           field)
    return amount


def text_field(value: Any, field: str, max_length: int = 255) -> str:
    """A remark or reason: text of at most ``max_length`` characters, no control or
    direction-changing characters (stripped of surrounding spaces)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BillingError(f"{field} must be text", field)
    text = value.strip(" ")
    problem = text_problem(text)
    if problem:
        raise BillingError(f"{field} {problem}", field)
    text = text.strip()
    if len(text) > max_length:
        raise BillingError(f"{field} is longer than {max_length} characters", field)
    return text


def extension_key(value: Any, field: str = "extension") -> str:
    """An extension number used as a key (path, list entry): 1 to 32 digits.  Anything else
    names no extension: BillingError 404."""
    text = value.strip() if isinstance(value, str) else \
        str(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if text is None:
        raise BillingError(f"{field} must be an extension number (1 to 32 digits)", field)
    if not EXTENSION_RE.fullmatch(text):
        shown = text if len(text) <= 40 and not text_problem(text) else "(not a number)"
        raise BillingError(f"no extension {shown}", field, status=404)
    return text


def extension_keys(values: Any, field: str = "extensions") -> list[str]:
    """A non-empty list of extension numbers (see :func:`extension_key`)."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise BillingError(f"{field} must be a list of extension numbers", field)
    out = [extension_key(v, field) for v in values
           if not (isinstance(v, str) and not v.strip())]
    if not out:
        raise BillingError("select at least one extension", field)
    return out


def rate_id(value: Any) -> int:
    """A rate id from a path: malformed -> 400, out of the id column's range -> 404."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,30}", text):
        raise BillingError("rate id must be a whole number", "id")
    rid = int(text)
    if not 1 <= rid <= 2**31 - 1:
        raise BillingError(f"no rate {text}", "id", status=404)
    return rid


def whole(value: Any, field: str, low: int, high: int | None = None) -> int:
    """A whole number in [low, high] or BillingError naming ``field``."""
    if isinstance(value, bool) or isinstance(value, float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BillingError(f"{field} must be a whole number", field)
    if isinstance(value, str):
        text = value.strip(" ")
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
            raise BillingError(f"{field} must be a whole number (digits 0-9)", field)
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
    m = TIME_RE.fullmatch(str(value or "").strip())
    if not m:
        raise BillingError(f"{field} must be a time HH:MM or HH:MM:SS", field)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise BillingError(f"{field} is not a valid time of day", field)
    return time(h, mi, s)


def prefix(value: Any, field: str = "prefix") -> str:
    text = str(value or "").strip()
    if len(text) > 32 or not PREFIX_RE.fullmatch(text):
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
        out["remark"] = text_field(data.get("remark") or "", "remark", 255)
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
            for e in clean:
                if not EXTENSION_RE.fullmatch(e):
                    raise BillingError("extensions must be extension numbers (1 to 32 "
                                       "digits)", "extensions")
            if known_extensions is not None:
                unknown = [e for e in clean if e not in known_extensions]
                if unknown:
                    raise BillingError(f"unknown extension {unknown[0]}", "extensions")
            out["all_extensions"], out["extensions"] = False, clean
    return out

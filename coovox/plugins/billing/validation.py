"""Input rules of billing (pure): money, whole numbers, times of day, prefixes, rates."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any

from coovox.messages import Field, Msg, register_labels
from coovox.storage.money import MoneyError, parse_money

PREFIX_RE = re.compile(r"^[0-9*#+]*$")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
PAYMENT_TYPES = ("prepaid", "postpaid")
STATUSES = ("unlocked", "locked")
CURRENCIES = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "VND": "₫", "OTHER": "¤"}
# Labels (msgids) of the billing inputs, as the pages name them in messages
FIELD_LABELS = {
    "amount": "Recharge Amount", "credit": "Credit", "status": "Status",
    "payment_type": "Payment Type", "enabled": "Enable Billing", "remark": "Remark",
    "prefix": "Prefix", "length": "Number Length", "initial_cost": "Initial Cost",
    "initial_time": "Initial Time(s)", "rate": "Rate", "unit": "Billing Unit(s)",
    "start_time": "Start Time", "end_time": "End Time", "extensions": "Extensions",
    "extension": "Extension", "currency": "Currency", "reason": "Reason",
    "warning_seconds": "Warning tone before cut-off (s, 0 = off)",
    "block_unrated": "Block calls that no rate covers", "active": "Activate",
    "from": "Start date", "to": "End date", "by": "Statistics By", "keyword": "Keywords",
    "number": "Extension", "apply": "Bulk Edit", "id": "Rate", "decimals": "Decimal places",
}
register_labels(FIELD_LABELS)


class BillingError(ValueError):
    """Bad input or a refused operation; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message  # a Msg: shown translated on pages (coovox.messages)
        self.field = field
        self.status = status


class BillingErrors(BillingError):
    """Several inputs are wrong at once (a form): ``errors`` maps each field to its
    message; as a BillingError it is the first of them."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = errors


def money(value: Any, field: str, *, positive: bool = False, non_negative: bool = False,
          label: str | None = None) -> Decimal:
    """Parse a money input or raise BillingError naming ``field``."""
    name = Field(label or field)
    try:
        amount = parse_money(value)
    except MoneyError as exc:
        problem = exc.args[0] if exc.args else str(exc)
        problem = problem if isinstance(problem, Msg) else Msg(problem)
        raise BillingError(Msg("%(field)s %(problem)s", field=name, problem=problem),
                           field) from None
    if positive and amount <= 0:
        raise BillingError(Msg("%(field)s must be greater than 0", field=name), field)
    if non_negative and amount < 0:
        raise BillingError(Msg("%(field)s must not be negative", field=name), field)
    return amount


def whole(value: Any, field: str, low: int, high: int | None = None) -> int:
    """A whole number in [low, high] or BillingError naming ``field``."""
    if isinstance(value, bool) or isinstance(value, float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BillingError(_whole_number(field), field)
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+", text):
            raise BillingError(_whole_number(field), field)
        value = int(text)
    if not isinstance(value, int):
        raise BillingError(_whole_number(field), field)
    if value < low or (high is not None and value > high):
        if high is not None:
            raise BillingError(Msg("%(field)s must be between %(low)s and %(high)s",
                                   field=Field(field), low=low, high=high), field)
        raise BillingError(Msg("%(field)s must be at least %(low)s", field=Field(field),
                               low=low), field)
    return value


def _whole_number(field: str) -> Msg:
    return Msg("%(field)s must be a whole number", field=Field(field))


def flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "off", "no", ""):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BillingError(Msg("%(field)s must be true or false", field=Field(field)), field)


def choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text not in choices:
        raise BillingError(Msg("%(field)s must be one of: %(choices)s", field=Field(field),
                               choices=", ".join(choices)), field)
    return text


def time_of_day(value: Any, field: str) -> time:
    """HH:MM[:SS] or BillingError."""
    m = TIME_RE.match(str(value or "").strip())
    if not m:
        raise BillingError(Msg("%(field)s must be a time HH:MM or HH:MM:SS",
                               field=Field(field)), field)
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        raise BillingError(Msg("%(field)s is not a valid time of day", field=Field(field)),
                           field)
    return time(h, mi, s)


def prefix(value: Any, field: str = "prefix") -> str:
    text = str(value or "").strip()
    if len(text) > 32 or not PREFIX_RE.match(text):
        raise BillingError(Msg("%(field)s may hold only digits, *, # and + (at most 32)",
                               field=Field(field)), field)
    return text


def rate_fields(data: dict[str, Any], *, partial: bool = False,
                known_extensions: set[str] | None = None) -> dict[str, Any]:
    """Validate a rate's input; returns the model fields to set (only given ones if partial).

    Every input is checked: several wrong ones raise :class:`BillingErrors` naming each."""

    def required(name: str) -> Any:
        if name not in data:
            raise BillingError(Msg("%(field)s is required", field=Field(name)), name)
        return data[name]

    def remark() -> dict[str, Any]:
        text = str(data.get("remark") or "").strip()
        if len(text) > 255:
            raise BillingError(Msg("%(field)s is longer than 255 characters",
                                   field=Field("remark")), "remark")
        return {"remark": text}

    def extensions() -> dict[str, Any]:
        exts = data.get("extensions")
        if exts == "all":
            return {"all_extensions": True, "extensions": []}
        if isinstance(exts, str):
            exts = [e for e in re.split(r"[\s,]+", exts) if e]
        clean = sorted({str(e).strip() for e in exts if str(e).strip()}) \
            if isinstance(exts, list) else []
        if not clean:
            raise BillingError(Msg("choose at least one extension (or \"all\")"), "extensions")
        unknown = [e for e in clean if known_extensions is not None and e not in known_extensions]
        if unknown:
            raise BillingError(Msg("unknown extension %(extension)s", extension=unknown[0]),
                               "extensions")
        return {"all_extensions": False, "extensions": clean}

    checks = {
        "active": lambda: {"active": flag(data.get("active", True), "active")},
        "remark": remark,
        "prefix": lambda: {"prefix": prefix(data.get("prefix", ""))},
        "length": lambda: {"length": whole(data.get("length", 0), "length", 0, 32)},
        "initial_cost": lambda: {"initial_cost": money(data.get("initial_cost", "0"),
                                                       "initial_cost", non_negative=True)},
        "initial_time": lambda: {"initial_time": whole(data.get("initial_time", 0),
                                                       "initial_time", 0, 86400)},
        "rate": lambda: {"rate": money(required("rate"), "rate", non_negative=True)},
        "unit": lambda: {"unit": whole(required("unit"), "unit", 1, 86400)},
        "start_time": lambda: {"start_time": time_of_day(
            data.get("start_time", "00:00:00"), "start_time").isoformat()},
        "end_time": lambda: {"end_time": time_of_day(
            data.get("end_time", "00:00:00"), "end_time").isoformat()},
        "extensions": extensions,
    }
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, check in checks.items():
        if name not in data and partial:
            continue
        try:
            out.update(check())
        except BillingError as exc:
            errors.setdefault(exc.field or name, exc.message)
    if len(errors) == 1:
        field, message = next(iter(errors.items()))
        raise BillingError(message, field)
    if errors:
        raise BillingErrors(errors)
    return out

"""Input rules of billing (pure): money, whole numbers, times of day, prefixes, rates."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any

from coovox.inputs import text_problem, truth
from coovox.messages import Field, Msg, register_labels
from coovox.storage.money import MAX_BALANCE, MoneyError, fmt, parse_money

PREFIX_RE = re.compile(r"^[0-9*#+]*$")
EXTENSION_RE = re.compile(r"[0-9]{1,32}")
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
    "debit_interval": "Charge ahead (s of units per charge, 0 = each unit when due)",
    "block_unrated": "Block calls that no rate covers", "active": "Activate",
    "from": "Start date", "to": "End date", "by": "Statistics By", "keyword": "Keywords",
    "number": "Extension", "apply": "Bulk Edit", "id": "Rate", "decimals": "Decimal places",
}
register_labels(FIELD_LABELS)


class BillingError(ValueError):
    """Bad input or a refused operation; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None, status: int = 400,
                 api_status: int | None = None):
        super().__init__(message)
        self.message = message  # a Msg: shown translated on pages (coovox.messages)
        self.field = field
        self.status = status
        self.api_status = api_status or status  # the API: an unknown reference is a 404


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
    if abs(amount) > MAX_BALANCE:
        raise BillingError(Msg("%(field)s must be at most %(max)s (the largest balance)",
                               field=name, max=fmt(MAX_BALANCE)), field)
    return amount


def text_field(value: Any, field: str, max_length: int = 255) -> str:
    """A remark or reason: text of at most ``max_length`` characters, no control or
    direction-changing characters (stripped of surrounding spaces)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BillingError(Msg("%(field)s must be text", field=Field(field)), field)
    text = value.strip(" ")
    problem = text_problem(text)
    if problem:
        raise BillingError(Msg("%(field)s %(problem)s", field=Field(field), problem=problem),
                           field)
    text = text.strip()
    if len(text) > max_length:
        raise BillingError(Msg("%(field)s is longer than %(n)s characters", field=Field(field),
                               n=max_length), field)
    return text


def extension_key(value: Any, field: str = "extension") -> str:
    """An extension number used as a key (path, list entry): 1 to 32 digits.  Anything else
    names no extension: BillingError 404."""
    text = value.strip() if isinstance(value, str) else \
        str(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if text is None:
        raise BillingError(Msg("%(field)s must be an extension number (1 to 32 digits)",
                               field=Field(field)), field)
    if not EXTENSION_RE.fullmatch(text):
        if len(text) <= 40 and not text_problem(text):
            raise BillingError(Msg("no extension %(extension)s", extension=text), field,
                               status=404)
        raise BillingError(Msg("no extension %(extension)s", extension=Msg("(not a number)")),
                           field, status=404)
    return text


def extension_keys(values: Any, field: str = "extensions") -> list[str]:
    """A non-empty list of extension numbers (see :func:`extension_key`)."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise BillingError(Msg("%(field)s must be a list of extension numbers",
                               field=Field(field)), field)
    out = [extension_key(v, field) for v in values
           if not (isinstance(v, str) and not v.strip())]
    if not out:
        raise BillingError(Msg("select at least one extension"), field)
    return out


def rate_id(value: Any) -> int:
    """A rate id from a path: malformed -> 400, out of the id column's range -> 404."""
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,30}", text):
        raise BillingError(Msg("rate id must be a whole number"), "id")
    rid = int(text)
    if not 1 <= rid <= 2**31 - 1:
        raise BillingError(Msg("no rate %(id)s", id=text), "id", status=404)
    return rid


def whole(value: Any, field: str, low: int, high: int | None = None) -> int:
    """A whole number in [low, high] or BillingError naming ``field``."""
    if isinstance(value, bool) or isinstance(value, float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BillingError(_whole_number(field), field)
    if isinstance(value, str):
        text = value.strip(" ")
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
            raise BillingError(Msg("%(field)s must be a whole number (digits 0-9)",
                                   field=Field(field)), field)
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
    try:
        return truth(value, blank=False)
    except ValueError:
        pass
    raise BillingError(Msg("%(field)s must be true or false", field=Field(field)), field)


def choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text not in choices:
        raise BillingError(Msg("%(field)s must be one of: %(choices)s", field=Field(field),
                               choices=", ".join(choices)), field)
    return text


def time_of_day(value: Any, field: str) -> time:
    """HH:MM[:SS] or BillingError."""
    m = TIME_RE.fullmatch(str(value or "").strip())
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
    if len(text) > 32 or not PREFIX_RE.fullmatch(text):
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
        return {"remark": text_field(data.get("remark") or "", "remark", 255)}

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
        if not all(EXTENSION_RE.fullmatch(e) for e in clean):
            raise BillingError(Msg("%(field)s must be extension numbers (1 to 32 digits)",
                                   field=Field("extensions")), "extensions")
        unknown = [e for e in clean if known_extensions is not None and e not in known_extensions]
        if unknown:
            raise BillingError(Msg("unknown extension %(extension)s", extension=unknown[0]),
                               "extensions", api_status=404)
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
    first: BillingError | None = None
    for name, check in checks.items():
        if name not in data and partial:
            continue
        try:
            out.update(check())
        except BillingError as exc:
            errors.setdefault(exc.field or name, exc.message)
            first = first or exc
    if len(errors) == 1 and first is not None:
        raise BillingError(first.message, first.field or next(iter(errors)),
                           api_status=first.api_status)
    if errors:
        raise BillingErrors(errors)
    return out

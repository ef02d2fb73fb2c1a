"""Rules of the toll-fraud guard (pure: no database, no clock of its own).

Limits per extension over global defaults; destinations (block list, allow-list mode, no
international outside office hours, with the dial rules' time conditions); the hour and
day windows spend and calls are counted in; when a trip's temporary refusal ends; and
the validation of the limits' inputs (messages name the field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from coovox.messages import Field, Msg, register_labels
from coovox.plugins.billing.validation import BillingError, choice, flag, money, whole
from coovox.plugins.outbound.routing import Condition
from coovox.plugins.outbound.rules import ConfigError, clean_condition
from coovox.storage.money import fmt, to_units

ACTIONS = ("lock", "refuse", "alert")
ACTION_LABELS = {"lock": "Lock the extension", "refuse": "Refuse its calls for a while",
                 "alert": "Alert only"}
NO_LIMIT = 2 ** 62  # units: a spend limit that is never reached (no limit set)
MAX_COUNT = 100_000  # largest calls per hour / concurrent calls / attempts
MAX_MINUTES = 24 * 60
MAX_PREFIXES = 200
PREFIX_ITEM_RE = re.compile(r"^[0-9*#+]{1,32}$")

# The reasons of refusals and cuts, as the call log shows them
REFUSE_GUARD = "fraud guard"
REFUSE_BLOCKED = "blocked destination"
REFUSE_NOT_ALLOWED = "destination not allowed"
REFUSE_OFFICE_HOURS = "international outside office hours"
REFUSE_CALLS_HOUR = "too many calls this hour"
REFUSE_CONCURRENT = "too many simultaneous calls"
REFUSE_SPEND = "spend limit"
REASONS = (REFUSE_GUARD, REFUSE_BLOCKED, REFUSE_NOT_ALLOWED, REFUSE_OFFICE_HOURS,
           REFUSE_CALLS_HOUR, REFUSE_CONCURRENT, REFUSE_SPEND)
# Kinds of trips
TRIP_SPEND_HOUR = "spend per hour"
TRIP_SPEND_DAY = "spend per day"
TRIP_ATTEMPTS = "blocked attempts"
TRIPS = (TRIP_SPEND_HOUR, TRIP_SPEND_DAY, TRIP_ATTEMPTS)

LABELS = {
    "guard": "Fraud guard on", "calls_per_hour": "Calls per hour",
    "concurrent_calls": "Simultaneous calls", "spend_hour": "Spend per hour",
    "spend_day": "Spend per day", "blocked_prefixes": "Blocked prefixes",
    "allow_mode": "Allow listed prefixes only", "allowed_prefixes": "Allowed prefixes",
    "international_prefixes": "International prefixes", "office_hours": "Office hours",
    "trip_attempts": "Blocked attempts that trip", "trip_minutes": "Within minutes",
    "action": "When tripped",
}
register_labels(LABELS)
LIMIT_KEYS = tuple(k for k in LABELS if k != "guard")


@dataclass(frozen=True)
class Limits:
    """The limits of one extension (0 / None / empty: none)."""

    calls_per_hour: int = 0
    concurrent_calls: int = 0
    spend_hour: Decimal | None = None
    spend_day: Decimal | None = None
    blocked_prefixes: tuple[str, ...] = ()
    allow_mode: bool = False
    allowed_prefixes: tuple[str, ...] = ()
    international_prefixes: tuple[str, ...] = ()
    office_hours: dict[str, Any] | None = None  # a dial-rule time condition
    trip_attempts: int = 0  # K refused attempts to blocked destinations...
    trip_minutes: int = 10  # ...within M minutes trip the guard (0 attempts: never)
    action: str = "lock"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = fmt(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def spend_units(self) -> tuple[int, int]:
        """(hour, day) spend limits in units of 1/10000 (:data:`NO_LIMIT` when unset)."""
        return (NO_LIMIT if self.spend_hour is None else to_units(self.spend_hour),
                NO_LIMIT if self.spend_day is None else to_units(self.spend_day))

    @property
    def counts_admissions(self) -> bool:
        return bool(self.calls_per_hour or self.concurrent_calls)


DEFAULT_LIMITS = Limits()


# --- validation ------------------------------------------------------------------------------


def _prefixes(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = re.split(r"[\s,;]+", value.strip()) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise BillingError(Msg("%(field)s must be a list of prefixes", field=Field(field)),
                           field)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise BillingError(Msg("%(field)s must be a list of prefixes", field=Field(field)),
                               field)
        if not item:
            continue
        if not PREFIX_ITEM_RE.fullmatch(item):
            raise BillingError(Msg("%(field)s: a prefix is 1 to 32 of 0-9 * # +",
                                   field=Field(field)), field)
        if item not in out:
            out.append(item)
    if len(out) > MAX_PREFIXES:
        raise BillingError(Msg("%(field)s: at most %(n)s prefixes", field=Field(field),
                               n=MAX_PREFIXES), field)
    return tuple(out)


def _spend(value: Any, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return money(value, field, positive=True)


def _office_hours(value: Any) -> dict[str, Any] | None:
    try:
        return clean_condition(value, "office_hours")
    except ConfigError as exc:
        problem = exc.message if isinstance(exc.message, Msg) else Msg(str(exc.message))
        raise BillingError(Msg("%(field)s %(problem)s", field=Field("office_hours"),
                               problem=problem), "office_hours") from None


PARSERS = {
    "calls_per_hour": lambda v: whole(v, "calls_per_hour", 0, MAX_COUNT),
    "concurrent_calls": lambda v: whole(v, "concurrent_calls", 0, MAX_COUNT),
    "spend_hour": lambda v: _spend(v, "spend_hour"),
    "spend_day": lambda v: _spend(v, "spend_day"),
    "blocked_prefixes": lambda v: _prefixes(v, "blocked_prefixes"),
    "allow_mode": lambda v: flag(v, "allow_mode"),
    "allowed_prefixes": lambda v: _prefixes(v, "allowed_prefixes"),
    "international_prefixes": lambda v: _prefixes(v, "international_prefixes"),
    "office_hours": _office_hours,
    "trip_attempts": lambda v: whole(v, "trip_attempts", 0, MAX_COUNT),
    "trip_minutes": lambda v: whole(v, "trip_minutes", 1, MAX_MINUTES),
    "action": lambda v: choice(v, "action", ACTIONS),
}


def parse_limits(data: Any, *, partial: bool) -> dict[str, Any]:
    """The limits in ``data`` (a mapping), validated: every key known, every value valid.
    ``partial``: an extension's own limits (only the keys given; the rest are the defaults)."""
    if not isinstance(data, dict):
        raise BillingError(Msg("the body must be a JSON object"), None)
    unknown = sorted(set(data) - set(LIMIT_KEYS))
    if unknown:
        raise BillingError(Msg("unknown fields: %(fields)s", fields=", ".join(unknown)[:200]),
                           unknown[0][:64])
    out = {key: PARSERS[key](value) for key, value in data.items()}
    if not partial:
        out = {**DEFAULT_LIMITS.to_json(), **out}
    return out


def limits_from(stored: dict[str, Any] | None, base: Limits = DEFAULT_LIMITS) -> Limits:
    """``base`` with the stored (validated) values of ``stored`` over it; a value that does
    not parse any more keeps the base's."""
    if not stored:
        return base
    changes: dict[str, Any] = {}
    for key in LIMIT_KEYS:
        if key not in stored:
            continue
        try:
            changes[key] = PARSERS[key](stored[key])
        except BillingError:
            continue
    return replace(base, **changes)


def as_stored(parsed: dict[str, Any]) -> dict[str, Any]:
    """Parsed limits as JSON values (money as text, tuples as lists)."""
    out = {}
    for key, value in parsed.items():
        if isinstance(value, Decimal):
            value = fmt(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


# --- destinations ----------------------------------------------------------------------------


def _starts(number: str, prefixes: tuple[str, ...]) -> bool:
    return any(number.startswith(p) for p in prefixes)


def destination_refusal(limits: Limits, dialed: str, local: datetime) -> str | None:
    """Why a call to ``dialed`` (as the extension dialled it) starting at ``local`` (PBX
    time) is refused by the destination rules, or None."""
    if _starts(dialed, limits.blocked_prefixes):
        return REFUSE_BLOCKED
    if limits.allow_mode and not _starts(dialed, limits.allowed_prefixes):
        return REFUSE_NOT_ALLOWED
    if limits.office_hours and _starts(dialed, limits.international_prefixes):
        condition = Condition.from_json(limits.office_hours)
        if condition is not None and not condition.holds(local):
            return REFUSE_OFFICE_HOURS
    return None


def trips_on_attempts(reason: str | None) -> bool:
    """Refusals that count as attempts to blocked destinations."""
    return reason in (REFUSE_BLOCKED, REFUSE_NOT_ALLOWED, REFUSE_OFFICE_HOURS)


# --- windows ---------------------------------------------------------------------------------


def hour_key(local: datetime) -> int:
    """The clock hour (PBX time) spend and calls are counted in: ``YYYYMMDDHH``."""
    return ((local.year * 100 + local.month) * 100 + local.day) * 100 + local.hour


def day_key(local: datetime) -> int:
    """The day (PBX time) spend is counted in: ``YYYYMMDD``."""
    return (local.year * 100 + local.month) * 100 + local.day


def in_window(row_key: int | None, key: int, count: int | None) -> int:
    """A counter's value in window ``key`` (0 when the row counted another window)."""
    return int(count or 0) if row_key == key else 0


def headroom(limit_units: int, row_key: int | None, key: int, spent: int | None) -> int:
    """What is left to spend in window ``key``, in units."""
    return limit_units - in_window(row_key, key, spent)


def window_end(kind: str, local: datetime, minutes: int) -> datetime:
    """When the temporary refusal of a trip (action "refuse") ends: the end of the hour
    or day whose spend tripped, or ``minutes`` after the attempt that tripped."""
    if kind == TRIP_SPEND_HOUR:
        return local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if kind == TRIP_SPEND_DAY:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start + timedelta(days=1)
    return local + timedelta(minutes=minutes)


def trip_window(kind: str, local: datetime, minutes: int) -> int:
    """The key of the window one trip is counted once in (a second trip of the same kind
    in it is not recorded or published again)."""
    if kind == TRIP_SPEND_HOUR:
        return hour_key(local)
    if kind == TRIP_SPEND_DAY:
        return day_key(local)
    return int(local.timestamp()) // (60 * max(1, minutes))

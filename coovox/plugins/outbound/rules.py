"""Pure validation of the outbound configuration's fields (no database, no HTTP).

Each ``clean_*`` function takes a raw value (from JSON or a form) and returns the clean
value or raises :class:`Invalid` naming the field and the problem.
"""

from __future__ import annotations

import re
from typing import Any

from coovox.inputs import shown, text_problem, truth
from coovox.messages import Msg

DEFAULT_PERMISSION = "DialPlan1"

_NUMBER = re.compile(r"^[0-9]{1,32}$")
_DIAL_CHARS = re.compile(r"^[0-9*#+]*$")
_PIN = re.compile(r"^[0-9]{1,16}$")
_TECH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/\S+$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")


class ConfigError(Exception):
    """A refused change: ``status`` 400 (bad input), 404 (unknown) or 409 (conflict)."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(ConfigError):
    status = 400


class Missing(Invalid):
    """A reference to something that does not exist (a rule's trunk...): 400 on a page,
    404 in the API."""

    api_status = 404


class NotFound(ConfigError):
    status = 404


class Conflict(ConfigError):
    status = 409


try:  # the call path's matcher, when present, is the one source of truth
    from coovox.plugins.outbound.patterns import validate as _pattern_problem
except ImportError:  # pragma: no cover - fallback while the matcher is absent
    def _pattern_problem(pattern: str) -> str | None:
        depth = 0
        for ch in pattern:
            if ch == "[":
                if depth:
                    return "'[' inside a set"
                depth = 1
            elif ch == "]":
                if not depth:
                    return "']' has no opening '['"
                depth = 0
        return "'[' is never closed" if depth else None


def _required_text(value: Any, field: str, required: str) -> str:
    """``value`` stripped: a string of 1-64 characters without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(required, field)
    problem = text_problem(value)
    if problem:
        raise Invalid(problem, field)
    value = value.strip()
    if len(value) > 64:
        raise Invalid("must be at most 64 characters", field)
    return value


def clean_name(value: Any, field: str = "name") -> str:
    """A configuration name: 1-64 characters, no '/', no surrounding spaces."""
    value = _required_text(value, field, "is required")
    if "/" in value:
        raise Invalid("must not contain '/'", field)
    return value


def clean_number(value: Any, field: str = "number") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value) if 0 <= value < 10**32 else None
    if not isinstance(value, str) or not _NUMBER.fullmatch(value.strip()):
        raise Invalid("must be 1 to 32 digits", field)
    return value.strip()


def clean_text(value: Any, field: str, max_length: int = 128) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("must be text", field)
    problem = text_problem(value)
    if problem:
        raise Invalid(problem, field)
    value = value.strip()
    if len(value) > max_length:
        raise Invalid(Msg("must be at most %(n)s characters", n=max_length), field)
    return value


def clean_bool(value: Any, field: str) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        raise Invalid("must be true or false", field)
    try:
        return truth(value, blank=False)
    except ValueError:
        raise Invalid("must be true or false", field) from None


def clean_int(value: Any, field: str, low: int, high: int | None = None,
              nullable: bool = True) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if nullable:
            return None
        raise Invalid("is required", field)
    if isinstance(value, bool):
        raise Invalid("must be a whole number", field)
    if isinstance(value, str):
        if not _WHOLE.fullmatch(value.strip(" ")):
            raise Invalid("must be a whole number (digits 0-9)", field)
        value = int(value.strip(" "))
    if not isinstance(value, int):
        raise Invalid("must be a whole number", field)
    if value < low or (high is not None and value > high):
        if high is None:
            raise Invalid(Msg("must be at least %(low)s or empty" if nullable
                              else "must be at least %(low)s", low=low), field)
        raise Invalid(Msg("must be between %(low)s and %(high)s or empty" if nullable
                          else "must be between %(low)s and %(high)s", low=low, high=high),
                      field)
    return value


def clean_dial_chars(value: Any, field: str) -> str:
    """A prefix or prepended prefix: digits, '*', '#', '+' (may be empty)."""
    value = clean_text(value, field, 32)
    if not _DIAL_CHARS.fullmatch(value):
        raise Invalid("may contain only digits, '*', '#' and '+'", field)
    return value


def clean_pattern(value: Any, field: str = "pattern") -> str:
    value = _required_text(value, field, "is required (e.g. 'X.' or '1NXXNXXXXXX')")
    if any(c.isspace() for c in value):
        raise Invalid("must not contain spaces", field)
    problem = _pattern_problem(value)
    if problem:
        raise Invalid(Msg("is not a valid dial pattern: %(problem)s", problem=problem), field)
    return value


def clean_dial_string(value: Any, field: str = "dial_string") -> str:
    value = clean_text(value, field, 255)
    if not value:
        raise Invalid("is required (e.g. PJSIP/{number}@carrier)", field)
    if "{number}" not in value:
        raise Invalid("must contain {number} where the dialled number goes", field)
    if not _TECH.fullmatch(value):
        raise Invalid("must start with a channel technology, e.g. PJSIP/{number}@carrier",
                      field)
    return value


def clean_names(value: Any, field: str, required: bool = False) -> list[str]:
    """An ordered list of distinct names (trunks of a rule, rules of a permission)."""
    if value is None:
        value = []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\n]", value) if v.strip()]
    if not isinstance(value, list):
        raise Invalid("must be a list of names", field)
    out: list[str] = []
    for item in value:
        name = clean_name(item, field)
        if name in out:
            raise Invalid(Msg("lists %(name)s twice", name=repr(name)), field)
        out.append(name)
    if required and not out:
        raise Invalid("needs at least one entry", field)
    return out


def clean_pins(value: Any, field: str = "pins") -> list[str]:
    """PINs: strings of 1-16 digits, distinct. A text is split on commas, spaces, lines."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;]+", value) if v]
    if not isinstance(value, list):
        raise Invalid("must be a list of PINs", field)
    out: list[str] = []
    for pin in value:
        if not isinstance(pin, str) or not _PIN.fullmatch(pin):
            raise Invalid(Msg("%(pin)s is not a PIN of 1 to 16 digits (send PINs as strings)",
                              pin=shown(pin) if isinstance(pin, str) else repr(pin)[:20]),
                          field)
        if pin in out:
            raise Invalid(Msg("PIN %(pin)s is listed twice", pin=pin), field)
        out.append(pin)
    return out


def clean_condition(value: Any, field: str = "condition") -> dict[str, Any] | None:
    """A time condition ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}`` or None."""
    if value is None or value == "" or value == {}:
        return None
    if not isinstance(value, dict):
        raise Invalid("must be an object with days, start and end", field)
    unknown = set(value) - {"days", "start", "end"}
    if unknown:
        raise Invalid(Msg("unknown keys: %(keys)s", keys=", ".join(sorted(unknown))), field)
    days = value.get("days", list(range(7)))
    if (not isinstance(days, list) or not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6
                   for d in days)):
        raise Invalid("days must be a non-empty list of 0 (Monday) to 6 (Sunday)", field)
    start, end = value.get("start", "00:00"), value.get("end", "23:59")
    for t, problem in ((start, Msg("start must be a time HH:MM")),
                       (end, Msg("end must be a time HH:MM"))):
        if not isinstance(t, str) or not _TIME.fullmatch(t):
            raise Invalid(problem, field)
    if start == end:
        raise Invalid("start and end must differ", field)
    return {"days": sorted(set(days)), "start": start, "end": end}


_CALLER_ID = re.compile(r"^\+?[0-9]{3,20}$")
CALL_METHODS = ("sequential", "round_robin")
PREFERENCES = ("extension", "trunk")


def clean_caller_id(value: Any, field: str) -> str:
    """An outbound caller ID: 3 to 20 digits, optionally after one '+' (may be empty)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    value = clean_text(value, field, 32)
    if value and not _CALLER_ID.fullmatch(value):
        raise Invalid("must be 3 to 20 digits, optionally after a '+'", field)
    return value


def clean_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when empty)."""
    if value is None or value == "":
        return choices[0]
    if not isinstance(value, str) or value.strip() not in choices:
        raise Invalid(Msg("must be one of: %(choices)s", choices=", ".join(choices)), field)
    return value.strip()


def clean_caller_id_choice(value: Any, field: str = "caller_id") -> int:
    """Which of the extension's two outbound caller IDs a dial rule uses: 1 (default) or 2."""
    if value is None or value == "":
        return 1
    if isinstance(value, str) and value.strip() in ("1", "2"):
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2):
        return value
    raise Invalid("must be 1 (the extension's first caller ID) or 2 (its second)", field)

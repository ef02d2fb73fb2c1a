"""Pure outbound routing: extension -> dial permission -> first matching dial rule.

Nothing here touches the database or ARI: :func:`route` takes plain values (built from
the models by :mod:`coovox.plugins.calls.services` for every call) and returns a :class:`Route`
or a :class:`Refusal`.  Time conditions are evaluated in the PBX's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from coovox.plugins.calls.causes import EXTENSION_DISABLED, NO_ROUTE, UNKNOWN_EXTENSION
from coovox.plugins.outbound.patterns import PatternError, matches

__all__ = ["EXTENSION_DISABLED", "NO_ROUTE", "UNKNOWN_EXTENSION"]  # (also exported here)

SEQUENTIAL = "sequential"  # the rule's trunks in order; the next one when a trunk fails
ROUND_ROBIN = "round_robin"  # each call starts at the next trunk, then fails over in order


@dataclass(frozen=True)
class TrunkSpec:
    name: str
    dial_string: str  # e.g. PJSIP/{number}@carrier
    enabled: bool = True
    max_calls: int | None = None
    caller_id: str = ""
    prefer: str = "extension"  # whose caller ID goes first: "extension" or "trunk"

    def endpoint(self, number: str) -> str:
        """The ARI endpoint for ``number`` (``{number}`` replaced, else appended after '/')."""
        if "{number}" in self.dial_string:
            return self.dial_string.replace("{number}", number)
        return self.dial_string.rstrip("/") + "/" + number


@dataclass(frozen=True)
class Condition:
    """A time-of-day/week window: ``days`` 0=Monday..6=Sunday; ``end`` < ``start`` spans midnight."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    start: time = time(0, 0)
    end: time = time(23, 59, 59, 999999)

    @classmethod
    def from_json(cls, data: Mapping | None) -> Condition | None:
        if not data:
            return None
        days = tuple(int(d) for d in data.get("days", range(7)))
        start = time.fromisoformat(data.get("start") or "00:00")
        end_text = data.get("end") or ""
        end = time.fromisoformat(end_text) if end_text else time(23, 59, 59, 999999)
        if end_text in ("24:00", "23:59"):
            end = time(23, 59, 59, 999999)
        return cls(days, start, end)

    def holds(self, local: datetime) -> bool:
        now = local.time().replace(tzinfo=None)
        day = local.weekday()
        if self.start <= self.end:
            return day in self.days and self.start <= now <= self.end
        # spans midnight: the part after midnight belongs to the previous day's window
        if now >= self.start:
            return day in self.days
        if now <= self.end:
            return (day - 1) % 7 in self.days
        return False


@dataclass(frozen=True)
class RuleSpec:
    name: str
    pattern: str
    prefix: str = ""
    prepend: str = ""
    trunks: tuple[str, ...] = ()
    time_limit: int | None = None
    pin_set: str | None = None
    condition: Condition | None = None
    caller_id: int = 1  # which of the extension's caller IDs: 1 or 2
    call_method: str = SEQUENTIAL


@dataclass(frozen=True)
class ExtensionSpec:
    number: str
    name: str = ""
    enabled: bool = True
    dial_permission: str = "DialPlan1"
    caller_id1: str = ""
    caller_id2: str = ""


@dataclass(frozen=True)
class Route:
    """Where a call goes: the rule, the number sent and the trunks to try in order."""

    rule: RuleSpec
    sent: str
    trunks: tuple[TrunkSpec, ...]

    @property
    def time_limit(self) -> int | None:
        return self.rule.time_limit

    @property
    def pin_set(self) -> str | None:
        return self.rule.pin_set


@dataclass(frozen=True)
class Refusal:
    reason: str


def rule_matches(rule: RuleSpec, dialed: str) -> str | None:
    """The number to send when ``dialed`` matches the rule's prefix and pattern, else None."""
    if not dialed.startswith(rule.prefix):
        return None
    rest = dialed[len(rule.prefix):]
    try:
        if not matches(rule.pattern, rest):
            return None
    except PatternError:
        return None  # a broken rule never matches; the config API refuses such patterns
    return rule.prepend + rest


def route(
    extension: ExtensionSpec | None,
    dialed: str,
    *,
    permissions: Mapping[str, Sequence[str]],
    rules: Mapping[str, RuleSpec],
    trunks: Mapping[str, TrunkSpec],
    now: datetime,
    timezone: str = "UTC",
) -> Route | Refusal:
    """Route ``dialed`` for ``extension`` at the aware instant ``now``.

    The first rule of the extension's permission whose prefix and pattern match and whose
    time condition holds (in ``timezone``) and that has at least one enabled trunk wins.
    """
    if extension is None:
        return Refusal(UNKNOWN_EXTENSION)
    if not extension.enabled:
        return Refusal(EXTENSION_DISABLED)
    local = now.astimezone(ZoneInfo(timezone))
    for rule_name in permissions.get(extension.dial_permission, ()):
        rule = rules.get(rule_name)
        if rule is None:
            continue
        sent = rule_matches(rule, dialed)
        if sent is None:
            continue
        if rule.condition is not None and not rule.condition.holds(local):
            continue
        usable = tuple(trunks[t] for t in rule.trunks if t in trunks and trunks[t].enabled)
        if not usable:
            continue
        return Route(rule, sent, usable)
    return Refusal(NO_ROUTE)


def trunk_order(trunks: tuple[TrunkSpec, ...], method: str, turn: int) -> tuple[TrunkSpec, ...]:
    """The order a call tries ``trunks`` in: as listed (sequential), or -- round robin --
    starting at trunk ``turn`` (modulo their number) and going round the rest in order."""
    if method != ROUND_ROBIN or not trunks:
        return trunks
    start = turn % len(trunks)
    return trunks[start:] + trunks[:start]


def extension_caller_id(extension: ExtensionSpec, choice: int) -> str:
    """The extension's caller ID a rule chooses (1 or 2); the other one when it is empty."""
    first, second = extension.caller_id1, extension.caller_id2
    return (second or first) if choice == 2 else (first or second)


def caller_id(extension: ExtensionSpec, rule: RuleSpec, trunk: TrunkSpec) -> str:
    """The caller ID a call shows on ``trunk`` (manual 003 §4.1.2, §4.2, §4.3.2).

    The rule picks one of the extension's two caller IDs; the trunk says whose caller ID
    goes first (``prefer``: the extension's, the default, or its own); the other is used
    when the preferred one is empty; with neither, the paying extension's own number
    (never a number the phone claims)."""
    own = extension_caller_id(extension, rule.caller_id)
    if trunk.prefer == "trunk":
        return trunk.caller_id or own or extension.number
    return own or trunk.caller_id or extension.number

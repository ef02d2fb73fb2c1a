"""Pure rating rules (no I/O): which rate applies to a call and what a call costs.

A rate is a :class:`RateRule`.  Time windows are local times of the PBX's time zone;
``end < start`` wraps past midnight and ``start == end`` means the whole day.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any, NamedTuple

from coovox.storage.money import fmt

DAY = 86400


@dataclass(frozen=True)
class RateRule:
    """A billing rate as the engine sees it (money as ``Decimal``)."""

    id: int
    prefix: str = ""
    length: int = 0
    initial_cost: Decimal = Decimal(0)
    initial_time: int = 0
    rate: Decimal = Decimal(0)
    unit: int = 60
    start: time = time(0, 0)
    end: time = time(0, 0)
    extensions: frozenset[str] | None = None  # None = all extensions
    active: bool = True
    remark: str = ""

    # --- copies kept with a call ----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-able copy (money as strings) kept with the call."""
        return {
            "id": self.id, "remark": self.remark, "prefix": self.prefix, "length": self.length,
            "initial_cost": fmt(self.initial_cost), "initial_time": self.initial_time,
            "rate": fmt(self.rate), "unit": self.unit,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateRule:
        return cls(
            id=int(data.get("id", 0)), prefix=data.get("prefix", ""),
            length=int(data.get("length", 0)),
            initial_cost=Decimal(data["initial_cost"]), initial_time=int(data["initial_time"]),
            rate=Decimal(data["rate"]), unit=int(data["unit"]),
            start=time.fromisoformat(data.get("start", "00:00:00")),
            end=time.fromisoformat(data.get("end", "00:00:00")),
            remark=data.get("remark", ""),
        )


def _secs(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def window_seconds(start: time, end: time) -> int:
    """Length of a daily window in seconds (start == end: the whole day)."""
    a, b = _secs(start), _secs(end)
    if a == b:
        return DAY
    return (b - a) % DAY


def in_window(start: time, end: time, at: time) -> bool:
    """True when local time ``at`` lies in the window [start, end) (wrapping midnight)."""
    a, b, x = _secs(start), _secs(end), _secs(at)
    if a == b:
        return True
    if a < b:
        return a <= x < b
    return x >= a or x < b


def matches(rule: RateRule, dialed: str, extension: str, at: time) -> bool:
    """Is ``rule`` a candidate for this call (billing.md "Which rate applies")?"""
    return (
        rule.active
        and dialed.startswith(rule.prefix)
        and (rule.length == 0 or rule.length == len(dialed))
        and in_window(rule.start, rule.end, at)
        and (rule.extensions is None or extension in rule.extensions)
    )


def specificity(rule: RateRule) -> tuple[int, int, int, int]:
    """Sort key: smaller is more specific (longest prefix, fixed length, narrow window, id)."""
    return (-len(rule.prefix), 0 if rule.length else 1, window_seconds(rule.start, rule.end),
            rule.id)


def choose_rate(rules: Iterable[RateRule], dialed: str, extension: str,
                at: time) -> RateRule | None:
    """The most specific candidate rate, or None when no rate applies."""
    candidates = [r for r in rules if matches(r, dialed, extension, at)]
    return min(candidates, key=specificity) if candidates else None


# --- cost ------------------------------------------------------------------------------------


def units_after_initial(rule: RateRule, seconds: float) -> int:
    """Billing units begun after the initial time: ceil(max(0, s - initial_time) / unit)."""
    over = Decimal(str(seconds)) - rule.initial_time
    if over <= 0:
        return 0
    return math.ceil(over / rule.unit)


def cost(rule: RateRule, seconds: float) -> Decimal:
    """cost(s) = 0 when s == 0, else initial_cost + rate * ceil(max(0, s - initial)/unit)."""
    if seconds <= 0:
        return Decimal("0.0000")
    return (rule.initial_cost + rule.rate * units_after_initial(rule, seconds)).quantize(
        Decimal("0.0001"))


def boundary(rule: RateRule, k: int) -> int:
    """Talk time (s) of the k-th rate boundary: initial_time + k * unit."""
    return rule.initial_time + k * rule.unit


def first_charge(rule: RateRule) -> Decimal:
    """The first charge a call takes: initial cost if > 0, else the rate when initial time is 0."""
    if rule.initial_cost > 0:
        return rule.initial_cost
    if rule.initial_time == 0:
        return rule.rate
    return Decimal(0)


class Charge(NamedTuple):
    """A live charge: its sequence number, when it falls due (talk seconds) and amount."""

    seq: int
    at: float
    amount: Decimal


def charge_at(rule: RateRule, seq: int) -> Charge:
    """The charge with sequence ``seq``: 0 is the initial cost at answer, k+1 boundary k.

    A boundary at talk time b is charged when the call is still up *after* b (a call of
    exactly b seconds does not reach it), consistent with ``ceil`` in :func:`cost`.
    The boundary at 0 (initial time 0) is charged at answer.
    """
    if seq == 0:
        return Charge(0, 0.0, rule.initial_cost)
    return Charge(seq, float(boundary(rule, seq - 1)), rule.rate)


def block(rule: RateRule, seq: int, horizon: float) -> list[Charge]:
    """Charge ``seq`` and the following ones falling due before talk time ``horizon``
    (charging ahead: the charges one debit takes; always at least charge ``seq``).

    The charges after ``seq`` are boundaries ``b, b + unit, …`` of ``rate`` each, so their
    number is counted, not searched: a block of 30 s of 1-s units is one division."""
    out = [charge_at(rule, seq)]
    first = boundary(rule, seq)  # when charge seq + 1 falls due
    if first >= horizon:
        return out
    count = math.ceil((horizon - first) / rule.unit)  # b + k·unit < horizon, k = 0 … count-1
    rate, unit = rule.rate, rule.unit
    out += [Charge(seq + 1 + k, float(first + k * unit), rate) for k in range(count)]
    return out


def live_charges(rule: RateRule, seconds: float) -> list[Charge]:
    """All live charges taken by a call of ``seconds`` talk time (answered: seconds > 0)."""
    if seconds <= 0:
        return []
    out = [charge_at(rule, 0)]
    seq = 1
    while True:
        c = charge_at(rule, seq)
        if not (c.at < seconds or (c.at == 0 and seconds > 0)):
            break
        out.append(c)
        seq += 1
    return out


def charge_due(rule: RateRule, seq: int, talk_seconds: float) -> bool:
    """Whether charge ``seq`` is due for a call that has been up ``talk_seconds``."""
    c = charge_at(rule, seq)
    return c.at == 0 or c.at < talk_seconds


def spent_before(rule: RateRule, seq: int) -> Decimal:
    """What the live charges ``0 .. seq-1`` of a call at ``rule`` add up to."""
    return sum((charge_at(rule, i).amount for i in range(seq)), Decimal(0))


def talk_time_for(rule: RateRule, money: Decimal) -> float | None:
    """The billed talk time a call at ``rule`` reaches without costing more than ``money``:
    the talk second of the first charge that would pass it (None: never passed, rate 0).

    E.g. 0.02 per 1-s unit and 0.03: charges 0.02 at 0 s, the next (1 s) would make 0.04,
    so 1.0 (a call billed 1 s costs 0.02).
    """
    if rule.initial_cost > money:
        return 0.0
    if rule.rate <= 0:
        return None
    affordable = math.floor((money - rule.initial_cost) / rule.rate)
    return charge_at(rule, affordable + 1).at

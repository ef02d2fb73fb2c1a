"""Charging ahead (billing.md "Charging ahead"): several live charges taken as ONE charge.

A block is the charges ``seq`` … ``seq + n - 1`` of a call (those falling due within the
debit interval); it is taken by :func:`ledger.charge` like a single charge (one ledger row
keyed by its first ``seq``, one conditional UPDATE).  When the whole block cannot be
afforded, :func:`charge_part` takes the largest affordable number of its charges (the
balance and the fraud guard's spend windows both bound it); the meter then cuts the call
at the first boundary left unpaid, never earlier and never later.  At the end the
settlement refunds the charges of boundaries the call did not reach (ledger.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from coovox.plugins.billing.fraud_rules import NO_LIMIT
from coovox.plugins.billing.ledger import (
    CallRow,
    ChargeResult,
    SpendGuard,
    _charge,
    _open,
    _Refused,
)
from coovox.storage.money import to_units
from coovox.storage.work import Work, one, store

PART_TRIES = 4  # a partial charge raced by another call's charge (PostgreSQL) is re-tried
# what the account can still pay: its balance + credit and the spend of the windows
HEADROOM = ("SELECT balance + credit AS available, "
            "CASE WHEN spend_hour_key = ? THEN spend_hour ELSE 0 END AS hour, "
            "CASE WHEN spend_day_key = ? THEN spend_day ELSE 0 END AS day "
            "FROM billing_account WHERE extension = ?")
NEXT_SEQ = "SELECT next_seq FROM billing_call WHERE call_id = ?"


def affordable(amounts: Sequence[int], budget: int) -> int:
    """How many of the charges ``amounts`` (units, in order) ``budget`` pays."""
    total = 0
    for count, amount in enumerate(amounts):
        total += amount
        if total > budget:
            return count
    return len(amounts)


def _limited(row: dict, amounts: Sequence[int], guard: SpendGuard | None
             ) -> tuple[int, ChargeResult]:
    """The charges the account's ``row`` (:data:`HEADROOM`) pays, and what bounds them."""
    bounds = [(int(row["available"]), ChargeResult.REFUSED)]
    if guard is not None:
        if guard.hour_limit != NO_LIMIT:
            bounds.append((guard.hour_limit - int(row["hour"]), ChargeResult.LIMIT_HOUR))
        if guard.day_limit != NO_LIMIT:
            bounds.append((guard.day_limit - int(row["day"]), ChargeResult.LIMIT_DAY))
    counts = [(affordable(amounts, budget), why) for budget, why in bounds]
    return min(counts, key=lambda c: c[0])


def _charge_part(call_id: str, extension: str, seq: int, amounts: Sequence[int],
                 guard: SpendGuard | None) -> Work[tuple[int, ChargeResult]]:
    keys = [guard.hour_key, guard.day_key] if guard else [None, None]
    row = yield from one(HEADROOM, [*keys, extension])
    if row is None:
        return 0, ChargeResult.REFUSED
    count, why = _limited(row, amounts, guard)
    if count:  # raises _Refused only when the balance moved since the read (PostgreSQL)
        yield from _charge(call_id, extension, seq, sum(amounts[:count]), guard, count)
    return count, why


async def charge_part(call_id: str, extension: str, seq: int, amounts: Sequence[Decimal],
                      guard: SpendGuard | None = None) -> tuple[ChargeResult, int]:
    """The largest affordable number of the charges ``amounts`` from ``seq`` on, as one
    charge: (TAKEN, how many) or (why refused, 0)."""
    units = [to_units(a) for a in amounts]
    for _ in range(PART_TRIES):
        try:
            count, why = await store().run(_charge_part(call_id, extension, seq, units,
                                                        guard))
        except _Refused:
            continue  # the balance moved between the read and the UPDATE: read it again
        except IntegrityError:
            return ChargeResult.TAKEN, await taken_from(call_id, seq)
        return (ChargeResult.TAKEN, count) if count else (why, 0)
    return ChargeResult.REFUSED, 0


async def taken_from(call_id: str, seq: int) -> int:
    """How many charges from ``seq`` on a call holds (a retried block found taken)."""
    row = await store().run(one(NEXT_SEQ, [call_id]), atomic=False)
    return max(1, int(row["next_seq"]) - seq) if row else 1


def _open_charging(call_id: str, extension: str, name: str, rate: dict, units: Sequence[int],
                   guard: SpendGuard | None) -> Work[tuple[CallRow, int]]:
    row = yield from _open(call_id, extension, name, rate, True)
    if row.settled or row.next_seq != 0:  # opened before (a retry, a resumed call)
        return row, 0
    keys = [guard.hour_key, guard.day_key] if guard else [None, None]
    acc = yield from one(HEADROOM, [*keys, extension])
    count = _limited(acc, units, guard)[0] if acc else 0
    if count == 0:  # not even the first charge: the meter refuses it and cuts the call
        return row, 0
    yield from _charge(call_id, extension, 0, sum(units[:count]), guard, count)
    return CallRow(count, row.warned, row.settled), count


async def open_charging(call_id: str, extension: str, name: str, rate: dict,
                        amounts: Sequence[Decimal], guard: SpendGuard | None = None
                        ) -> tuple[CallRow, int] | None:
    """The billing row of an answered call opened and its first block (charges 0 … n-1, or
    the largest affordable number of them) taken, in ONE unit of work (one trip on SQLite):
    (the row, charges taken: 0 when it was opened before or not even charge 0 can be paid).
    None: refused all the same (the balance moved meanwhile, on PostgreSQL): nothing
    written, the caller opens the row on its own."""
    units = [to_units(a) for a in amounts]
    try:
        return await store().run(_open_charging(call_id, extension, name, rate, units,
                                                guard))
    except (_Refused, IntegrityError):
        return None

"""Atomic balance movements of calls: live charges and settlement, written ONCE.

A charge is ONE transaction: a ledger row keyed UNIQUE (call, seq), the call's billing
row marked (only while not settled) and ONE conditional UPDATE of the balance
(``balance - amount >= -credit``).  A retried charge with an existing (call, seq) never counts
twice; there is no read-modify-write in Python.

Each of them (opening a call, a charge, a settlement, the end of a call with its missing
charges) is one unit of work of :mod:`coovox.storage.work`: the same statements on SQLite
(one trip to the database thread) and PostgreSQL.  Billing writes only its own tables: the
time a settlement bills is kept in ``billing_call.billed_time`` (the call log shows it
through the ``coovox_call_fields`` hook), never written into the calls table.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError

from coovox.plugins.billing.rating import RateRule, cost, live_charges
from coovox.storage.money import from_units, to_units
from coovox.storage.work import Exec, Rows, Work, one, savepoint, store

log = logging.getLogger(__name__)


SETTLE_SEQ = -1  # the ledger row of a call's settlement (at most one per call)

# The statements of charges and settlements
INSERT_CALL = ("INSERT INTO billing_call (call_id, extension, name, rate, answered, charged, "
               "next_seq, cost, settled, talk_time, billed_time, local_date, warned) "
               "VALUES (?, ?, ?, ?, ?, 0, 0, NULL, ?, 0, 0, '', ?) "
               "ON CONFLICT (call_id) DO NOTHING")
INSERT_LEDGER = ("INSERT INTO billing_ledger (call_id, seq, extension, amount, kind) "
                 "VALUES (?, ?, ?, ?, ?)")
MARK_CHARGED = ("UPDATE billing_call SET charged = charged + ?, next_seq = CASE WHEN "
                "next_seq <= ? THEN ? ELSE next_seq END WHERE call_id = ? AND settled = ?")
PAY = ("UPDATE billing_account SET balance = balance - ? "
       "WHERE extension = ? AND balance - ? >= -credit")
MARK_SETTLED = ("UPDATE billing_call SET settled = ?, talk_time = ?, billed_time = ?, "
                "local_date = ?, answered = ? WHERE call_id = ? AND settled = ? "
                "RETURNING extension, charged, rate")
DEBIT = "UPDATE billing_account SET balance = balance - ? WHERE extension = ?"
AVAILABLE = "SELECT balance + credit AS available FROM billing_account WHERE extension = ?"
SET_BILLED = "UPDATE billing_call SET billed_time = ? WHERE call_id = ?"
SET_COST = "UPDATE billing_call SET cost = ?, charged = ? WHERE call_id = ?"
# The same conditional debit with the fraud guard's spend windows (billing_account's
# counters of the hour and the day, reset when the window changed): the charge is refused
# when it would pass either limit, exactly like when the balance cannot pay it.
PAY_GUARDED = (
    "UPDATE billing_account SET balance = balance - ?, "
    "spend_hour = CASE WHEN spend_hour_key = ? THEN spend_hour ELSE 0 END + ?, "
    "spend_hour_key = ?, "
    "spend_day = CASE WHEN spend_day_key = ? THEN spend_day ELSE 0 END + ?, spend_day_key = ? "
    "WHERE extension = ? AND balance - ? >= -credit "
    "AND CASE WHEN spend_hour_key = ? THEN spend_hour ELSE 0 END + ? <= ? "
    "AND CASE WHEN spend_day_key = ? THEN spend_day ELSE 0 END + ? <= ?")
# a settlement's refund (diff < 0) of charges taken ahead, given back to the spend windows
# they were counted in too (when the account's window is still the one of the last charge)
REFUND = ("UPDATE billing_account SET balance = balance - ?, "
          "spend_hour = CASE WHEN spend_hour_key <> ? THEN spend_hour "
          "WHEN spend_hour + ? > 0 THEN spend_hour + ? ELSE 0 END, "
          "spend_day = CASE WHEN spend_day_key <> ? THEN spend_day "
          "WHEN spend_day + ? > 0 THEN spend_day + ? ELSE 0 END WHERE extension = ?")
# why a guarded debit was refused (asked only then): the balance, or which limit
WHY_REFUSED = ("SELECT CASE WHEN balance - ? >= -credit THEN 1 ELSE 0 END AS funds, "
               "CASE WHEN spend_hour_key = ? THEN spend_hour ELSE 0 END + ? AS hour "
               "FROM billing_account WHERE extension = ?")
READ_CALL = ("SELECT extension, rate, next_seq, warned, settled FROM billing_call "
             "WHERE call_id = ?")


class ChargeResult(Enum):
    TAKEN = "taken"          # charged now (or found already charged: a retry)
    REFUSED = "refused"      # cannot be afforded: nothing written
    ENDED = "ended"          # the call is settled already: nothing written
    LIMIT_HOUR = "limit hour"  # would pass the spend limit of the hour: nothing written
    LIMIT_DAY = "limit day"  # would pass the spend limit of the day: nothing written


@dataclass(frozen=True)
class SpendGuard:
    """The fraud guard's spend windows of a charge: keys of the hour and day it falls in
    and the limits (units; :data:`fraud_rules.NO_LIMIT` when none)."""

    hour_key: int
    day_key: int
    hour_limit: int
    day_limit: int

    def pay_args(self, units: int, extension: str) -> list[Any]:
        return [units, self.hour_key, units, self.hour_key, self.day_key, units, self.day_key,
                extension, units, self.hour_key, units, self.hour_limit, self.day_key, units,
                self.day_limit]

    def why(self, row: dict[str, Any] | None) -> ChargeResult:
        """What refused a guarded debit, from the :data:`WHY_REFUSED` row."""
        if row is None or not int(row["funds"]):
            return ChargeResult.REFUSED
        return ChargeResult.LIMIT_HOUR if int(row["hour"]) > self.hour_limit else \
            ChargeResult.LIMIT_DAY


class _Refused(Exception):
    result = ChargeResult.REFUSED

    def __init__(self, result: ChargeResult = ChargeResult.REFUSED):
        super().__init__(result.value)
        self.result = result


class _Ended(Exception):
    pass


@dataclass(frozen=True)
class CallRow:
    """What metering needs of a call's billing row."""

    next_seq: int
    warned: bool
    settled: bool


# --- opening a call --------------------------------------------------------------------------


def _rate_json(rate: Any) -> str | None:
    return None if rate is None else json.dumps(rate, ensure_ascii=False)


def _rate_of(value: Any) -> dict[str, Any] | None:
    """The rate copy of a billing row as read by raw SQL (JSON text or already decoded)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _open(call_id: str, extension: str, name: str, rate: dict[str, Any] | None,
          answered: bool) -> Work[CallRow]:
    yield Exec(INSERT_CALL, [call_id, extension, name, _rate_json(rate), answered, False,
                             False])
    row = yield from one(READ_CALL, [call_id])
    assert row is not None
    return CallRow(int(row["next_seq"]), bool(row["warned"]), bool(row["settled"]))


async def open_call(call_id: str, extension: str, name: str, rate: dict[str, Any] | None,
                    answered: bool = True) -> CallRow:
    """The billing row of a call, created when absent (idempotent), and its state."""
    return await store().run(_open(call_id, extension, name, rate, answered))


async def create_call(call_id: str, extension: str, name: str, rate: dict[str, Any] | None,
                      answered: bool = True) -> None:
    """The billing row of a call (idempotent)."""
    await open_call(call_id, extension, name, rate, answered)


# --- charges ---------------------------------------------------------------------------------


def _charge(call_id: str, extension: str, seq: int, units: int,
            guard: SpendGuard | None = None, count: int = 1) -> Work[None]:
    """The statements of one charge (of ``count`` live charges ``seq`` … at once: charging
    ahead); raises :class:`_Ended` / :class:`_Refused` (the unit rolls back) or
    :class:`IntegrityError` when (call, seq) is taken already."""
    yield Exec(INSERT_LEDGER, [call_id, seq, extension, units, "charge"])
    if not (yield Exec(MARK_CHARGED, [units, seq, seq + count, call_id, False])):
        raise _Ended
    if not units:
        return
    if guard is None:
        if not (yield Exec(PAY, [units, extension, units])):
            raise _Refused
    elif not (yield Exec(PAY_GUARDED, guard.pay_args(units, extension))):
        why = yield from one(WHY_REFUSED, [units, guard.hour_key, units, extension])
        raise _Refused(guard.why(why))


async def charge(call_id: str, extension: str, seq: int, amount: Decimal,
                 guard: SpendGuard | None = None, count: int = 1) -> ChargeResult:
    """Take charge ``seq`` of a call (with ``count`` > 1: the ``count`` charges from
    ``seq`` on, ``amount`` in all, as ONE charge), all or nothing (and, with a ``guard``,
    only within the extension's spend limits of the hour and the day: the same UPDATE).

    The ledger row is inserted first: its UNIQUE (call, seq) key makes a retry of a charge
    already taken fail there (TAKEN, nothing else written) without a SELECT beforehand.
    """
    try:
        await store().run(_charge(call_id, extension, seq, to_units(amount), guard, count))
    except _Refused as exc:
        return exc.result
    except _Ended:
        return ChargeResult.ENDED
    except IntegrityError:
        return ChargeResult.TAKEN  # taken already (a retry) or meanwhile: counted once
    return ChargeResult.TAKEN


# --- settlement ------------------------------------------------------------------------------


def affordable_cost(rate: Any, cost_units: int, charged: int, available: int,
                    billed: float) -> tuple[int, float]:
    """(cost, billed time) a settlement may take when its difference ``cost - charged``
    exceeds what the account has left (``available`` = balance + credit): the call is billed
    as if it ended at the first boundary the money cannot pay (billing.md: a call cut for
    lack of money at boundary b is billed as if it ended at b), so the balance never goes
    below -credit and the cost stays the formula of the billed time."""
    budget = charged + max(0, available)
    rate = _rate_of(rate)
    if not rate:
        return min(cost_units, budget), billed
    rule = RateRule.from_json(rate)
    total = 0
    for due in live_charges(rule, billed):
        total += to_units(due.amount)
        if total > budget:
            billed = due.at
            break
    return to_units(cost(rule, billed)), billed


def _settle(call_id: str, cost_units: int, talk_time: float, local_date: str,
            answered: bool, billed_time: float | None,
            refund: SpendGuard | None = None) -> Work[int | None]:
    """The statements of a settlement; the difference settled in units (None: settled
    already).  A positive difference is the same conditional debit as a charge; a refund
    is also taken off the spend windows of ``refund`` (those of the call's last charge)."""
    billed = talk_time if billed_time is None else billed_time
    rows = yield Rows(MARK_SETTLED, [True, talk_time, billed, local_date, answered,
                                     call_id, False])
    if not rows:
        return None
    extension, charged, rate = rows[0]["extension"], int(rows[0]["charged"]), rows[0]["rate"]
    diff = cost_units - charged
    if diff > 0 and not (yield Exec(PAY, [diff, extension, diff])):
        row = yield from one(AVAILABLE, [extension])
        cost_units, cut = affordable_cost(rate, cost_units, charged,
                                          int(row["available"]) if row else 0, billed)
        log.info("call %s billed until %ss at its settlement: insufficient funds",
                 call_id, cut)
        diff = cost_units - charged
        if diff > 0 and not (yield Exec(PAY, [diff, extension, diff])):
            raise RuntimeError(f"call {call_id}: the settlement cannot be afforded")
        if diff < 0:
            yield Exec(DEBIT, [diff, extension])
        if cut != billed:
            yield Exec(SET_BILLED, [cut, call_id])
    elif diff < 0 and refund is not None:
        yield Exec(REFUND, [diff, refund.hour_key, diff, diff, refund.day_key, diff, diff,
                            extension])
    elif diff < 0:
        yield Exec(DEBIT, [diff, extension])
    if diff:
        yield Exec(INSERT_LEDGER, [call_id, SETTLE_SEQ, extension, diff, "settle"])
        log.info("call %s settled with a difference of %s", call_id, from_units(diff))
    yield Exec(SET_COST, [cost_units, cost_units, call_id])
    return diff


async def settle(call_id: str, cost: Decimal, talk_time: float, local_date: str,
                 answered: bool, billed_time: float | None = None) -> Decimal | None:
    """Set the call's cost and settle the difference with what was charged live, in ONE
    transaction.  Returns the difference settled, or None when already settled."""
    diff = await store().run(_settle(call_id, to_units(cost), talk_time, local_date,
                                     answered, billed_time))
    return None if diff is None else from_units(diff)


# --- the end of a call -----------------------------------------------------------------------


def _charge_missing(call_id: str, extension: str, rule: RateRule, next_seq: int,
                    billed: float, guard: SpendGuard | None = None) -> Work[float]:
    """The live charges never taken, each under a savepoint; returns the billed time, ending
    at the first boundary the balance (or a spend limit) cannot pay."""
    for due in live_charges(rule, billed):
        if due.seq < next_seq:
            continue
        _, exc = yield from savepoint(
            _charge(call_id, extension, due.seq, to_units(due.amount), guard), "charge")
        if isinstance(exc, _Refused):
            log.info("call %s billed until %ss: %s", call_id, due.at, exc.result.value)
            return due.at
        if isinstance(exc, _Ended):
            break
        if exc is not None and not isinstance(exc, IntegrityError):
            raise exc
        # IntegrityError: taken already, counted once
    return billed


def _end(call_id: str, extension: str, name: str, talk: float, billed: float,
         local_date: str, answered: bool, guard: SpendGuard | None = None,
         refund: SpendGuard | None = None) -> Work[int | None]:
    row = yield from one(READ_CALL, [call_id])
    if row is None:  # never metered: an unbilled call, kept for statistics
        yield from _open(call_id, extension, name, None, answered)
        return (yield from _settle(call_id, 0, talk, local_date, answered, None))
    rate = _rate_of(row["rate"])
    amount = 0
    if rate and answered:
        rule = RateRule.from_json(rate)
        if not row["settled"]:
            billed = yield from _charge_missing(call_id, row["extension"], rule,
                                                int(row["next_seq"]), billed, guard)
        amount = to_units(cost(rule, billed))
    return (yield from _settle(call_id, amount, talk, local_date, answered, billed, refund))


async def end_call(call_id: str, extension: str, name: str, talk: float, billed: float,
                   local_date: str, answered: bool, guard: SpendGuard | None = None,
                   refund: SpendGuard | None = None) -> Decimal | None:
    """The charges a call owes that were never taken, then its settlement, in ONE
    transaction (one trip on SQLite).  Returns the difference settled (None when settled
    already); ``refund``: the spend windows of its last charge (see :func:`_settle`)."""
    diff = await store().run(_end(call_id, extension, name, talk, billed, local_date,
                                  answered, guard, refund))
    return None if diff is None else from_units(diff)


async def available(extension: str) -> Decimal:
    """balance + credit of an extension (0 when it has no account)."""
    row = await store().run(one("SELECT balance, credit FROM billing_account "
                                "WHERE extension = ?", [extension]), atomic=False)
    if row is None:
        return Decimal("0.0000")
    return from_units(int(row["balance"]) + int(row["credit"]))

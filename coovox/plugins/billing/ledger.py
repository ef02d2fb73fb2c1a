"""Atomic balance movements of calls: live charges and settlement (SQLite and PostgreSQL).

A charge is ONE transaction: a ledger row keyed UNIQUE (call, seq), the call's billing
row marked (only while not settled) and ONE conditional UPDATE of the balance
(``balance - amount >= -credit``).  A retried charge with an existing (call, seq) never counts
twice; there is no read-modify-write in Python.

On SQLite each unit of work (a charge, a settlement, opening or ending a call) is ONE trip
to the database thread (:mod:`coovox.storage.direct`); on PostgreSQL (or inside an open
Tortoise transaction) the same statements go through Tortoise.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from coovox.plugins.billing import sql
from coovox.plugins.billing.rating import RateRule, cost, live_charges
from coovox.storage import direct
from coovox.storage.money import from_units, to_units

log = logging.getLogger(__name__)


SETTLE_SEQ = -1  # the ledger row of a call's settlement (at most one per call)

# The statements of charges and settlements, the same on both paths
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
CUT_BILLED_TIME = ("UPDATE calls_call SET billed_talk_time = ? WHERE id = ? AND "
                   "(billed_talk_time IS NULL OR billed_talk_time > ?)")
SET_COST = "UPDATE billing_call SET cost = ?, charged = ? WHERE call_id = ?"
BILLED_TIME = ("UPDATE calls_call SET billed_talk_time = ? WHERE id = ? AND "
               "billed_talk_time > ?")
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

    def why(self, row: Any) -> ChargeResult:
        """What refused a guarded debit, from the :data:`WHY_REFUSED` row."""
        if row is None or not int(row[0]):
            return ChargeResult.REFUSED
        return ChargeResult.LIMIT_HOUR if int(row[1]) > self.hour_limit else \
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


def _insert_call_on(conn: sqlite3.Connection, call_id: str, extension: str, name: str,
                    rate: dict[str, Any] | None, answered: bool) -> None:
    from coovox.plugins.billing.models import BillingCall

    fields = direct.with_defaults(BillingCall, {
        "call_id": call_id, "extension": extension, "name": name, "rate": rate,
        "answered": answered})
    columns, values = direct.db_values(BillingCall, fields)
    conn.execute(direct.insert_sql(BillingCall, columns) + " ON CONFLICT (call_id) DO NOTHING",
                 values)


async def open_call(call_id: str, extension: str, name: str, rate: dict[str, Any] | None,
                    answered: bool = True) -> CallRow:
    """The billing row of a call, created when absent (idempotent), and its state."""
    from coovox.plugins.billing.models import BillingCall

    db = direct.client()
    if db is not None:
        def job(conn: sqlite3.Connection) -> CallRow:
            _insert_call_on(conn, call_id, extension, name, rate, answered)
            row = conn.execute(READ_CALL, (call_id,)).fetchone()
            return CallRow(int(row["next_seq"]), bool(row["warned"]), bool(row["settled"]))
        return await direct.run(db, job)
    found = await BillingCall.get_or_none(call_id=call_id)
    if found is None:
        try:
            found = await BillingCall.create(call_id=call_id, extension=extension, name=name,
                                             rate=rate, answered=answered)
        except IntegrityError:  # created meanwhile (a resumed call)
            found = await BillingCall.get(call_id=call_id)
    return CallRow(found.next_seq, found.warned, found.settled)


async def create_call(call_id: str, extension: str, name: str, rate: dict[str, Any] | None,
                      answered: bool = True) -> None:
    """The billing row of a call (idempotent)."""
    await open_call(call_id, extension, name, rate, answered)


# --- charges ---------------------------------------------------------------------------------


def _charge_on(conn: sqlite3.Connection, call_id: str, extension: str, seq: int,
               units: int, guard: SpendGuard | None = None) -> None:
    """The statements of one charge; raises :class:`_Ended` / :class:`_Refused` (the caller
    rolls back) or ``sqlite3.IntegrityError`` when (call, seq) is taken already."""
    conn.execute(INSERT_LEDGER, (call_id, seq, extension, units, "charge"))
    if not conn.execute(MARK_CHARGED, (units, seq, seq + 1, call_id, False)).rowcount:
        raise _Ended
    if not units:
        return
    if guard is None:
        if not conn.execute(PAY, (units, extension, units)).rowcount:
            raise _Refused
    elif not conn.execute(PAY_GUARDED, guard.pay_args(units, extension)).rowcount:
        raise _Refused(guard.why(conn.execute(
            WHY_REFUSED, (units, guard.hour_key, units, extension)).fetchone()))


async def _charge_tortoise(call_id: str, extension: str, seq: int, units: int,
                           guard: SpendGuard | None = None) -> None:
    async with in_transaction() as db:
        await sql.execute(INSERT_LEDGER, [call_id, seq, extension, units, "charge"], db)
        if not await sql.execute(MARK_CHARGED, [units, seq, seq + 1, call_id, False], db):
            raise _Ended
        if not units:
            return
        if guard is None:
            if not await sql.execute(PAY, [units, extension, units], db):
                raise _Refused
        elif not await sql.execute(PAY_GUARDED, guard.pay_args(units, extension), db):
            rows = await sql.fetch(WHY_REFUSED, [units, guard.hour_key, units, extension], db)
            raise _Refused(guard.why(
                (rows[0]["funds"], rows[0]["hour"]) if rows else None))


async def charge(call_id: str, extension: str, seq: int, amount: Decimal,
                 guard: SpendGuard | None = None) -> ChargeResult:
    """Take charge ``seq`` of a call, all or nothing (and, with a ``guard``, only within
    the extension's spend limits of the hour and the day: the same UPDATE).

    The ledger row is inserted first: its UNIQUE (call, seq) key makes a retry of a charge
    already taken fail there (TAKEN, nothing else written) without a SELECT beforehand.
    """
    units = to_units(amount)
    db = direct.client()
    try:
        if db is not None:
            await direct.run(db, lambda conn: _charge_on(conn, call_id, extension, seq, units,
                                                         guard))
        else:
            await _charge_tortoise(call_id, extension, seq, units, guard)
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
    if isinstance(rate, str | bytes):
        rate = json.loads(rate)
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


def _settle_on(conn: sqlite3.Connection, call_id: str, cost_units: int, talk_time: float,
               local_date: str, answered: bool, billed_time: float | None) -> int | None:
    """The statements of a settlement; the difference settled in units (None: settled
    already).  A positive difference is the same conditional debit as a charge."""
    billed = talk_time if billed_time is None else billed_time
    rows = conn.execute(MARK_SETTLED, (True, talk_time, billed, local_date, answered,
                                       call_id, False)).fetchall()
    if not rows:
        return None
    extension, charged, rate = rows[0][0], int(rows[0][1]), rows[0][2]
    diff = cost_units - charged
    if diff > 0 and not conn.execute(PAY, (diff, extension, diff)).rowcount:
        row = conn.execute(AVAILABLE, (extension,)).fetchone()
        cost_units, cut = affordable_cost(rate, cost_units, charged,
                                          int(row[0]) if row else 0, billed)
        log.info("call %s billed until %ss at its settlement: insufficient funds",
                 call_id, cut)
        diff = cost_units - charged
        if diff > 0 and not conn.execute(PAY, (diff, extension, diff)).rowcount:
            raise RuntimeError(f"call {call_id}: the settlement cannot be afforded")
        if diff < 0:
            conn.execute(DEBIT, (diff, extension))
        if cut != billed:
            billed = billed_time = cut
            conn.execute(SET_BILLED, (cut, call_id))
    elif diff < 0:
        conn.execute(DEBIT, (diff, extension))
    if diff:
        conn.execute(INSERT_LEDGER, (call_id, SETTLE_SEQ, extension, diff, "settle"))
        log.info("call %s settled with a difference of %s", call_id, from_units(diff))
    conn.execute(SET_COST, (cost_units, cost_units, call_id))
    if billed_time is not None:  # the call record shows the time billed: less than
        # recorded when a boundary passed unmetered could not be paid
        conn.execute(BILLED_TIME, (billed_time, call_id, billed_time))
    return diff


async def _settle_tortoise(call_id: str, cost_units: int, talk_time: float, local_date: str,
                           answered: bool, billed_time: float | None) -> int | None:
    billed = talk_time if billed_time is None else billed_time
    async with in_transaction() as db:
        rows = await sql.fetch(MARK_SETTLED, [True, talk_time, billed, local_date, answered,
                                              call_id, False], db)
        if not rows:
            return None
        extension, charged = rows[0]["extension"], int(rows[0]["charged"])
        diff = cost_units - charged
        if diff > 0 and not await sql.execute(PAY, [diff, extension, diff], db):
            found = await sql.fetch(AVAILABLE, [extension], db)
            cost_units, cut = affordable_cost(
                rows[0]["rate"], cost_units, charged,
                int(found[0]["available"]) if found else 0, billed)
            log.info("call %s billed until %ss at its settlement: insufficient funds",
                     call_id, cut)
            diff = cost_units - charged
            if diff > 0 and not await sql.execute(PAY, [diff, extension, diff], db):
                raise RuntimeError(f"call {call_id}: the settlement cannot be afforded")
            if diff < 0:
                await sql.execute(DEBIT, [diff, extension], db)
            if cut != billed:
                billed = billed_time = cut
                await sql.execute(SET_BILLED, [cut, call_id], db)
                await sql.execute(CUT_BILLED_TIME, [cut, call_id, cut], db)
        elif diff < 0:
            await sql.execute(DEBIT, [diff, extension], db)
        if diff:
            await sql.execute(INSERT_LEDGER, [call_id, SETTLE_SEQ, extension, diff, "settle"],
                              db)
            log.info("call %s settled with a difference of %s", call_id, from_units(diff))
        await sql.execute(SET_COST, [cost_units, cost_units, call_id], db)
        if billed_time is not None:
            await sql.execute(BILLED_TIME, [billed_time, call_id, billed_time], db)
    return diff


async def settle(call_id: str, cost: Decimal, talk_time: float, local_date: str,
                 answered: bool, billed_time: float | None = None) -> Decimal | None:
    """Set the call's cost and settle the difference with what was charged live, in ONE
    transaction.  Returns the difference settled, or None when already settled."""
    args = (call_id, to_units(cost), talk_time, local_date, answered, billed_time)
    db = direct.client()
    if db is not None:
        diff = await direct.run(db, lambda conn: _settle_on(conn, *args))
    else:
        diff = await _settle_tortoise(*args)
    return None if diff is None else from_units(diff)


# --- the end of a call in one trip (SQLite) --------------------------------------------------


def _charge_missing_on(conn: sqlite3.Connection, call_id: str, extension: str,
                       rule: RateRule, next_seq: int, billed: float,
                       guard: SpendGuard | None = None) -> float:
    """The live charges never taken, each under a savepoint; returns the billed time, ending
    at the first boundary the balance cannot pay."""
    for due in live_charges(rule, billed):
        if due.seq < next_seq:
            continue
        conn.execute("SAVEPOINT charge")
        try:
            _charge_on(conn, call_id, extension, due.seq, to_units(due.amount), guard)
        except (_Refused, _Ended, sqlite3.IntegrityError) as exc:
            conn.execute("ROLLBACK TO charge")
            conn.execute("RELEASE charge")
            if isinstance(exc, _Refused):
                log.info("call %s billed until %ss: %s", call_id, due.at, exc.result.value)
                return due.at
            if isinstance(exc, _Ended):
                break
            continue  # taken already: counted once
        conn.execute("RELEASE charge")
    return billed


def _end_on(conn: sqlite3.Connection, call_id: str, extension: str, name: str, talk: float,
            billed: float, local_date: str, answered: bool,
            guard: SpendGuard | None = None) -> int | None:
    from coovox.plugins.billing.models import BillingCall

    row = conn.execute(READ_CALL, (call_id,)).fetchone()
    if row is None:  # never metered: an unbilled call, kept for statistics
        _insert_call_on(conn, call_id, extension, name, None, answered)
        return _settle_on(conn, call_id, 0, talk, local_date, answered, None)
    rate = BillingCall._meta.fields_map["rate"].to_python_value(row["rate"])
    amount = 0
    if rate and answered:
        rule = RateRule.from_json(rate)
        if not row["settled"]:
            billed = _charge_missing_on(conn, call_id, row["extension"], rule,
                                        int(row["next_seq"]), billed, guard)
        amount = to_units(cost(rule, billed))
    return _settle_on(conn, call_id, amount, talk, local_date, answered, billed)


def one_trip() -> bool:
    """True when units of work run in one trip (SQLite outside a transaction)."""
    return direct.client() is not None


async def end_call(call_id: str, extension: str, name: str, talk: float, billed: float,
                   local_date: str, answered: bool,
                   guard: SpendGuard | None = None) -> Decimal | None:
    """SQLite only (see :func:`one_trip`): the charges a call owes that were never taken,
    then its settlement, in ONE transaction and one trip.  Returns the difference settled
    (None when settled already)."""
    db = direct.client()
    if db is None:
        raise RuntimeError("end_call needs SQLite outside a transaction")
    diff = await direct.run(db, lambda conn: _end_on(conn, call_id, extension, name, talk,
                                                     billed, local_date, answered, guard))
    return None if diff is None else from_units(diff)


async def available(extension: str) -> Decimal:
    """balance + credit of an extension (0 when it has no account)."""
    row = await sql.fetch_one("SELECT balance, credit FROM billing_account WHERE extension = ?",
                              [extension])
    if row is None:
        return Decimal("0.0000")
    return from_units(int(row["balance"]) + int(row["credit"]))

"""Atomic balance movements of calls: live charges and settlement (SQLite and PostgreSQL).

A charge is ONE transaction: a ledger row keyed UNIQUE (call, seq), the call's billing
row marked (only while not settled) and ONE conditional UPDATE of the balance
(``balance - amount >= -credit``).  A retried charge with an existing (call, seq) never counts
twice; there is no read-modify-write in Python.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from coovox.plugins.billing import sql
from coovox.storage.money import from_units, to_units

log = logging.getLogger(__name__)


SETTLE_SEQ = -1  # the ledger row of a call's settlement (at most one per call)


class ChargeResult(Enum):
    TAKEN = "taken"          # charged now (or found already charged: a retry)
    REFUSED = "refused"      # cannot be afforded: nothing written
    ENDED = "ended"          # the call is settled already: nothing written


class _Refused(Exception):
    pass


class _Ended(Exception):
    pass


async def create_call(call_id: str, extension: str, name: str, rate: dict[str, Any] | None,
                      answered: bool = True) -> None:
    """The billing row of a call (idempotent)."""
    from coovox.plugins.billing.models import BillingCall

    if await BillingCall.exists(call_id=call_id):
        return
    try:
        await BillingCall.create(call_id=call_id, extension=extension, name=name, rate=rate,
                                 answered=answered)
    except IntegrityError:
        pass  # created meanwhile (a resumed call)


async def charge(call_id: str, extension: str, seq: int, amount: Decimal) -> ChargeResult:
    """Take charge ``seq`` of a call, all or nothing.

    The ledger row is inserted first: its UNIQUE (call, seq) key makes a retry of a charge
    already taken fail there (TAKEN, nothing else written) without a SELECT beforehand.
    """
    units = to_units(amount)
    try:
        async with in_transaction() as db:
            await sql.execute(
                "INSERT INTO billing_ledger (call_id, seq, extension, amount, kind) "
                "VALUES (?, ?, ?, ?, 'charge')", [call_id, seq, extension, units], db)
            marked = await sql.execute(
                "UPDATE billing_call SET charged = charged + ?, next_seq = CASE WHEN "
                "next_seq <= ? THEN ? ELSE next_seq END WHERE call_id = ? AND settled = ?",
                [units, seq, seq + 1, call_id, False], db)
            if not marked:
                raise _Ended
            if units:
                paid = await sql.execute(
                    "UPDATE billing_account SET balance = balance - ? "
                    "WHERE extension = ? AND balance - ? >= -credit", [units, extension, units],
                    db)
                if not paid:
                    raise _Refused
    except _Refused:
        return ChargeResult.REFUSED
    except _Ended:
        return ChargeResult.ENDED
    except IntegrityError:
        return ChargeResult.TAKEN  # taken already (a retry) or meanwhile: counted once
    return ChargeResult.TAKEN


async def settle(call_id: str, cost: Decimal, talk_time: float, local_date: str,
                 answered: bool, billed_time: float | None = None) -> Decimal | None:
    """Set the call's cost and settle the difference with what was charged live, in ONE
    transaction.  Returns the difference settled, or None when already settled."""
    cost_units = to_units(cost)
    async with in_transaction() as db:
        marked = await sql.execute(
            "UPDATE billing_call SET settled = ?, talk_time = ?, billed_time = ?, local_date = ?, "
            "answered = ? WHERE call_id = ? AND settled = ?",
            [True, talk_time, talk_time if billed_time is None else billed_time, local_date,
             answered, call_id, False], db)
        if not marked:
            return None
        row = (await sql.fetch("SELECT extension, charged FROM billing_call "
                               "WHERE call_id = ?", [call_id], db))[0]
        diff = cost_units - int(row["charged"])
        if diff:
            await sql.execute("UPDATE billing_account SET balance = balance - ? "
                              "WHERE extension = ?", [diff, row["extension"]], db)
            await sql.execute(
                "INSERT INTO billing_ledger (call_id, seq, extension, amount, kind) "
                "VALUES (?, ?, ?, ?, 'settle')", [call_id, SETTLE_SEQ, row["extension"], diff], db)
            log.info("call %s settled with a difference of %s", call_id, from_units(diff))
        await sql.execute("UPDATE billing_call SET cost = ?, charged = ? WHERE call_id = ?",
                          [cost_units, cost_units, call_id], db)
        if billed_time is not None:  # the call record shows the time billed: less than
            # recorded when a boundary passed unmetered could not be paid
            await sql.execute("UPDATE calls_call SET billed_talk_time = ? WHERE id = ? AND "
                              "billed_talk_time > ?", [billed_time, call_id, billed_time], db)
    return from_units(diff)


async def available(extension: str) -> Decimal:
    """balance + credit of an extension (0 when it has no account)."""
    rows = await sql.fetch("SELECT balance, credit FROM billing_account WHERE extension = ?",
                           [extension])
    if not rows:
        return Decimal("0.0000")
    return from_units(int(rows[0]["balance"]) + int(rows[0]["credit"]))

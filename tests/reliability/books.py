"""The money checker every reliability scenario ends with.

``book_problems()`` = the product's ``coovox check`` (:func:`check_invariants`) plus what a
test can also verify from the call log: every settled call's cost is the formula for its
billed talk time and its rate copy, no call settled twice, no call record duplicated or
left active.  ``assert_books()`` fails with the list of problems.
"""

from __future__ import annotations

from decimal import Decimal

from coovox.plugins.billing import sql
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.rating import RateRule, cost
from coovox.storage.money import from_units


async def formula_problems() -> list[str]:
    """Settled calls whose cost is not ``cost(rate copy, billed talk time)``: the time
    billing's settlement billed (its own ``billing_call.billed_time``), never more than the
    call record's billed time (which the call events round to the millisecond)."""
    problems: list[str] = []
    rows = await sql.fetch(
        "SELECT b.call_id AS call_id, b.rate AS rate, b.cost AS cost, b.answered AS answered, "
        "b.talk_time AS b_talk, b.billed_time AS billed, c.talk_time AS talk, "
        "c.billed_talk_time AS c_billed, "
        "c.status AS status FROM billing_call b LEFT JOIN calls_call c ON c.id = b.call_id "
        "WHERE b.settled = ?", [True])
    for r in rows:
        charged = from_units(int(r["cost"] or 0))
        rate = r["rate"]
        if isinstance(rate, str):
            import json

            rate = json.loads(rate)
        if not rate:
            if charged:
                problems.append(f"call {r['call_id']}: cost {charged} without a rate")
            continue
        rule = RateRule.from_json(rate)
        if r["status"] is None:  # metered without a call record (billing-only tests)
            if charged > cost(rule, float(r["b_talk"] or 0)):
                problems.append(f"call {r['call_id']}: cost {charged} above the formula")
            continue
        recorded = r["c_billed"] if r["c_billed"] is not None else r["talk"]
        seconds = r["billed"] if r["status"] == "answered" else recorded
        if r["status"] == "answered" and float(seconds) > float(recorded or 0) + 0.0015:
            problems.append(f"call {r['call_id']}: billed {seconds}s, more than the "
                            f"{recorded}s of its record")
        expected = cost(rule, float(seconds or 0)) if r["status"] == "answered" else Decimal(0)
        if charged != expected:
            problems.append(f"call {r['call_id']}: cost {charged} but the formula gives "
                            f"{expected} for {seconds}s")
    return problems


async def record_problems(*, allow_active: bool = False) -> list[str]:
    """No call settled twice, no call record without an end (unless ``allow_active``)."""
    problems = [f"call {r['call_id']}: {r['n']} settlements" for r in await sql.fetch(
        "SELECT call_id, COUNT(*) AS n FROM billing_ledger WHERE kind = 'settle' "
        "GROUP BY call_id HAVING COUNT(*) > 1")]
    problems += [f"call {r['call_id']}: billed but its call is still active" for r in
                 await sql.fetch("SELECT b.call_id AS call_id FROM billing_call b JOIN "
                                 "calls_call c ON c.id = b.call_id WHERE b.settled = ? AND "
                                 "c.status = 'active'", [True])]
    if not allow_active:
        problems += [f"call {r['id']}: never finished" for r in
                     await sql.fetch("SELECT id FROM calls_call WHERE status = 'active'")]
    problems += [f"call {r['id']}: finished but never settled by billing" for r in
                 await sql.fetch("SELECT c.id AS id FROM calls_call c JOIN billing_call b "
                                 "ON b.call_id = c.id WHERE c.status <> 'active' AND "
                                 "b.settled = ?", [False])]
    return problems


async def book_problems(*, allow_active: bool = False) -> list[str]:
    return (await check_invariants() + await formula_problems()
            + await record_problems(allow_active=allow_active))


async def assert_books(*, allow_active: bool = False) -> None:
    problems = await book_problems(allow_active=allow_active)
    assert problems == [], "\n".join(problems)


async def books_settled() -> bool:
    """True when no call is active and billing has settled every finished call (billing
    settles just after the call record is finished: scenarios wait for this)."""
    rows = await sql.fetch(
        "SELECT COUNT(*) AS n FROM calls_call c LEFT JOIN billing_call b ON b.call_id = c.id "
        "WHERE c.status = 'active' OR b.settled = ?", [False])
    return int(rows[0]["n"]) == 0

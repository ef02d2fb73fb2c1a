"""``coovox check``: the money invariants of billing, as a list of problems."""

from __future__ import annotations

import json
from typing import Any

from coovox.plugins.billing import sql
from coovox.plugins.billing.rating import RateRule, cost
from coovox.storage.money import from_units


async def check_invariants() -> list[str]:
    """Problems found (empty when the books are right):

    - every account: balance = Σ recharges − Σ ledger (the calls' costs and live charges);
    - no balance below −credit;
    - every settled call: Σ ledger of the call = its cost = cost(billed talk time);
    - no ledger row without a billing call.
    """
    problems: list[str] = []
    rows = await sql.fetch(
        "SELECT a.extension AS extension, a.balance AS balance, a.credit AS credit, "
        "(SELECT COALESCE(SUM(r.amount), 0) FROM billing_recharge r "
        " WHERE r.extension = a.extension) AS recharged, "
        "(SELECT COALESCE(SUM(l.amount), 0) FROM billing_ledger l "
        " WHERE l.extension = a.extension) AS spent FROM billing_account a")
    for r in rows:
        balance, expected = int(r["balance"]), int(r["recharged"]) - int(r["spent"])
        if balance != expected:
            problems.append(f"extension {r['extension']}: balance {from_units(balance)} but "
                            f"recharges - costs = {from_units(expected)}")
        if balance < -int(r["credit"]):
            problems.append(f"extension {r['extension']}: balance {from_units(balance)} is "
                            f"below -credit ({from_units(-int(r['credit']))})")
    calls = await sql.fetch(
        "SELECT c.call_id AS call_id, c.cost AS cost, c.rate AS rate, c.billed_time AS billed, "
        "(SELECT COALESCE(SUM(l.amount), 0) FROM billing_ledger l "
        " WHERE l.call_id = c.call_id) AS ledger FROM billing_call c WHERE c.settled = ?",
        [True])
    for c in calls:
        if int(c["cost"] or 0) != int(c["ledger"]):
            problems.append(f"call {c['call_id']}: cost {from_units(int(c['cost'] or 0))} but "
                            f"ledger sums to {from_units(int(c['ledger']))}")
        rate = json.loads(c["rate"]) if isinstance(c["rate"], str) else c["rate"]
        if rate:
            expected = cost(RateRule.from_json(rate), float(c["billed"] or 0))
            if from_units(int(c["cost"] or 0)) != expected:
                problems.append(f"call {c['call_id']}: cost {from_units(int(c['cost'] or 0))} "
                                f"but the rate gives {expected}")
    orphans = await sql.fetch(
        "SELECT DISTINCT l.call_id AS call_id FROM billing_ledger l LEFT JOIN billing_call c "
        "ON c.call_id = l.call_id WHERE c.call_id IS NULL")
    problems += [f"ledger rows of unknown call {o['call_id']}" for o in orphans]
    return problems


def add_command(subparsers: Any) -> None:
    p = subparsers.add_parser("check", help="check the billing money invariants")
    p.set_defaults(handler=_run)


async def _run(coovox: Any, args: Any) -> int:
    problems = await check_invariants()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) found")
        return 1
    print("billing invariants hold")
    return 0

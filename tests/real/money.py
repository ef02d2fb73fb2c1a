"""Money helpers shared by the real-Asterisk scenarios: the formula's cost of a record and
waiting for billing's settlement (a record is finished a moment before billing settles it;
until then the API shows the charges taken so far as its cost)."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal
from typing import Any

from tests.real.kit import RealStack

CLOCK_SLACK = 0.5  # Asterisk's event times vs CooVox's and the test's clocks (one machine)


def expected_costs(row: dict[str, Any], rate: dict[str, Any]) -> set[Decimal]:
    """The formula's cost for the record's billed talk time: initial cost + one unit per
    begun unit of ``rate``.  The API rounds times to the millisecond, so a talk time that
    close to a unit's boundary may have begun one more unit: both costs are then possible."""
    talk = row["billed_talk_time"] if row["billed_talk_time"] is not None else row["talk_time"]
    if not talk:
        return {Decimal("0")}
    unit = rate.get("unit", 1) or 1
    return {Decimal(rate["initial_cost"]) + Decimal(rate["rate"]) * math.ceil(t / unit)
            for t in (talk - 0.0005, talk + 0.0005) if t > 0}


async def settled_calls(stack: RealStack, rate: dict[str, Any], n: int = 1, *,
                        timeout: float = 30, **match: Any) -> list[dict[str, Any]]:
    """The ``n`` records matching ``match`` once finished AND settled at the formula's
    cost; oldest first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await stack.api.finished_calls(n, timeout=max(1.0, deadline - loop.time()),
                                              **match)
        if all(Decimal(r["cost"] or "0") in expected_costs(r, rate) for r in rows):
            return rows
        if loop.time() > deadline:
            raise AssertionError(f"cost is not the formula's (or never settled): {rows}")
        await asyncio.sleep(0.1)


async def settled_call(stack: RealStack, rate: dict[str, Any], **match: Any) -> dict[str, Any]:
    (row,) = await settled_calls(stack, rate, 1, **match)
    return row


async def balance(stack: RealStack, ext: str = "100") -> Decimal:
    return Decimal((await stack.api.account(ext))["balance"])

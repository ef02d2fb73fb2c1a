"""Point 5: hypothesis drives interleavings of answers, rate boundaries, recharges, edits and
hangups of several calls on ONE extension (steps run concurrently in small batches).

After every batch the balance is >= -credit; at the end every call cost exactly the formula
for its billed talk time and its rate copy, and the books balance (``assert_books``).
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coovox.models import set_setting
from coovox.plugins.billing import services
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from coovox.plugins.billing.rating import RateRule, cost
from coovox.plugins.calls.models import Extension
from tests.reliability.books import assert_books
from tests.support.billing import NOON, FakeControl, call_info
from tests.support.reliability import heavy

EXAMPLES = 120 if heavy() else 25
_ext = itertools.count(500)

RATE = {"prefix": "9", "initial_cost": "0.05", "initial_time": 2, "rate": "0.02", "unit": 3,
        "extensions": "all"}

step = st.one_of(
    st.tuples(st.just("answer")),
    st.tuples(st.just("talk"), st.integers(0, 5), st.integers(1, 8)),
    st.tuples(st.just("recharge"), st.sampled_from(["0.01", "0.03", "0.1"])),
    st.tuples(st.just("credit"), st.sampled_from(["0.02", "0.05"])),
    st.tuples(st.just("rate"), st.sampled_from(["0.01", "0.04"])),
    st.tuples(st.just("lock"), st.booleans()),
    st.tuples(st.just("hangup"), st.integers(0, 5)),
)
batches = st.lists(st.lists(step, min_size=1, max_size=3), min_size=1, max_size=10)


class Scenario:
    """The calls of one extension, driven through the billing Meter and a FakeControl."""

    def __init__(self, meter, ext: str) -> None:
        self.meter, self.ext = meter, ext
        self.control = FakeControl()
        self.calls: list[str] = []
        self.live: dict[str, object] = {}
        self.credit = Decimal(0)
        self.rate_id = 0

    async def run(self, op: tuple) -> None:
        kind = op[0]
        if kind == "answer":
            call_id = f"{self.ext}-{len(self.calls)}"
            self.calls.append(call_id)
            info = call_info(call_id, self.ext)
            decision = await self.meter.gate(info)
            if decision is not None and decision.refuse:
                await self.meter.ended(info, {"status": "refused", "talk_time": 0})
                return
            self.live[call_id] = info
            await self.meter.answered(info, self.control, decision, False)
        elif kind == "talk":
            call_id = self._live(op[1])
            if call_id:
                now = self.control.talk.get(call_id, 0.0)
                await self.control.run_until(call_id, now + op[2])
        elif kind == "recharge":
            await services.recharge([self.ext], op[1], "test", NOON)
        elif kind == "credit":  # credit only grows: lowering it is an operator's choice
            self.credit += Decimal(op[1])
            await services.update_accounts([self.ext], {"credit": self.credit})
        elif kind == "rate":
            await services.update_rate(self.rate_id, {"rate": op[1]})
        elif kind == "lock":
            await services.update_accounts([self.ext],
                                           {"status": "locked" if op[1] else "unlocked"})
        elif kind == "hangup":
            call_id = self._live(op[1])
            if call_id:
                await self.hangup(call_id)

    def _live(self, index: int) -> str | None:
        live = list(self.live)
        return live[index % len(live)] if live else None

    async def hangup(self, call_id: str) -> None:
        info = self.live.pop(call_id)
        talk = self.control.talk.get(call_id, 0.0)
        cut = self.control.cut_of(call_id)
        record = {"status": "answered", "talk_time": talk + 0.5}
        if cut:
            record.update(billed_talk_time=cut[2], talk_time=cut[2] + 0.02)
        await self.meter.ended(info, record)


async def _batch(scenario: Scenario, ops: list[tuple]) -> None:
    """Run a batch concurrently, at most one talk/hangup per call."""
    seen: set[str | None] = set()
    chosen = []
    for op in ops:
        if op[0] in ("talk", "hangup"):
            target = scenario._live(op[1])
            if target in seen:
                continue
            seen.add(target)
        chosen.append(op)
    await asyncio.gather(*(scenario.run(op) for op in chosen))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=batches)
async def test_no_interleaving_loses_doubles_or_overdraws(coovox, meter, plan):
    ext = str(next(_ext))
    await set_setting("billing", "active", True)
    await Extension.create(number=ext, name=f"Ext {ext}")
    await services.update_accounts([ext], {"enabled": True, "credit": Decimal(0)})
    await services.recharge([ext], "0.1", "test", NOON)
    scenario = Scenario(meter, ext)
    scenario.rate_id = (await services.create_rate({**RATE, "extensions": ext})).id
    for ops in plan:
        await _batch(scenario, ops)
        acc = await Account.get(extension=ext)
        assert acc.balance >= -acc.credit, f"{ext}: {acc.balance} below -{acc.credit}"
    for call_id in list(scenario.live):
        await scenario.hangup(call_id)

    for call_id in scenario.calls:
        row = await BillingCall.get_or_none(call_id=call_id)
        assert row is not None and row.settled, f"{call_id} was never settled"
        if row.rate is None:
            assert row.cost == 0
            continue
        cut = scenario.control.cut_of(call_id)
        billed = cut[2] if cut else row.talk_time
        assert row.cost == cost(RateRule.from_json(row.rate), billed), call_id
        ledger = sum([r.amount for r in await Ledger.filter(call_id=call_id)], Decimal(0))
        assert ledger == row.cost, f"{call_id}: ledger {ledger} != cost {row.cost}"
    await assert_books()

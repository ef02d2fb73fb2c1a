"""The fraud guard end to end: the real app (calls + billing) against the ARI double.
Ten calls at once on one extension stop at the spend limit (never above it), the reason is
in the call log, the extension is locked and the trip published; a burst of attempts to a
premium prefix is refused and locks the extension after K of them."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from coovox.models import set_setting
from coovox.plugins.billing import fraud
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account, Ledger
from tests.support.billing_app import account
from tests.support.call_app import finished


def heard(app) -> list[dict]:
    events: list[dict] = []
    app.services["billing_meter"].fraud.publish = lambda name, source, **d: events.append(
        {"name": name, **d})
    return events


async def test_ten_calls_at_once_stop_at_the_spend_limit(billing_app, double):
    await account("100", balance="50")
    await set_setting("billing", "debit_interval", 3)  # blocks of 3 units, cut within 30 s
    await fraud.update_global({"guard": True, "spend_hour": "0.30", "action": "lock"})
    events = heard(billing_app)
    await asyncio.gather(*(double.place_call("100", f"9123{i}0") for i in range(10)))
    rows = await finished(10, timeout=30)
    assert {r.reason for r in rows} == {"spend limit"}
    charged = sum(await Ledger.filter(extension="100").values_list("amount", flat=True),
                  Decimal(0))
    assert charged == Decimal("0.30")  # exactly the limit: never more through concurrency
    acc = await Account.get(extension="100")
    assert acc.balance == Decimal("49.70") and acc.status == "locked"
    assert [(e["name"], e["reason"], e["action"]) for e in events] == [
        ("fraud.tripped", "spend per hour", "lock")]
    await double.place_call("100", "9123450")
    rows = await finished(11, timeout=10)
    assert rows[-1].reason == "locked"
    assert await check_invariants() == []


async def test_a_burst_to_a_premium_prefix_is_refused_and_locks(billing_app, double):
    await account("101", balance="50")
    await account("102", balance="50")  # normal traffic next to it
    await fraud.update_global({"guard": True, "blocked_prefixes": ["9900"],
                               "trip_attempts": 5, "trip_minutes": 1})
    events = heard(billing_app)
    await asyncio.gather(*(double.place_call("101", f"9900{i:04d}") for i in range(50)))
    rows = await finished(50, timeout=60)
    reasons = [r.reason for r in rows]
    # all at once: each is refused (the block list, or the lock once it tripped)
    assert set(reasons) <= {"blocked destination", "locked"}
    assert reasons.count("blocked destination") >= 5
    assert [e["reason"] for e in events] == ["blocked attempts"]  # tripped once
    assert (await Account.get(extension="101")).status == "locked"
    for i in range(5):  # the rest of the minute's attempts meet the lock
        await double.place_call("101", f"9900{i:04d}")
    rows = await finished(55, timeout=30)
    assert [r.reason for r in rows[-5:]] == ["locked"] * 5
    assert not [r for r in double.requests if r.path.endswith("/channels/create")]
    assert not await Ledger.filter(extension="101").exists()
    from coovox.sim import FarEnd

    double.far_end("123450", FarEnd(hangup_after=1.5))
    await double.place_call("102", "9123450")
    rows = await finished(56, timeout=15)
    assert rows[-1].status == "answered" and rows[-1].reason != "spend limit"
    assert (await Account.get(extension="102")).status == "unlocked"
    charged = await Ledger.filter(extension="102").values_list("amount", flat=True)
    assert sum(charged, Decimal(0)) == Decimal("0.02")  # 2 s begun at 0.01: untouched

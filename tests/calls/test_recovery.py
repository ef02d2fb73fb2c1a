"""Websocket loss: a leg that vanished while away ends the call at the loss; nothing lost."""

import asyncio

import pytest

from coovox.calls.models import Call
from tests.calls.conftest import active_answered, finished


async def test_websocket_drop_with_missed_hangup(app, double):
    ctl = app.services["calls"]
    await double.place_call("100", "9123455")
    row = await active_answered()
    await asyncio.sleep(0.2)
    ctl.reconciled.clear()
    await double.drop_websocket(down_for=0.8)
    lost_noticed = app.now()
    await double.far_hangup(row.out_channel)  # never delivered: the app is away
    assert row.out_channel not in double.channels
    (done,) = await finished(timeout=10)
    assert (done.status, done.reason) == ("answered", "callee hung up")
    # ended at the time the loss was noticed, not at the reconnect
    assert abs((done.ended_at - lost_noticed).total_seconds()) < 0.5
    assert done.talk_time == pytest.approx((done.ended_at - done.answered_at).total_seconds())
    await asyncio.sleep(0.1)
    assert not double.channels and not double.bridges  # caller hung up, bridge destroyed
    assert ctl.ari.status()["reconnects"] >= 1


async def test_websocket_drop_call_survives(app, double):
    ctl = app.services["calls"]
    caller = await double.place_call("100", "9123455")
    row = await active_answered()
    ctl.reconciled.clear()
    await double.drop_websocket(down_for=0.3)
    await asyncio.wait_for(ctl.reconciled.wait(), 10)
    assert await Call.filter(status="active").count() == 1
    await double.phone_hangup(caller)
    (done,) = await finished()
    assert (done.id, done.status, done.reason) == (row.id, "answered", "caller hung up")
    assert await Call.all().count() == 1


async def test_answered_while_away_is_bridged_after_reconnect(app, double):
    from coovox.sim import FarEnd

    ctl = app.services["calls"]
    double.far_end("321", FarEnd(answer_after=0.6))
    caller = await double.place_call("100", "9321")
    await double.wait_request("POST", r"/dial$")
    ctl.reconciled.clear()
    await double.drop_websocket(down_for=1.0)  # the answer happens while away
    await asyncio.wait_for(ctl.reconciled.wait(), 10)
    row = await active_answered()
    assert row.bridge_id in double.bridges
    await double.phone_hangup(caller)
    (done,) = await finished()
    assert (done.status, done.reason) == ("answered", "caller hung up")


async def test_reconcile_touches_only_this_nodes_calls(app, double):
    ctl = app.services["calls"]
    now = app.now()
    for node in ("node1", "node2"):
        await Call.create(id=f"old-{node}", node=node, started_at=now, answered_at=now,
                          extension="100", dialed="9123", status="active",
                          caller_channel=f"gone-{node}", out_channel=f"gone2-{node}")
    await ctl.reconcile()
    mine, theirs = await Call.get(id="old-node1"), await Call.get(id="old-node2")
    assert (mine.status, mine.reason) == ("answered", "ended while away")
    assert theirs.status == "active"

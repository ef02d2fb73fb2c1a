"""Websocket loss: a leg that vanished while away ends the call at the loss; nothing lost."""

import asyncio

import pytest

from coovox.plugins.calls.models import Call
from tests.support.call_app import active_answered, finished


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


async def test_asterisk_lost_under_a_call_blames_nobody(app, double):
    """Asterisk killed or restarted: when the app is back both legs are gone and nobody was
    seen hanging up, so the record says "ended while away" (not "caller hung up"), at the
    time the loss was noticed."""
    await double.place_call("100", "9123455")
    await active_answered()
    await asyncio.sleep(0.2)
    await double.restart()
    lost_noticed = app.now()
    (done,) = await finished(timeout=10)
    assert (done.status, done.reason, done.cause) == ("answered", "ended while away", None)
    assert abs((done.ended_at - lost_noticed).total_seconds()) < 0.5
    assert done.talk_time == pytest.approx((done.ended_at - done.answered_at).total_seconds())


async def test_asterisk_shutdown_under_a_call_is_the_reason(app, double):
    """``core stop now``: Asterisk hangs up both legs itself (soft hangup, flag 4) and says
    so before it goes: the record says "Asterisk shut down", ended when it did."""
    await double.place_call("100", "9123455")
    await active_answered()
    await asyncio.sleep(0.2)
    stopped = app.now()
    await double.shutdown()
    (done,) = await finished(timeout=10)
    assert (done.status, done.reason, done.cause) == ("answered", "Asterisk shut down", 16)
    assert abs((done.ended_at - stopped).total_seconds()) < 0.3


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


async def test_call_placed_while_disconnected_is_handled_after_reconnect(app, double):
    from coovox.sim import FarEnd

    ctl = app.services["calls"]
    first = await double.place_call("100", "9123455")  # keeps the app registered
    await active_answered()
    ctl.reconciled.clear()
    await double.drop_websocket(down_for=0.8)
    double.far_end("888", FarEnd(hangup_after=0.2))
    missed = await double.place_call("101", "9888")  # its StasisStart is never delivered
    await asyncio.wait_for(ctl.reconciled.wait(), 10)
    async with asyncio.timeout(10):
        while not await Call.filter(caller_channel=missed).exclude(status="active").exists():
            await asyncio.sleep(0.05)
    row = await Call.get(caller_channel=missed)
    assert (row.extension, row.status, row.reason) == ("101", "answered", "callee hung up")
    await double.phone_hangup(first)
    await finished(2)


async def test_restart_while_dialling_hangs_up_the_trunk_leg(app, double):
    ctl = app.services["calls"]
    await double.place_call("100", "9123453")  # rings forever
    await double.wait_request("POST", r"/dial$")
    row = await Call.get(status="active")
    assert row.out_channel in double.channels  # recorded as soon as it was created
    for call in list(ctl.calls.values()):  # what a crash does: the tasks vanish
        call.task.cancel()
        ctl.forget(call)
    await ctl.reconcile()
    done = await Call.get(id=row.id)
    assert (done.status, done.reason) == ("failed", "interrupted")
    await asyncio.sleep(0.3)
    assert row.out_channel not in double.channels and row.caller_channel not in double.channels
    assert await Call.all().count() == 1  # the closed caller is not taken for a new call


async def test_a_reset_database_connection_does_not_lose_the_record(app, double, monkeypatch):
    from coovox.plugins.calls import services
    from coovox.sim import FarEnd

    monkeypatch.setattr(services, "DB_RETRY_DELAY", 0.01)
    real, failed = services.insert_call, []

    async def flaky(*args, **kwargs):
        if len(failed) < 2:
            failed.append(1)
            raise ConnectionError("connection was closed in the middle of operation")
        return await real(*args, **kwargs)

    monkeypatch.setattr(services, "insert_call", flaky)
    double.far_end("555000", FarEnd(hangup_after=0.2))
    await double.place_call("100", "9555000")
    (row,) = await finished()
    assert len(failed) == 2
    assert (row.status, row.reason, row.sent) == ("answered", "callee hung up", "555000")


async def test_a_call_starting_during_reconcile_is_not_taken_for_vanished(app, double,
                                                                          monkeypatch):
    """Events flow while reconcile fetches Asterisk's lists: a call that starts after the
    channel list was taken is missing from it, yet its caller has not hung up."""
    from coovox.sim import FarEnd

    ctl = app.services["calls"]
    double.far_end("555000", FarEnd(hangup_after=0.3))
    real, placed = ctl.ari.bridges_list, []

    async def slow_bridges_list():  # the channel list is taken already
        caller = await double.place_call("100", "9555000")
        placed.append(caller)
        async with asyncio.timeout(5):
            while not (await Call.filter(out_channel__not="").exists()):
                await asyncio.sleep(0.02)  # the call is dialling
        return await real()

    monkeypatch.setattr(ctl.ari, "bridges_list", slow_bridges_list)
    await ctl.reconcile()
    (row,) = await finished()
    assert placed
    assert (row.status, row.reason) == ("answered", "callee hung up")


async def test_a_database_that_stays_away_refuses_the_call_with_a_reason(app, double,
                                                                         monkeypatch):
    from coovox.plugins.calls import services
    from coovox.plugins.outbound import cache as config_cache

    monkeypatch.setattr(services, "DB_RETRY_DELAY", 0.01)
    tries = []

    async def down(*args, **kwargs):
        tries.append(1)
        raise ConnectionError("connection refused")

    monkeypatch.setattr(config_cache, "load", down)
    config_cache.changed()  # the configuration must be read for this call
    caller = await double.place_call("100", "9555000")
    (row,) = await finished()
    assert len(tries) == services.DB_RETRIES  # retried, then given up
    assert (row.status, row.reason, row.extension) == ("refused", "database unavailable", "100")
    await asyncio.sleep(0.2)
    assert caller not in double.channels  # hung up, not left waiting


async def test_a_record_not_written_at_the_start_is_written_at_the_end(app, double,
                                                                      monkeypatch):
    from coovox.plugins.calls import services

    monkeypatch.setattr(services, "DB_RETRY_DELAY", 0.01)
    real, failed = services.insert_call, []

    async def flaky(*args, **kwargs):
        if len(failed) < services.DB_RETRIES:  # every try before the dial fails
            failed.append(1)
            raise ConnectionError("connection was closed in the middle of operation")
        return await real(*args, **kwargs)

    monkeypatch.setattr(services, "insert_call", flaky)
    await double.place_call("101", "9555000")
    (row,) = await finished()
    assert (row.status, row.reason, row.extension_name) == (
        "refused", "database unavailable", "Bob")
    assert await Call.all().count() == 1


async def test_the_trunk_leg_is_in_the_record_before_it_is_dialled(app, double, monkeypatch):
    """The leg's id is chosen by the app and written with the record (alongside the
    request that creates the leg); the leg is dialled only once its record names it."""
    from coovox.sim import FarEnd

    ctl = app.services["calls"]
    double.far_end("555000", FarEnd(hangup_after=0.2))
    real, seen = ctl.ari.channel_dial, []

    async def spy(channel_id, **kwargs):
        seen.append((channel_id, await Call.filter(
            out_channel=channel_id).values_list("status", flat=True)))
        return await real(channel_id, **kwargs)

    monkeypatch.setattr(ctl.ari, "channel_dial", spy)
    await double.place_call("100", "9555000")
    (row,) = await finished()
    assert seen == [(row.out_channel, ["active"])]
    create = await double.wait_request("POST", r"/channels/create$")
    assert create.query["channelId"] == row.out_channel
    assert (row.status, row.reason) == ("answered", "callee hung up")


async def test_a_trunk_leg_no_call_owns_is_hung_up_at_reconcile(app, double):
    """A leg created just before a crash, whose record was never written, would ring or
    sit in the app forever: the reconcile after a (re)connect hangs it up."""
    from coovox.sim import FarEnd

    ctl = app.services["calls"]
    double.far_end("555000", FarEnd(hangup_after=5))
    caller = await double.place_call("100", "9555000")  # a real call, which must survive
    row = await active_answered()
    await ctl.ari.channel_create(endpoint="Local/555777@pstn", app="coovox",
                                 app_args="outbound", channel_id="orphan-1")
    assert "orphan-1" in double.channels
    ctl.reconciled.clear()
    await double.drop_websocket(down_for=0.3)
    await asyncio.wait_for(ctl.reconciled.wait(), 10)
    await asyncio.sleep(0.2)
    assert "orphan-1" not in double.channels
    assert {row.out_channel, caller} <= set(double.channels)
    await double.phone_hangup(caller)
    (done,) = await finished()
    assert (done.status, done.reason) == ("answered", "caller hung up")

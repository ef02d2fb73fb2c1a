"""Every transcript scenario from the app's side, through the double over loopback."""

import asyncio

from coovox.sim import FarEnd
from tests.support.call_app import active_answered, finished


async def test_answered_callee_hangs_up(app, double):
    double.far_end("123450", FarEnd(hangup_after=0.3))
    caller = await double.place_call("100", "9123450")
    (row,) = await finished()
    assert (row.status, row.reason, row.cause) == ("answered", "callee hung up", 16)
    assert (row.extension, row.extension_name, row.dialed, row.sent) == (
        "100", "Alice", "9123450", "123450")
    assert (row.rule, row.trunk, row.caller_channel) == ("Out", "pstn", caller)
    assert row.answered_at is not None and row.talk_time >= 0.25
    assert row.duration >= row.talk_time
    # originator=<caller>, dial with caller=<caller>; both legs gone, bridge destroyed
    create = await double.wait_request("POST", r"/channels/create$")
    assert create.query["originator"] == caller and create.query["appArgs"] == "outbound"
    assert create.query["endpoint"] == "Local/123450@pstn"
    await asyncio.sleep(0.1)
    assert not double.channels and not double.bridges


async def test_answered_caller_hangs_up(app, double):
    caller = await double.place_call("100", "9123455")
    row = await active_answered()
    assert row.out_channel and row.bridge_id
    await asyncio.sleep(0.2)
    await double.phone_hangup(caller)
    (row,) = await finished()
    assert (row.status, row.reason, row.cause) == ("answered", "caller hung up", 16)
    assert row.talk_time >= 0.15
    await asyncio.sleep(0.1)
    assert not double.channels and not double.bridges


async def test_answered_after_ringing(app, double):
    double.far_end("555", FarEnd(answer_after=0.2, hangup_after=0.2))
    await double.place_call("101", "9555")
    (row,) = await finished()
    assert row.status == "answered" and row.reason == "callee hung up"
    assert (row.answered_at - row.started_at).total_seconds() >= 0.15
    ring = await double.wait_request("POST", r"/ring$")
    assert ring.path.endswith(f"/channels/{row.caller_channel}/ring")


async def test_busy_deletes_parked_outbound(app, double):
    await double.place_call("100", "9123451")
    (row,) = await finished()
    assert (row.status, row.cause, row.answered_at) == ("busy", 17, None)
    assert row.talk_time is None
    await asyncio.sleep(0.1)
    assert not double.channels  # the outbound leg parked in Stasis was deleted


async def test_congestion_on_last_trunk_fails(app, double):
    await double.place_call("100", "9123452")
    (row,) = await finished()
    assert (row.status, row.reason, row.cause) == ("failed", "congestion", 34)
    await asyncio.sleep(0.1)
    assert not double.channels


async def test_no_answer_after_dial_timeout(app, double):
    await double.place_call("100", "9123453")  # rings forever; dial timeout 1 s
    (row,) = await finished()
    assert (row.status, row.cause) == ("no answer", 19)
    dial = await double.wait_request("POST", r"/dial$")
    assert dial.query["timeout"] == "1"
    await asyncio.sleep(0.1)
    assert not double.channels


async def test_caller_abandons_while_ringing(app, double):
    caller = await double.place_call("100", "9123453")
    await double.wait_request("POST", r"/dial$")
    await double.phone_hangup(caller)
    (row,) = await finished()
    assert (row.status, row.reason, row.cause) == ("no answer", "caller hung up", 16)
    await asyncio.sleep(0.1)
    assert not double.channels


async def test_unknown_extension_refused_with_tone(app, double):
    caller = await double.place_call("999", "9123450")
    (row,) = await finished()
    assert (row.status, row.reason) == ("refused", "unknown extension")
    play = await double.wait_request("POST", r"/play$")
    assert play.path == f"/ari/channels/{caller}/play" and play.query["media"].startswith("tone:")
    assert not [r for r in double.requests if r.path.endswith("/channels/create")]
    await asyncio.sleep(0.1)
    assert not double.channels


async def test_disabled_extension_and_no_route_refused(app, double):
    await double.place_call("103", "9123450")
    await double.place_call("100", "5123450")  # no rule for prefix 5
    rows = await finished(2)
    assert sorted((r.extension, r.status, r.reason) for r in rows) == [
        ("100", "refused", "no route"), ("103", "refused", "extension disabled")]


async def test_trunk_failover_on_congestion(app, double):
    double.far_end("4449", FarEnd(congestion=True))  # trunk "bad" dials <number>9
    double.far_end("444", FarEnd(hangup_after=0.2))
    await double.place_call("100", "7444")
    (row,) = await finished()
    assert (row.status, row.trunk, row.sent) == ("answered", "pstn", "444")
    creates = [r.query["endpoint"] for r in double.requests if r.path.endswith("/create")]
    assert creates == ["Local/4449@pstn", "Local/444@pstn"]


async def test_after_failover_the_record_tells_who_ended_the_answered_call(app, double):
    """A PJSIP trunk leg refused by the carrier is hung up by Asterisk itself (cause 34)
    before the app deletes it: that failed attempt ended first, yet the answered call on
    the next trunk was ended by the caller, with cause 16 (found on a real Asterisk)."""
    double.far_end("4449", FarEnd(ring_forever=True))  # trunk "bad" dials <number>9
    double.far_end("444", FarEnd())  # answers and stays
    caller = await double.place_call("100", "7444")
    dial = await double.wait_request("POST", r"/dial$")
    await double.far_hangup(dial.path.split("/")[-2], cause=34)
    row = await active_answered()
    assert row.trunk == "pstn"
    await asyncio.sleep(0.2)
    await double.phone_hangup(caller)
    (row,) = await finished()
    assert (row.status, row.reason, row.cause, row.trunk) == (
        "answered", "caller hung up", 16, "pstn")


async def test_after_failover_the_callee_hanging_up_gives_its_own_cause(app, double):
    double.far_end("4449", FarEnd(ring_forever=True))
    double.far_end("444", FarEnd(hangup_after=0.2))
    await double.place_call("100", "7444")
    dial = await double.wait_request("POST", r"/dial$")
    await double.far_hangup(dial.path.split("/")[-2], cause=34)
    (row,) = await finished()
    assert (row.status, row.reason, row.cause, row.trunk) == (
        "answered", "callee hung up", 16, "pstn")


async def test_busy_does_not_fail_over(app, double):
    double.far_end("4449", FarEnd(busy=True))
    await double.place_call("100", "7444")
    (row,) = await finished()
    assert (row.status, row.trunk) == ("busy", "bad")
    assert len([r for r in double.requests if r.path.endswith("/create")]) == 1


async def test_trunk_leg_is_dialled_only_once_it_entered_stasis(app, double):
    """Asterisk puts a created channel into Stasis a moment after answering the create;
    a dial before that gets 409 and used to fail the call as "trunk failed"."""
    double.stasis_entry_delay = 0.3
    double.far_end("123450", FarEnd(hangup_after=0.1))
    await double.place_call("100", "9123450")
    (row,) = await finished()
    assert (row.status, row.reason, row.trunk) == ("answered", "callee hung up", "pstn")
    dials = [r for r in double.requests if r.method == "POST" and r.path.endswith("/dial")]
    assert len(dials) == 1


async def test_many_calls_with_random_stasis_entry_none_fails(app, double):
    double.stasis_entry_delay = 0.05
    for number in ("9100", "9110", "9120", "9130", "9140", "9150", "9160", "9170"):
        double.far_end(number[1:], FarEnd(hangup_after=0.1))
    await asyncio.gather(*(double.place_call("100", n) for n in
                           ("9100", "9110", "9120", "9130", "9140", "9150", "9160", "9170")))
    rows = await finished(8)
    assert sorted((r.status, r.reason) for r in rows) == [("answered", "callee hung up")] * 8

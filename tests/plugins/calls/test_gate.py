"""Plugin gates: refusals (first reason recorded), caps (smallest wins), cuts, timers."""

import asyncio
import sys
import types

import pytest

from coovox.hookspecs import hookimpl
from coovox.hooktypes import GateDecision
from coovox.plugins.calls.models import Call
from tests.support.call_app import active_answered, finished


def _gate_plugin(name, decide, seen):
    mod = types.ModuleType(name)
    mod.PLUGIN_NAME = name

    @hookimpl
    def coovox_call_gate(call):
        seen.setdefault("gate", []).append(call)
        return decide(call)

    @hookimpl
    def coovox_call_answered(call, control, decision, resumed):
        seen.setdefault("answered", []).append((call.call_id, decision, resumed))
        seen["control"] = control

    @hookimpl
    def coovox_call_cut(call, reason, plugin):
        seen.setdefault("cut", []).append((reason, plugin))

    @hookimpl
    def coovox_call_ended(call, record):
        seen.setdefault("ended", []).append(record)

    mod.coovox_call_gate = coovox_call_gate
    mod.coovox_call_answered = coovox_call_answered
    mod.coovox_call_cut = coovox_call_cut
    mod.coovox_call_ended = coovox_call_ended
    sys.modules[name] = mod
    return mod


async def ended(seen, timeout=5.0):
    """The records the ended hook received (it runs just after the record is written)."""
    async with asyncio.timeout(timeout):
        while "ended" not in seen:
            await asyncio.sleep(0.02)
    return seen["ended"]


SEEN_A: dict = {}
SEEN_B: dict = {}


def _decide_a(call):
    if call.extension == "101":
        return GateDecision(plugin="gate_a", refuse="locked")
    return GateDecision(plugin="gate_a", cap=5.0, data={"rate": "0.10"})


def _decide_b(call):
    if call.extension == "101":
        return GateDecision(plugin="gate_b", refuse="insufficient funds")
    return GateDecision(plugin="gate_b", cap=0.6)


@pytest.fixture
def plugins():
    SEEN_A.clear()
    SEEN_B.clear()
    return [_gate_plugin("gate_a", _decide_a, SEEN_A), _gate_plugin("gate_b", _decide_b, SEEN_B)]


async def test_plugin_refusal_wins_and_first_reason_is_recorded(app, double):
    await double.place_call("101", "9123450")
    (row,) = await finished()
    first = _first_asked(app, ["gate_a", "gate_b"])
    assert row.status == "refused"
    assert row.reason == {"gate_a": "locked", "gate_b": "insufficient funds"}[first]
    assert (row.sent, row.rule, row.trunk) == ("123450", "Out", "")  # routed, never dialled
    assert not [r for r in double.requests if r.path.endswith("/channels/create")]
    play = await double.wait_request("POST", r"/play$")
    assert play.query["media"] == "tone:busy"
    assert (await ended(SEEN_A))[0]["status"] == "refused" and "answered" not in SEEN_A


def _first_asked(app, names):
    impls = app.plugins.hook.coovox_call_gate.get_hookimpls()
    asked = [i.plugin_name for i in reversed(impls)]
    return next(n for n in asked if n in names)


async def test_smallest_cap_wins_and_plugins_get_their_own_decision(app, double):
    await double.place_call("100", "9123455")
    (row,) = await finished()
    assert (row.status, row.reason, row.cap) == ("answered", "cap reached", 0.6)
    assert row.billed_talk_time == pytest.approx(0.6, abs=0.05)
    (call_id, decision, resumed), = SEEN_A["answered"]
    assert call_id == row.id and decision.data == {"rate": "0.10"} and resumed is False
    assert SEEN_B["answered"][0][1].cap == 0.6
    assert SEEN_A["cut"] == [("cap reached", "gate_b")]
    (record,) = await ended(SEEN_A)
    assert record["id"] == row.id and record["status"] == "answered"
    assert record["billed_talk_time"] == pytest.approx(0.6, abs=0.05)


async def test_plugin_cut_with_billed_until(app, double):
    await double.place_call("100", "9123455")
    row = await active_answered()
    control = SEEN_A["control"]
    await asyncio.sleep(0.1)
    assert control.talk_seconds(row.id) > 0
    assert await control.play_tone(row.id, "tone:!1400/500")
    assert await control.play_prompt(row.id, "low-balance")
    assert await control.cut(row.id, "insufficient funds", billed_until=0.05, plugin="gate_a")
    (row,) = await finished()
    assert (row.status, row.reason) == ("answered", "insufficient funds")
    assert row.billed_talk_time == pytest.approx(0.05) and row.talk_time >= 0.1
    assert SEEN_B["cut"] == [("insufficient funds", "gate_a")]
    assert not await control.cut(row.id, "again")  # the call is over
    assert control.talk_seconds(row.id) is None
    assert await Call.filter(id=row.id).count() == 1


async def test_schedule_runs_at_talk_time(app, double):
    await double.place_call("100", "9123455")
    row = await active_answered()
    control = SEEN_A["control"]
    fired = asyncio.Event()

    async def warn():
        fired.set()

    control.schedule(row.id, 0.2, warn)
    await asyncio.wait_for(fired.wait(), 3)
    assert control.talk_seconds(row.id) >= 0.2


async def test_record_has_route_cap_and_decisions_while_dialling(app, double):
    from coovox.sim import FarEnd

    double.far_end("123450", FarEnd(ring_forever=True))
    caller = await double.place_call("100", "9123450")
    # the record is written alongside the leg's create, and before its dial
    await double.wait_request("POST", r"/dial$")
    row = await Call.get(caller_channel=caller)
    assert (row.status, row.sent, row.rule, row.trunk, row.cap) == (
        "active", "123450", "Out", "pstn", 0.6)
    assert row.decisions["cap_by"] == "gate_b" and set(row.decisions["plugins"]) >= {
        "gate_a", "gate_b"}
    await double.phone_hangup(caller)
    (row,) = await finished()
    assert (row.status, row.reason, row.sent, row.cap) == (
        "no answer", "caller hung up", "123450", 0.6)

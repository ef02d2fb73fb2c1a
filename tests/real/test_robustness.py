"""Robustness against a real Asterisk 22: CooVox killed mid-call, Asterisk stopped or
killed under a call, the ARI websocket dropped (by Asterisk, and by a network outage
while a callee hangs up), the dialplan reloaded during calls.

Billing is on (1-second units, prepaid balances).  Each test asserts the call records
(status, reason, talk time, trunk, cost), the money (cost = the formula for the talk
time, balance = before - costs, ``coovox check`` passes) and that Asterisk has nothing of
ours left; times are Asterisk's own (the ARI observer), the test's clock only for what
Asterisk cannot see (the moment CooVox or the link was lost).

The module's stack reaches Asterisk through a TCP relay the test can cut (``ari_proxy``);
the Asterisk restarts run on a stack of their own.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio

from tests.real.kit import Leg, RealStack, sipp
from tests.real.kit.ari import ari_time
from tests.real.money import CLOCK_SLACK, balance, expected_costs, settled_calls

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

DIAL_TIMEOUT = 4
STACK = {"dial_timeout": DIAL_TIMEOUT, "refuse_tone_seconds": 0.5, "ari_proxy": True}
RATE = {"prefix": "9", "initial_cost": "0.05", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all", "remark": "robustness"}
HEARTBEAT = 2.0  # CooVox notes every 2 s that it is alive (where a crashed call ends)
CARRIER = "PJSIP/carrier-"


async def setup_stack(stack: RealStack) -> None:
    await stack.api.setup_outbound({"100": "Alice", "101": "Bob"})
    await stack.api.enable_billing(rates=[RATE], accounts={"100": "20", "101": "20"})


@pytest_asyncio.fixture(loop_scope="module")
async def robust(real: RealStack) -> AsyncIterator[RealStack]:
    """The module's stack; afterwards (before ``real`` checks Asterisk) the link is
    restored and a CooVox a failed test left dead is started again, so that one failure
    does not take the next tests with it."""
    yield real
    if real.proxy is not None:
        real.proxy.restore()
    if real.app.proc is None or real.app.proc.returncode is not None:
        await real.app.launch()
    await real.app.wait_ari(30)


# --- helpers -----------------------------------------------------------------------------------


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def now() -> datetime:
    return datetime.now(UTC)


async def poll(check, timeout: float, what: str, interval: float = 0.05):
    """Wait until ``check()`` (sync or async) is truthy; its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(interval)


async def legs_up(stack: RealStack, n: int = 1, *, prefix: str = CARRIER,
                  timeout: float = 15) -> list[Leg]:
    """The first ``n`` channels ``prefix*`` of the test once Asterisk reported them Up."""
    def up() -> list[Leg] | None:
        legs = [leg for leg in stack.observer.legs(prefix, stack.since) if leg.up]
        return legs[:n] if len(legs) >= n else None
    return await poll(up, timeout, f"{n} channel(s) {prefix}* up")


async def leg_destroyed(stack: RealStack, leg: Leg, timeout: float = 15) -> Leg:
    def gone() -> Leg | None:
        found = [x for x in stack.observer.legs(leg.name, stack.since) if x.id == leg.id]
        return found[0] if found and found[0].destroyed else None
    return await poll(gone, timeout, f"{leg.name} destroyed")


async def ari_connected(stack: RealStack) -> dict:
    """CooVox's ARI state as /healthz shows it to a probe on this machine."""
    return (await stack.app.local_health())["ari"]


async def wait_reconnected(stack: RealStack, reconnects: int, timeout: float = 20) -> dict:
    """/healthz (from 127.0.0.1, no sign-in) shows ARI connected after one more reconnect."""
    async def back() -> dict | None:
        ari = await ari_connected(stack)
        return ari if ari["connected"] and ari["reconnects"] > reconnects else None
    return await poll(back, timeout, "CooVox connected to ARI again", interval=0.1)


async def assert_books(stack: RealStack) -> None:
    """``coovox check``: balance = recharges - costs, ledger = cost for every call."""
    code, out = await stack.app.check()
    assert code == 0, out


async def assert_billed(stack: RealStack, rows: list[dict], before: dict[str, Decimal]) -> None:
    """Each record costs the formula for its talk time; each balance went down by exactly
    its records' costs; the books are right."""
    for row in rows:
        assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0, row
    for ext, was in before.items():
        spent = sum((Decimal(r["cost"]) for r in rows if r["extension"] == ext), Decimal(0))
        assert await balance(stack, ext) == was - spent, (ext, rows)
    await assert_books(stack)


def assert_talk(row: dict, up: datetime, end: datetime, slack: float = CLOCK_SLACK) -> None:
    """Answered at ``up`` (Asterisk's time) and talk time = ``end - up``."""
    assert abs((at(row["answered_at"]) - up).total_seconds()) < slack, (row, up)
    talk = (end - up).total_seconds()
    assert abs(row["talk_time"] - talk) < slack, (row, talk)


def log_since(stack: RealStack, start: int) -> str:
    return stack.app.log_text()[start:]


async def stop_runs(stack: RealStack) -> None:
    """Stop the SIPp runs at once (after Asterisk vanished their calls wait forever)."""
    runs, stack.runs = stack.runs, []
    if stack.carrier.run is not None:
        runs.append(stack.carrier.run)
        stack.carrier.run = None
    for run in runs:
        await run.stop(grace=0.2)


# --- Asterisk stopped or killed under a live call -----------------------------------------------
# On a stack of their own (Asterisk is restarted, the observer reconnected); first in the
# file, so they run before the module's stack starts.


@pytest.mark.parametrize("how", ["core stop now", "kill -9"])
async def test_asterisk_restarted_under_a_call(asterisk_kit, tmp_path, how):
    """``core stop now``: Asterisk hangs up both legs (BYE to phone and carrier) and tells
    CooVox before its websocket closes.  ``kill -9``: nobody is told anything; CooVox
    notices the websocket's loss, and when Asterisk is back the call's channels are gone.
    Either way the record is closed with the talk time up to the loss, the money is right
    and, Asterisk started again with the same configuration, CooVox is connected again and
    the next call works."""
    async with RealStack(asterisk_kit, workdir=tmp_path / "stack", keep=True,
                         dial_timeout=DIAL_TIMEOUT, refuse_tone_seconds=0.5) as stack:
        await setup_stack(stack)
        stack.since = stack.observer.mark()
        passed, channels, bridges = False, [], []
        try:
            await _restart_under_a_call(stack, how)
            passed = True
        finally:
            if stack.asterisk.running:
                channels, bridges = await stack.after_test(idle_timeout=10 if passed else 2)
            if not passed:
                print("--- CooVox log ---\n" + stack.app.log_text()[-4000:])
                print("--- ARI events ---\n", stack.observer.types(stack.since))
        assert not channels and not bridges, f"Asterisk still had {channels} {bridges}"


async def _restart_under_a_call(stack: RealStack, how: str) -> None:
    before = {"100": await balance(stack)}
    await stack.carrier.start(sipp.answer())
    phone = await stack.phone("100").call("9300010")  # waits for the BYE
    (carrier_leg,) = await legs_up(stack)
    await asyncio.sleep(1.5)
    reconnects = (await ari_connected(stack))["reconnects"]
    lost = now()
    if how == "kill -9":
        await stack.asterisk.kill()
    else:
        await stack.asterisk.stop()  # core stop now: returns once Asterisk has exited
    await poll(lambda: _disconnected(stack), 5, "CooVox noticed the loss")
    if how == "kill -9":
        # nobody told: the record stays open until CooVox can compare with Asterisk
        (row,) = await stack.api.calls(dialed="9300010")
        assert row["status"] == "active", row
    await asyncio.sleep(1.0)
    await stack.asterisk.start()
    await stack.observer.start()
    await wait_reconnected(stack, reconnects)

    (row,) = await settled_calls(stack, RATE, dialed="9300010")
    assert (row["status"], row["trunk"], row["sent"]) == ("answered", "carrier", "300010")
    if how == "kill -9":
        assert (row["reason"], row["cause"]) == ("ended while away", None)
        # ended when CooVox noticed the loss (the test's clock: Asterisk saw nothing)
        assert_talk(row, carrier_leg.up, lost)
        await stop_runs(stack)  # their calls vanished with Asterisk: no BYE will come
    else:
        assert (row["reason"], row["cause"]) == ("Asterisk shut down", 16)
        # Asterisk hung both legs up itself, at once, and said so
        hangups = stack.observer.find(lambda e: e["type"] == "ChannelHangupRequest"
                                      and e.get("soft") and e.get("cause") == 4, stack.since)
        assert {e["channel"]["name"].split("-")[0] for e in hangups} == {
            "PJSIP/100", "PJSIP/carrier"}, hangups
        assert_talk(row, carrier_leg.up, ari_time(hangups[0]["timestamp"]))
        result = await phone.wait(10)
        assert result.ok and result.received("BYE"), result.explain()
        carrier = await stack.carrier.run.wait(10)
        assert carrier.ok and carrier.received("BYE"), carrier.explain()
    assert abs((at(row["ended_at"]) - lost).total_seconds()) < CLOCK_SLACK + 1, (row, lost)

    # the next call goes through the new Asterisk, CooVox and billing as usual
    mark = stack.observer.mark()
    await stack.carrier.start(sipp.answer(hangup_after=1.5))
    phone = await stack.phone("100").call("9300011")
    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    (new,) = await settled_calls(stack, RATE, dialed="9300011")
    assert (new["status"], new["reason"], new["cause"], new["trunk"]) == (
        "answered", "callee hung up", 16, "carrier")
    leg = stack.observer.leg(CARRIER, mark)
    assert_talk(new, leg.up, leg.destroyed)
    await assert_billed(stack, [row, new], before)


# --- CooVox killed with -9 mid-call -----------------------------------------------------------


async def test_coovox_killed_mid_call_resumes_and_bills_to_the_end(robust: RealStack):
    stack = robust
    # charging ahead in blocks of 2 s: a block taken before the kill, more after the restart,
    # the unused part of the last block given back at settlement
    await stack.api.patch("/api/v1/billing/settings", {"debit_interval": 2})
    try:
        await _killed_mid_call(stack)
    finally:
        await stack.api.patch("/api/v1/billing/settings", {"debit_interval": 30})


async def _killed_mid_call(stack: RealStack) -> None:
    before = {"100": await balance(stack)}
    await stack.carrier.start(sipp.answer())  # waits for the BYE
    phone = await stack.phone("100").call("9300001", hangup_after=10)
    (carrier_leg,) = await legs_up(stack)
    await poll(lambda: _below(stack, before["100"]), 5, "the first charge taken")
    log_start = len(stack.app.log_text())
    await stack.app.kill()
    killed = now()
    await asyncio.sleep(1.0)  # the call goes on in Asterisk without CooVox
    names = sorted(c["name"].split("-")[0] for c in await stack.ari.channels())
    assert names == ["PJSIP/100", "PJSIP/carrier"], names
    await stack.app.launch()
    back = now()
    await poll(lambda: re.search(r"call \S+ resumed after \d+\.\d s of talk",
                                 log_since(stack, log_start)), 10, "the call resumed")
    # billing goes on: the balance keeps going down while the call lasts
    was = await balance(stack)
    await poll(lambda: _below(stack, was), 3, "a charge after the restart")

    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    assert (await stack.carrier.run.wait(10)).received("BYE"), "the carrier was hung up"
    (row,) = await settled_calls(stack, RATE, dialed="9300001")
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "caller hung up", 16)
    assert (row["trunk"], row["sent"]) == ("carrier", "300001")
    phone_leg = stack.observer.leg("PJSIP/100-", stack.since)
    assert phone_leg.destroyed > back - timedelta(seconds=CLOCK_SLACK) > killed, (
        "the phone hung up after CooVox was back")
    assert_talk(row, carrier_leg.up, phone_leg.destroyed)
    assert len(await stack.api.calls(dialed="9300001")) == 1  # one record, not two
    await assert_billed(stack, [row], before)


async def _below(stack: RealStack, was: Decimal) -> bool:
    return await balance(stack) < was


async def test_coovox_killed_and_callee_hangs_up_meanwhile_closed_at_restart(
        robust: RealStack):
    stack = robust
    before = {"100": await balance(stack)}
    await stack.carrier.start(sipp.answer(hangup_after=3))
    phone = await stack.phone("100").call("9300002")  # waits for the BYE
    (carrier_leg,) = await legs_up(stack)
    await asyncio.sleep(1.5)
    log_start = len(stack.app.log_text())
    await stack.app.kill()
    killed = now()
    carrier_leg = await leg_destroyed(stack, carrier_leg)  # the callee hangs up meanwhile
    assert carrier_leg.destroyed > killed
    # the caller is left in CooVox's bridge: nobody hangs it up while CooVox is away
    await asyncio.sleep(0.5)
    assert [c["name"].split("-")[0] for c in await stack.ari.channels()] == ["PJSIP/100"]
    await stack.app.launch()

    result = await phone.wait(30)
    assert result.ok and result.received("BYE"), result.explain()
    (row,) = await settled_calls(stack, RATE, dialed="9300002")
    assert (row["status"], row["reason"], row["trunk"]) == (
        "answered", "ended while away", "carrier")
    # ended at CooVox's last sign of life before the crash (its heartbeat), not later
    ended = at(row["ended_at"])
    assert killed - timedelta(seconds=HEARTBEAT + CLOCK_SLACK) < ended <= killed, (row, killed)
    assert_talk(row, carrier_leg.up, ended)
    assert "resumed after" not in log_since(stack, log_start)
    await assert_billed(stack, [row], before)


# --- the ARI websocket dropped -----------------------------------------------------------------


async def ari_sessions(stack: RealStack) -> dict[str, list[str]]:
    """``ari show websocket sessions``: session id -> its applications."""
    _, out = await stack.asterisk.cli("ari show websocket sessions")
    sessions = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 5 and re.fullmatch(r"[0-9a-f-]{36}", fields[0]):
            sessions[fields[0]] = fields[4].split(",")
    return sessions


async def test_websocket_shut_down_by_asterisk_call_goes_on_and_is_billed(robust: RealStack):
    """``ari shutdown websocket session ID`` (Asterisk 22) drops CooVox's websocket and
    nothing else: the call stays up, CooVox reconnects and bills it to the end."""
    stack = robust
    before = {"100": await balance(stack)}
    await stack.carrier.start(sipp.answer())
    phone = await stack.phone("100").call("9300003", hangup_after=4)
    (carrier_leg,) = await legs_up(stack)
    await asyncio.sleep(1.0)
    reconnects = (await ari_connected(stack))["reconnects"]
    (session,) = [sid for sid, apps in (await ari_sessions(stack)).items()
                  if "coovox" in apps]
    _, out = await stack.asterisk.cli(f"ari shutdown websocket session {session}")
    assert "Shutting down" in out, out
    await wait_reconnected(stack, reconnects, timeout=10)
    assert session not in await ari_sessions(stack), "a new session, not the old one"

    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    (row,) = await settled_calls(stack, RATE, dialed="9300003")
    assert (row["status"], row["reason"], row["cause"], row["trunk"]) == (
        "answered", "caller hung up", 16, "carrier")
    phone_leg = stack.observer.leg("PJSIP/100-", stack.since)
    assert_talk(row, carrier_leg.up, phone_leg.destroyed)
    await assert_billed(stack, [row], before)


async def test_link_outage_call_that_ended_is_closed_at_the_loss_other_goes_on(
        robust: RealStack):
    """The link to Asterisk is cut (the relay drops CooVox's connections) while two calls
    are up; the first one's callee hangs up during the outage.  On reconnect CooVox finds
    that call's trunk leg gone: closed at the moment it noticed the loss, its caller hung
    up; the second call goes on and is billed until its callee hangs up."""
    stack = robust
    proxy = stack.proxy
    talk = 5.0  # the carrier hangs up every call 5 s after answering it
    before = {"100": await balance(stack, "100"), "101": await balance(stack, "101")}
    await stack.carrier.start(sipp.answer(hangup_after=talk), calls=None)
    first = await stack.phone("100").call("9300004")
    (leg_a,) = await legs_up(stack)
    await asyncio.sleep(1.5)
    second = await stack.phone("101").call("9300005")
    leg_a, leg_b = await legs_up(stack, 2)
    cut_in = leg_a.up + timedelta(seconds=2.5) - now()
    await asyncio.sleep(max(0.0, cut_in.total_seconds()))
    reconnects = (await ari_connected(stack))["reconnects"]
    proxy.cut()
    cut_at = now()
    await poll(lambda: _disconnected(stack), 5, "CooVox noticed the loss")
    leg_a = await leg_destroyed(stack, leg_a)  # the first callee hangs up meanwhile
    assert leg_a.destroyed > cut_at
    await asyncio.sleep(0.3)
    proxy.restore()
    ari = await wait_reconnected(stack, reconnects, timeout=10)
    reconnected = now()
    assert ari["connected"]

    r1, r2 = await first.wait(30), await second.wait(30)
    assert r1.ok and r1.received("BYE"), r1.explain()  # CooVox hung up the lone caller
    assert r2.ok and r2.received("BYE"), r2.explain()
    (row_a,) = await settled_calls(stack, RATE, dialed="9300004")
    (row_b,) = await settled_calls(stack, RATE, dialed="9300005")
    leg_b = await leg_destroyed(stack, leg_b)
    assert leg_b.destroyed > reconnected, "the second call ended after the reconnect"
    # the first: callee hung up, ended when the loss was noticed (events are not replayed)
    assert (row_a["status"], row_a["reason"], row_a["trunk"]) == (
        "answered", "callee hung up", "carrier")
    assert abs((at(row_a["ended_at"]) - cut_at).total_seconds()) < CLOCK_SLACK, (row_a, cut_at)
    assert_talk(row_a, leg_a.up, cut_at)
    # the second: a normal end after the outage, its whole talk time billed
    assert (row_b["status"], row_b["reason"], row_b["cause"], row_b["trunk"]) == (
        "answered", "callee hung up", 16, "carrier")
    assert_talk(row_b, leg_b.up, leg_b.destroyed)
    await assert_billed(stack, [row_a, row_b], before)


async def _disconnected(stack: RealStack) -> bool:
    return not (await ari_connected(stack))["connected"]


# --- dialplan reload during calls --------------------------------------------------------------


async def test_dialplan_reload_during_calls(robust: RealStack):
    stack = robust
    before = {"100": await balance(stack, "100"), "101": await balance(stack, "101")}
    await stack.carrier.start(sipp.answer(hangup_after=4), calls=None)
    calls = await stack.phone("100").call("9300006", calls=3, rate=10, limit=3)
    legs = await legs_up(stack, 3)
    await asyncio.sleep(0.5)
    _, out = await stack.asterisk.cli("dialplan reload")
    assert "Dialplan reloaded" in out, out
    result = await calls.wait(30)
    assert result.ok, result.explain()
    rows = await settled_calls(stack, RATE, 3, dialed="9300006")
    assert {(r["status"], r["reason"], r["cause"], r["trunk"]) for r in rows} == {
        ("answered", "callee hung up", 16, "carrier")}
    legs = [await leg_destroyed(stack, leg) for leg in legs]
    for row, leg in zip(rows, sorted(legs, key=lambda x: x.up), strict=True):
        assert_talk(row, leg.up, leg.destroyed)
    # a new call after the reload goes through the reloaded dialplan into CooVox
    mark = stack.observer.mark()
    phone = await stack.phone("101").call("9300007", hangup_after=1.5)
    result = await phone.wait(30)
    assert result.ok and result.final_status == 200, result.explain()
    (new,) = await settled_calls(stack, RATE, dialed="9300007")
    assert (new["status"], new["reason"], new["extension"]) == (
        "answered", "caller hung up", "101")
    new_leg = stack.observer.leg(CARRIER, mark)
    phone_leg = stack.observer.leg("PJSIP/101-", mark)
    assert_talk(new, new_leg.up, phone_leg.destroyed)
    await assert_billed(stack, [*rows, new], before)

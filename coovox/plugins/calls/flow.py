"""One outbound call from StasisStart to its record: route, PIN, gate, dial, talk, end.

Each call runs as one task reading its own event queue (filled by
:class:`coovox.plugins.calls.stasis.CallController`), so a call's events are handled in order
and a slow call never stalls another.  The call record is finished exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from coovox.ari import AriError
from coovox.hooktypes import CallInfo
from coovox.plugins.calls import causes, gates, services
from coovox.plugins.calls.flow_pin import PinEntry
from coovox.plugins.calls.ports import FlowControl
from coovox.plugins.calls.state import CallState, Marker, channel_of
from coovox.plugins.outbound import routing
from coovox.plugins.outbound.routing import EXTENSION_DISABLED, NO_ROUTE, UNKNOWN_EXTENSION, Refusal

log = logging.getLogger(__name__)

DB_UNAVAILABLE = causes.DB_UNAVAILABLE
CONGESTION_REASONS = frozenset({UNKNOWN_EXTENSION, EXTENSION_DISABLED, NO_ROUTE, DB_UNAVAILABLE})


class CallFlow(PinEntry):
    """Runs one call; ``ctl`` gives the ARI connection, plugins, clock and settings."""

    def __init__(self, ctl: FlowControl, call: CallState) -> None:
        self.ctl = ctl
        self.call = call
        self.ari = ctl.ari
        self.loop = asyncio.get_running_loop()
        self.recorded = call.phase != "setup"  # a resumed call has its record
        # record fields known but not written yet: sent with the next write (one UPDATE)
        self.pending: dict[str, Any] = {}

    # --- entry points -------------------------------------------------------------------------

    async def run(self) -> None:
        call = self.call
        try:
            await self._setup_and_dial()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s failed", call.id)
            await self._end(causes.FAILED, causes.INTERNAL_ERROR)

    async def run_resumed(self) -> None:
        try:
            await self._talk()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resumed call %s failed", self.call.id)
            await self._end(causes.ANSWERED, causes.INTERNAL_ERROR)

    # --- setup -----------------------------------------------------------------------------------

    async def _setup_and_dial(self) -> None:
        call, ctl = self.call, self.ctl
        try:  # a reset connection is retried; a database that stays away refuses the call
            config = await services.with_retry("reading the outbound configuration",
                                               lambda: ctl.config.get(call.extension))
        except services.DB_ERRORS as exc:
            log.error("call %s: extension %s not looked up (%s)", call.id, call.extension, exc)
            call.info = self._info(None)
            await self._refuse(DB_UNAVAILABLE)
            return
        ext, result = services.route_with(config, call.extension, call.dialed,
                                          ctl.coovox.now(), ctl.timezone)
        call.info = self._info(ext)
        if isinstance(result, Refusal):
            await self._refuse(result.reason)
            return
        rule = result.rule
        info = call.info = replace(call.info, sent=result.sent, rule=rule.name,
                                   trunks=tuple(t.name for t in result.trunks))
        self.pending.update(sent=result.sent, rule=rule.name)
        if rule.pin_set:  # the PIN takes a while: the call log shows the route meanwhile
            await self._record()
            pin = await self._collect_pin(rule.pin_set)
            if self._caller_gone():
                await self._end(causes.STATUS_NO_ANSWER, causes.CALLER_HUNG_UP)
                return
            if pin is None:
                await self._refuse(causes.WRONG_PIN)
                return
            info = call.info = replace(info, pin=pin)
            self.pending["pin"] = pin
        decisions = await ctl.ask_gates(info)
        refusal, cap, by = gates.combine_gate(decisions, rule.time_limit)
        if refusal:
            await self._refuse(refusal)
            return
        call.decisions, call.cap, call.cap_by = decisions, cap, by
        money_cap = gates.money_cap_of(decisions)
        if money_cap is not None:
            info = call.info = replace(info, money_cap=money_cap)
        ctl.coovox.publish("call.started", "calls", call_id=info.call_id,
                           extension=info.extension, dialed=info.dialed, sent=info.sent,
                           rule=info.rule, trunks=list(info.trunks), cap=cap,
                           money_cap=None if money_cap is None else str(money_cap))
        # written with the trunk just before dialling (or when the call ends before that)
        self.pending.update(cap=cap, decisions=gates.decisions_to_json(decisions, cap, by))
        if self._caller_gone():
            await self._end(causes.STATUS_NO_ANSWER, causes.CALLER_HUNG_UP)
            return
        status, reason, cause = causes.FAILED, causes.TRUNK_FAILED, None
        turn = ctl.next_turn(rule.name) if rule.call_method == routing.ROUND_ROBIN else 0
        for trunk in routing.trunk_order(result.trunks, rule.call_method, turn):
            if not await services.with_retry("counting a trunk's calls", partial(
                    services.trunk_has_room, trunk)):
                status, reason, cause = causes.FAILED, causes.TRUNK_FULL, None
                continue
            outcome = await self._dial(trunk.name, trunk.endpoint(result.sent),
                                       pin=bool(rule.pin_set),
                                       caller_id=routing.caller_id(ext, rule, trunk))
            if outcome == "answered":
                await self._answer()
                return
            if outcome == "caller gone":
                await self._end(causes.STATUS_NO_ANSWER, causes.CALLER_HUNG_UP)
                return
            if outcome == "no record":
                await self._refuse(DB_UNAVAILABLE)
                return
            status, failover, cause = outcome
            reason = causes.reason_of(status, cause)
            if not failover:
                break
        await self._end(status, reason, cause=cause,
                        hangup_reason={causes.BUSY: "busy",
                                       causes.STATUS_NO_ANSWER: "no_answer"}.get(
                                           status, "congestion"))

    def _info(self, ext: Any) -> CallInfo:
        call = self.call
        return CallInfo(call_id=call.id, extension=call.extension,
                        extension_name=ext.name if ext else "", dialed=call.dialed,
                        sent="", rule="", trunks=(), started_at=call.started_at)

    async def _ringing(self, pin: bool) -> None:
        """Let the caller hear ringing while the trunk is dialled."""
        call = self.call
        if call.ringback or self._caller_gone():
            return
        if pin:  # answered for the PIN: ringing must be played as a tone
            try:
                call.ringback = (await self.ari.channel_play(call.caller, "tone:ring"))["id"]
            except (AriError, KeyError, TypeError):
                call.ringback = None
        else:
            await self._quiet(self.ari.channel_ring(call.caller))

    async def _record(self, **fields: Any) -> None:
        """Write the call's record (``active``) with the pending fields and ``fields``, unless
        it is written already; a database that stays away is logged, and the record is
        tried again when the call ends."""
        call = self.call
        if self.recorded:
            return
        info = call.info
        try:
            await services.create_call(id=call.id, node=self.ctl.node,
                                       started_at=call.started_at, extension=call.extension,
                                       extension_name=info.extension_name if info else "",
                                       dialed=call.dialed, caller_channel=call.caller,
                                       **{**self.pending, **fields})
        except services.DB_ERRORS as exc:
            log.error("call %s (extension %s dialled %s, channel %s, started %s): record not "
                      "written yet (%s)", call.id, call.extension, call.dialed, call.caller,
                      call.started_at.isoformat(), exc)
            return
        self.pending.clear()
        self.recorded = True

    async def _update(self, **fields: Any) -> None:
        """Write ``fields`` and the pending ones in one UPDATE."""
        fields = {**self.pending, **fields}
        await services.update_call(self.call.id, **fields)
        self.pending.clear()

    def _caller_gone(self) -> bool:
        return self.call.caller in self.call.gone

    async def _quiet(self, awaitable) -> bool:
        try:
            await awaitable
        except AriError as exc:
            log.debug("call %s: %s", self.call.id, exc)
            return False
        return True

    async def _next(self, timeout: float | None) -> Any:
        """The next queued event or marker, or None on timeout."""
        try:
            if timeout is None:
                return await self.call.queue.get()
            return await asyncio.wait_for(self.call.queue.get(), max(0.0, timeout))
        except TimeoutError:
            return None

    # --- refusal ---------------------------------------------------------------------------------

    async def _refuse(self, reason: str) -> None:
        """Play a tone to the caller for a moment, hang up, record ``refused``."""
        call, ctl = self.call, self.ctl
        congestion = reason in CONGESTION_REASONS
        tone = "tone:congestion" if congestion else "tone:busy"
        if not self._caller_gone():
            await self._quiet(self.ari.channel_play(call.caller, tone))
            deadline = self.loop.time() + ctl.refuse_tone_seconds
            while not self._caller_gone():
                if await self._next(deadline - self.loop.time()) is None:
                    break
        await self._end(causes.REFUSED, reason,
                        cause=causes.CONGESTION if congestion else causes.USER_BUSY,
                        hangup_reason="congestion" if congestion else "busy")

    # --- dialling --------------------------------------------------------------------------------

    async def _dial(self, trunk: str, endpoint: str, *, pin: bool = False,
                    caller_id: str = ""):
        """Dial one trunk: "answered", "caller gone", or (status, try next trunk, cause).

        ``caller_id``: set as the caller leg's caller ID before the dial copies it to the
        trunk leg (what the carrier is sent), as ``Set(CALLERID(num)=..)`` before ``Dial``.

        The trunk leg's id is chosen here and goes into the record with the trunk.  The
        record's first write runs alongside the request that creates the leg (it is not
        waited for before it); the leg is dialled only once the record is written.  A leg
        whose record a crash prevented is hung up by the next reconcile."""
        call, ctl = self.call, self.ctl
        call.trunk = trunk
        call.phase = "dialing"
        out = CallState.new_id()
        record = None
        if self.recorded:
            await self._update(trunk=trunk, out_channel=out)
        else:
            record = asyncio.ensure_future(self._record(trunk=trunk, out_channel=out))
        call.out = out
        ctl.register(out, call)  # before the request: its events may precede the reply
        try:
            await self.ari.channel_create(endpoint=endpoint, app=ctl.app, app_args="outbound",
                                          originator=call.caller, channel_id=out)
        except AriError as exc:
            log.warning("call %s: trunk %s: %s", call.id, trunk, exc)
            if record is not None:
                await record
            return self._forget_out(causes.FAILED, True, None)
        if record is not None:
            await record
            if not self.recorded:  # no record, no dial: nothing would bill or close it
                await self._hangup_leg(out)
                self._forget_out(causes.FAILED, True, None)
                return "no record"
        await self._ringing(pin)
        # Asterisk answers the create first and puts the leg into Stasis a moment later
        # (its StasisStart may also come before the answer): a dial before that gets 409.
        entered = await self._wait_in_stasis(out)
        if entered is not True:
            await self._hangup_leg(out)
            if entered == "caller gone":
                return "caller gone"
            log.warning("call %s: trunk %s: the new channel never entered Stasis", call.id,
                        trunk)
            return self._forget_out(causes.FAILED, True, None)
        await self._show_caller_id(caller_id)
        try:
            await self.ari.channel_dial(out, caller=call.caller, timeout=ctl.dial_timeout)
        except AriError as exc:
            log.warning("call %s: dial on %s failed: %s", call.id, trunk, exc)
            await self._hangup_leg(out)
            return self._forget_out(causes.FAILED, True, None)
        deadline = self.loop.time() + ctl.dial_timeout + ctl.dial_grace
        while True:
            if self._caller_gone():
                await self._hangup_leg(out)
                return "caller gone"
            if out in call.gone:
                status, failover = causes.outcome_of_cause(call.gone[out])
                if call.gone[out] is None and out not in call.destroyed:
                    # soft hangup or StasisEnd first: the Q.850 cause comes with Destroyed
                    if await self._wait_destroyed(out):
                        status, failover = causes.outcome_of_cause(call.gone[out])
                return self._forget_out(status, failover, call.gone[out])
            item = await self._next(deadline - self.loop.time())
            if item is None:  # the dial timeout passed and Asterisk did not end the leg
                await self._hangup_leg(out, reason="no_answer")
                return self._forget_out(causes.STATUS_NO_ANSWER, False, causes.NO_ANSWER)
            if isinstance(item, Marker):
                if item.kind == "vanished":
                    if call.caller in item.legs:
                        call.gone.setdefault(call.caller, None)
                    if out in item.legs:
                        return self._forget_out(causes.STATUS_NO_ANSWER, False, None)
                continue
            kind = item.get("type")
            if kind == "Dial" and (item.get("peer") or {}).get("id") == out:
                status = item.get("dialstatus") or ""
                if status == "ANSWER":
                    return "answered"
                if status in causes.DIAL_OUTCOMES:
                    await self._hangup_leg(out)
                    result, failover = causes.DIAL_OUTCOMES[status]
                    return self._forget_out(result, failover, causes.DIAL_CAUSES[status])
            elif (kind == "ChannelStateChange" and channel_of(item) == out
                  and (item.get("channel") or {}).get("state") == "Up"):
                return "answered"

    async def _show_caller_id(self, number: str) -> None:
        """Set the caller leg's caller ID number (skipped when it already is ``number``)."""
        call = self.call
        if not number or number == call.caller_number:
            return
        try:
            await self.ari.channel_set_var(call.caller, "CALLERID(num)", number)
        except AriError as exc:  # the caller is gone: the dial finds out
            log.warning("call %s: caller ID %s not set: %s", call.id, number, exc)
            return
        call.caller_number = number

    async def _wait_in_stasis(self, out: str) -> bool | str:
        """Wait for the created leg's StasisStart: True, "caller gone", or False when the
        leg ended or did not enter within ``stasis_wait`` seconds."""
        call = self.call
        deadline = self.loop.time() + self.ctl.stasis_wait
        while out not in call.in_stasis:
            if self._caller_gone():
                return "caller gone"
            if out in call.gone:
                return False
            item = await self._next(deadline - self.loop.time())
            if item is None:
                return False
            if isinstance(item, Marker) and item.kind == "vanished":
                for leg in item.legs:
                    call.gone.setdefault(leg, None)
        return True

    def _forget_out(self, status: str, failover: bool, cause: int | None):
        call = self.call
        if failover and call.out:
            failed, call.out = call.out, None
            self.ctl.unregister(failed)
            # a trunk leg that Asterisk hung up itself (a PJSIP carrier's 503) went first; it
            # must not count as the end of the call the next trunk may answer
            if call.first_gone == failed:
                call.first_gone = next((leg for leg in call.gone if leg in call.legs()), None)
        return status, failover, cause

    async def _stop_ringback(self) -> None:
        if self.call.ringback:
            playback, self.call.ringback = self.call.ringback, None
            await self._quiet(self.ari.playback_stop(playback))

    async def _wait_destroyed(self, leg: str) -> bool:
        deadline = self.loop.time() + self.ctl.cause_wait
        while leg not in self.call.destroyed:
            if await self._next(deadline - self.loop.time()) is None:
                return False
        return True

    async def _hangup_leg(self, leg: str, reason: str = "normal") -> None:
        call = self.call
        if leg in call.hung_up_by_us or (leg in call.gone and leg in call.destroyed):
            return
        call.hung_up_by_us.add(leg)
        await self._quiet(self.ari.channel_hangup(leg, reason=reason))

    # --- answered --------------------------------------------------------------------------------

    async def _answer(self) -> None:
        call, ctl = self.call, self.ctl
        call.phase = "talking"
        call.answer_mono = self.loop.time()
        answered_at = ctl.coovox.now()
        call.info = replace(call.info, answered_at=answered_at)
        await self._stop_ringback()
        await self._quiet(self.ari.channel_ring_stop(call.caller))
        await self._quiet(self.ari.channel_answer(call.caller))
        try:
            bridge = await self.ari.bridge_create("mixing", name=f"coovox-{call.id}")
            call.bridge = bridge["id"]
            await self.ari.bridge_add(call.bridge, [call.caller, call.out])
        except AriError as exc:
            log.warning("call %s: bridging failed: %s", call.id, exc)
        await services.update_call(call.id, answered_at=answered_at, out_channel=call.out,
                                   bridge_id=call.bridge or "")
        self.arm_cap(0.0)
        await ctl.announce_answered(call, resumed=False)
        await self._talk()

    def arm_cap(self, elapsed: float) -> None:
        call = self.call
        if call.cap is None:
            return
        by = call.cap_by or gates.CORE
        reason = causes.TIME_LIMIT if by == gates.CORE else causes.CAP_REACHED
        cap = call.cap

        async def reached() -> None:
            await self.ctl.cut(call.id, reason, billed_until=cap, plugin=by)

        self.ctl.schedule(call.id, cap, reached)

    async def _talk(self) -> None:
        call = self.call
        while True:
            gone = [leg for leg in call.legs() if leg in call.gone]
            if gone:
                if call.shutdown:  # nobody hung up: Asterisk is stopping
                    who = causes.ASTERISK_SHUTDOWN
                elif call.first_gone == call.caller:
                    who = causes.CALLER_HUNG_UP
                else:
                    who = causes.CALLEE_HUNG_UP
                await self._end(causes.ANSWERED, who)
                return
            item = await self._next(None)
            if isinstance(item, Marker):
                if item.kind == "cut":
                    await self.ctl.notify_cut(call, item.reason, item.plugin)
                    await self._end(causes.ANSWERED, item.reason,
                                    billed_until=item.billed_until)
                    return
                if item.kind == "vanished":
                    first = item.legs[0]
                    for leg in item.legs:
                        call.gone.setdefault(leg, None)
                    call.first_gone = call.first_gone or first
                    if all(leg in item.legs for leg in call.legs()):
                        # both gone unseen (Asterisk restarted, or both hung up while the
                        # websocket was down): who hung up first is not known
                        who = causes.ENDED_WHILE_AWAY
                    else:
                        who = (causes.CALLER_HUNG_UP if first == call.caller
                               else causes.CALLEE_HUNG_UP)
                    await self._end(causes.ANSWERED, who, ended_at=item.at)
                    return

    # --- end -------------------------------------------------------------------------------------

    async def _end(self, status: str, reason: str, *, cause: int | None = None,
                   billed_until: float | None = None, ended_at: datetime | None = None,
                   hangup_reason: str = "normal") -> None:
        """Hang up what is left, destroy the bridge, finish the record once, tell plugins."""
        call, ctl = self.call, self.ctl
        if call.phase in ("ending", "done"):
            return
        call.phase = "ending"
        ended_at = ended_at or ctl.coovox.now()
        ctl.cancel_timers(call)
        await self._stop_ringback()
        for leg in call.legs():
            if leg not in call.gone:
                await self._hangup_leg(leg, reason=hangup_reason if leg == call.caller
                                       else "normal")
        if call.bridge:
            await self._quiet(self.ari.bridge_destroy(call.bridge))
        if cause is None and call.first_gone:
            cause = call.gone.get(call.first_gone)
            if cause is None and call.first_gone not in call.destroyed:
                if await self._wait_destroyed(call.first_gone):
                    cause = call.gone.get(call.first_gone)
        await self._record()  # the database was away at the start: one more try
        row = None
        try:
            if self.recorded:
                row = await services.finish_call(call.id, status=status, reason=reason,
                                                 ended_at=ended_at, cause=cause,
                                                 billed_talk_time=billed_until,
                                                 extra=self.pending)
            else:
                log.error("call %s (extension %s dialled %s) ended %s (%s) with NO call "
                          "record: the database is unavailable", call.id, call.extension,
                          call.dialed, status, reason)
        finally:  # a record left active by a failed write is closed by the next reconcile
            call.phase = "done"
            ctl.forget(call)
        if row is not None:
            await ctl.announce_ended(call, row)

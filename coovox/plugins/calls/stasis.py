"""The call controller: ARI event handlers, CallControl for plugins, recovery.

``services["calls"]`` is one :class:`CallController`.  It owns the ARI connection,
turns ``StasisStart(dialout, <extension>, <number>)`` into a :class:`CallFlow` task,
feeds each call's events to its queue, and after a websocket loss or a process restart
reconciles the calls with what Asterisk still has (see ``reconcile``).

Asterisk 22 behaviours relied on (../shared/ari transcripts): the outbound leg stays parked
in Stasis after Dial BUSY/CONGESTION (we DELETE it); a dial timeout shows only as the
outbound leg destroyed with cause 19 (no NOANSWER event); ``soft: true`` hangup causes are
not Q.850 (we take the cause from ChannelDestroyed or a non-soft request); the caller gets
ChannelDestroyed after StasisEnd only when subscribed through ``originator``; events are
not replayed after a websocket loss (we compare with GET /channels and /applications).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from coovox.ari import AriConnection, AriError, default_event_key
from coovox.context import Coovox
from coovox.hooktypes import CallInfo, GateDecision
from coovox.plugins.calls import causes, gates, prompts, records, services
from coovox.plugins.calls.flow import CallFlow
from coovox.plugins.calls.models import Call
from coovox.plugins.calls.state import CallState, Marker
from coovox.plugins.outbound.cache import ConfigCache

log = logging.getLogger(__name__)


class CallController:
    """Runs the outbound calls of this node; implements :class:`coovox.hooktypes.CallControl`.

    Settings (seconds) may be changed by tests: ``dial_timeout`` (the Dial ``timeout``),
    ``dial_grace`` (extra wait before we end a dial ourselves), ``pin_timeout`` (per try),
    ``pin_tries``, ``refuse_tone_seconds``, ``cause_wait`` (wait for ChannelDestroyed's
    Q.850 cause when the first hangup event carried none), ``stasis_wait`` (wait for a
    created trunk leg to enter Stasis before it is dialled).
    """

    def __init__(self, coovox: Coovox, ari: AriConnection | None = None, *,
                 dial_timeout: int | None = None, dial_grace: float = 5.0,
                 pin_timeout: float | None = None, pin_tries: int = 3,
                 refuse_tone_seconds: float | None = None, cause_wait: float = 1.0,
                 stasis_wait: float = 5.0) -> None:
        cfg = coovox.config
        self.coovox = coovox
        self.app = cfg.ari_app
        self.node = cfg.node_name
        self.timezone = cfg.timezone
        self.prompt_language = cfg.prompt_language
        self.sounds_dir = cfg.sounds_dir
        self.ari = ari or AriConnection(cfg.ari_url, cfg.ari_user, cfg.ari_password, cfg.ari_app,
                                        on_event=self.on_event, on_connect=self.on_connect,
                                        on_disconnect=self.on_disconnect,
                                        event_key=self.event_key)
        # the settings dial_timeout, pin_timeout, refuse_tone_seconds unless given here
        self.dial_timeout = dial_timeout or max(1, round(cfg.dial_timeout))
        self.dial_grace = dial_grace
        self.pin_timeout = cfg.pin_timeout if pin_timeout is None else pin_timeout
        self.pin_tries = pin_tries
        self.refuse_tone_seconds = (cfg.refuse_tone_seconds if refuse_tone_seconds is None
                                    else refuse_tone_seconds)
        self.cause_wait = cause_wait
        self.stasis_wait = stasis_wait
        self.heartbeat_path = cfg.data_path / f"calls-alive-{self.node}"
        self.heartbeat_every = 2.0
        self.alive_before_start = _read_heartbeat(self.heartbeat_path)
        self.config = ConfigCache()  # the outbound configuration routing reads
        self.turns: dict[str, int] = {}  # round-robin dial rules: calls started per rule
        self.calls: dict[str, CallState] = {}
        self.by_channel: dict[str, CallState] = {}
        self.lost_at: datetime | None = None
        self.reconciled = asyncio.Event()
        self._reconcile_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background (never blocks: the web UI works without Asterisk)."""
        self._spawn(self._heartbeat(), "calls-heartbeat")
        await self.ari.start()

    async def _heartbeat(self) -> None:
        """Note every few seconds that this node is alive: after a crash, calls whose legs
        vanished meanwhile end at the last moment the node was known to be running."""
        while True:
            try:  # a file write (~1 ms, more on a busy disk): off the event loop
                await asyncio.to_thread(_write_heartbeat, self.heartbeat_path,
                                        self.coovox.now().isoformat())
            except OSError as exc:
                log.debug("heartbeat not written: %s", exc)
            await asyncio.sleep(self.heartbeat_every)

    async def stop(self) -> None:
        """Stop handling calls; active records stay ``active`` and are resumed next start."""
        for call in list(self.calls.values()):
            self.cancel_timers(call)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.config.close()
        await self.ari.stop()

    def status(self) -> dict[str, Any]:
        return self.ari.status()

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- registry ----------------------------------------------------------------------------

    def register(self, channel_id: str, call: CallState) -> None:
        self.by_channel[channel_id] = call

    def unregister(self, channel_id: str) -> None:
        self.by_channel.pop(channel_id, None)

    def forget(self, call: CallState) -> None:
        self.calls.pop(call.id, None)
        for leg in (call.caller, call.out):
            if leg and self.by_channel.get(leg) is call:
                del self.by_channel[leg]

    def event_key(self, event: dict[str, Any]) -> Any:
        """All events of one call in one serial queue (keyed by the caller channel)."""
        key = default_event_key(event)
        call = self.by_channel.get(key) if isinstance(key, str) else None
        return call.caller if call is not None else key

    # --- events --------------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "StasisStart":
            args = event.get("args") or []
            if args and args[0] == "dialout":
                self._start_call(event, args)
                return
        for field in ("channel", "peer"):
            obj = event.get(field)
            if isinstance(obj, dict):
                call = self.by_channel.get(obj.get("id", ""))
                if call is not None:
                    call.note(event)
                    call.queue.put_nowait(event)
                    return
        playback = event.get("playback")
        if isinstance(playback, dict):  # a prompt played to a call's leg (PIN entry)
            target = str(playback.get("target_uri", ""))
            call = self.by_channel.get(target.removeprefix("channel:"))
            if call is not None and target.startswith("channel:"):
                call.queue.put_nowait(event)

    def _start_call(self, event: dict[str, Any], args: list[str]) -> None:
        channel = event.get("channel") or {}
        caller = channel.get("id", "")
        if caller in self.by_channel:
            return  # a repeated StasisStart for a call we already run
        extension = args[1] if len(args) > 1 else (channel.get("caller") or {}).get("number", "")
        dialed = args[2] if len(args) > 2 else (channel.get("dialplan") or {}).get("exten", "")
        call = CallState(id=CallState.new_id(), caller=caller, extension=str(extension),
                         dialed=str(dialed), started_at=self.coovox.now(),
                         caller_number=str((channel.get("caller") or {}).get("number", "")))
        self.calls[call.id] = call
        self.register(caller, call)
        call.task = self._spawn(CallFlow(self, call).run(), f"call-{call.id}")

    def next_turn(self, rule: str) -> int:
        """The turn of a round-robin rule's next call (this node's own count)."""
        turn = self.turns.get(rule, 0)
        self.turns[rule] = turn + 1
        return turn

    def on_disconnect(self, error: str | None = None) -> None:
        if self.lost_at is None:
            self.lost_at = self.coovox.now()

    async def on_connect(self) -> None:
        await self.reconcile()

    # --- recovery ------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Match calls with Asterisk after a (re)connect.

        Calls in memory whose leg vanished while the websocket was down end with the time
        the loss was noticed (events are not replayed).  Active records of this node that
        no task runs (a process restart) are resumed when both legs still exist, else closed.
        """
        async with self._reconcile_lock:
            lost_at, self.lost_at = self.lost_at, None
            # legs known before the lists are asked for: a leg that appears while they are
            # fetched (events flow meanwhile) is not in them, yet has not vanished
            known = {call.id: set(call.legs()) for call in self.calls.values()}
            try:
                app = await self.ari.application_get()
                snapshots = {c["id"]: c for c in await self.ari.channels_list()}
                channels = set(snapshots)
                bridges = {b["id"] for b in await self.ari.bridges_list()}
            except AriError as exc:
                log.warning("reconcile failed: %s", exc)
                return
            log.info("reconcile: app has %d channels, %d bridges", len(app.get("channel_ids", [])),
                     len(app.get("bridge_ids", [])))
            at = lost_at or self.coovox.now()
            for call in list(self.calls.values()):
                if call.phase in ("ending", "done"):
                    continue
                missing = tuple(leg for leg in call.legs() if leg in known.get(call.id, ())
                                and leg not in channels and leg not in call.gone)
                if missing:
                    call.queue.put_nowait(Marker("vanished", legs=missing, at=at))
                elif call.phase == "dialing" and call.out in snapshots:
                    if snapshots[call.out].get("state") == "Up":  # answered while away
                        call.queue.put_nowait({"type": "ChannelStateChange",
                                               "channel": snapshots[call.out]})
            rows = await Call.filter(status=causes.ACTIVE, node=self.node)
            rows = [row for row in rows if row.id not in self.calls]
            now = self.coovox.now()
            adopted, closing = [], []
            for row in rows:
                legs = [leg for leg in (row.caller_channel, row.out_channel) if leg]
                if (row.answered_at is not None and len(legs) == 2
                        and all(leg in channels for leg in legs)):
                    adopted.append(self._adopt(row, now))
                else:
                    closing.append(row)
            if adopted:
                await self._recheck(adopted)
            await asyncio.gather(*(self._resume(call, bridges) for call in adopted))
            for row in closing:
                await self._close_lost(row, channels, bridges, now)
            await self._start_missed(snapshots)
            await self._hang_up_orphans(snapshots)
            self.reconciled.set()

    async def _hang_up_orphans(self, snapshots: dict[str, dict[str, Any]]) -> None:
        """Trunk legs in the app that no call owns (created just before a crash, their
        record never written) are hung up: nobody would bill or end them otherwise."""
        prefix = f"{self.app},outbound"
        legs = [cid for cid, snap in snapshots.items() if cid not in self.by_channel
                and str((snap.get("dialplan") or {}).get("app_data", "")).startswith(prefix)]
        if not legs:
            return
        # a leg of another node's call (several nodes, one Asterisk) is not ours to end
        owned = set(await Call.filter(out_channel__in=legs).exclude(node=self.node)
                    .values_list("out_channel", flat=True))
        for leg in legs:
            if leg in owned or leg in self.by_channel:
                continue
            log.warning("trunk channel %s belongs to no call: hanging it up", leg)
            try:
                await self.ari.channel_hangup(leg, reason="normal")
            except AriError:
                pass

    async def _start_missed(self, snapshots: dict[str, dict[str, Any]]) -> None:
        """Phones that entered Stasis(dialout) while the websocket was down (their StasisStart
        was never delivered) are handled now instead of waiting in silence forever."""
        prefix = f"{self.app},dialout,"
        candidates = [snap for cid, snap in snapshots.items()
                      if cid not in self.by_channel and snap.get("state") != "Up"
                      and (snap.get("dialplan") or {}).get("app_name") == "Stasis"
                      and str((snap.get("dialplan") or {}).get("app_data", "")).startswith(prefix)]
        if not candidates:
            return
        # a channel that already has a record (any status, any node) is never started again
        busy = set(await Call.filter(caller_channel__in=[c["id"] for c in candidates])
                   .values_list("caller_channel", flat=True))
        for snap in candidates:
            if snap["id"] in busy or snap["id"] in self.by_channel:
                continue
            args = str(snap["dialplan"]["app_data"]).split(",")[1:]
            log.info("channel %s entered Stasis while disconnected: handling it now", snap["id"])
            self._start_call({"type": "StasisStart", "channel": snap, "args": args}, args)

    def _adopt(self, row: Call, now: datetime) -> CallState:
        """Take a persisted answered call back into memory: its events queue from now on."""
        call = _state_of(row)
        call.phase = "talking"
        decisions, cap, by = gates.decisions_from_json(row.decisions)
        call.decisions, call.cap, call.cap_by = decisions, cap, by
        elapsed = max(0.0, (now - row.answered_at).total_seconds())
        call.answer_mono = asyncio.get_running_loop().time() - elapsed
        self.calls[call.id] = call
        self.register(call.caller, call)
        self.register(call.out, call)
        return call

    async def _recheck(self, adopted: list[CallState]) -> None:
        """Legs that went between the first channel list and the adoption (no event seen)."""
        try:
            channels = {c["id"] for c in await self.ari.channels_list()}
        except AriError:
            return
        at = self.coovox.now()
        for call in adopted:
            missing = tuple(leg for leg in call.legs()
                            if leg not in channels and leg not in call.gone)
            if missing:
                call.queue.put_nowait(Marker("vanished", legs=missing, at=at))

    async def _close_lost(self, row: Call, channels: set[str], bridges: set[str],
                          now: datetime) -> None:
        """Close a persisted call that cannot be resumed; hang up what is left of it."""
        legs = [leg for leg in (row.caller_channel, row.out_channel) if leg]
        for leg in legs:
            if leg in channels:
                try:
                    await self.ari.channel_hangup(leg, reason="normal")
                except AriError:
                    pass
        if row.bridge_id and row.bridge_id in bridges:
            try:
                await self.ari.bridge_destroy(row.bridge_id)
            except AriError:
                pass
        status = causes.ANSWERED if row.answered_at else causes.FAILED
        reason = causes.ENDED_WHILE_AWAY if row.answered_at else causes.INTERRUPTED
        ended_at = now
        if self.alive_before_start is not None:  # the last moment the old process was alive
            ended_at = max(row.answered_at or row.started_at, min(now, self.alive_before_start))
        done = await services.finish_call(row.id, status=status, reason=reason,
                                          ended_at=ended_at, cause=None, billed_talk_time=None)
        if done is not None:
            await self.announce_ended(_state_of(row), done)

    async def _resume(self, call: CallState, bridges: set[str]) -> None:
        if not call.bridge or call.bridge not in bridges:
            try:
                bridge = await self.ari.bridge_create("mixing", name=f"coovox-{call.id}")
                call.bridge = bridge["id"]
                await self.ari.bridge_add(call.bridge, [call.caller, call.out])
                await services.update_call(call.id, bridge_id=call.bridge)
            except AriError as exc:
                log.warning("call %s: re-bridging failed: %s", call.id, exc)
        flow = CallFlow(self, call)
        elapsed = asyncio.get_running_loop().time() - (call.answer_mono or 0.0)
        flow.arm_cap(elapsed)
        log.info("call %s resumed after %.1f s of talk", call.id, elapsed)
        await self.announce_answered(call, resumed=True)
        call.task = self._spawn(flow.run_resumed(), f"call-{call.id}")

    # --- plugin hooks ------------------------------------------------------------------------------

    async def ask_gates(self, info: CallInfo) -> dict[str, GateDecision]:
        """``coovox_call_gate`` through the host: a plugin that fails (e.g. its database is
        away) refuses the call, since failing open would let out a call nobody can bill."""
        answers = await self.coovox.plugins.acall_each("coovox_call_gate", call=info)
        return {name: d for name, d in answers.items() if isinstance(d, GateDecision)}

    async def announce_answered(self, call: CallState, *, resumed: bool) -> None:
        """``coovox_call_answered`` plugin by plugin, each with its own gate decision."""
        info = call.info
        self.coovox.publish("call.answered", "calls", call_id=info.call_id,
                            extension=info.extension, dialed=info.dialed, resumed=resumed)
        await self.coovox.plugins.acall_each(
            "coovox_call_answered", call=info, control=self, resumed=resumed,
            per_plugin=lambda name: {"decision": call.decisions.get(name)})

    async def notify_cut(self, call: CallState, reason: str, plugin: str) -> None:
        info = call.info
        self.coovox.publish("call.cut", "calls", call_id=info.call_id,
                            extension=info.extension, reason=reason, plugin=plugin)
        await self.coovox.plugins.acall_each("coovox_call_cut", call=info, reason=reason,
                                             plugin=plugin)

    async def announce_ended(self, call: CallState, row: Call) -> None:
        record = records.record_of(row)
        self.coovox.publish("call.ended", "calls", call_id=record["id"],
                            extension=record["extension"], status=record["status"],
                            reason=record["reason"], talk_time=record["talk_time"],
                            billed_talk_time=record["billed_talk_time"])
        await self.coovox.plugins.acall_each("coovox_call_ended", call=call.info,
                                             record=record)

    # --- CallControl -----------------------------------------------------------------------------

    async def cut(self, call_id: str, reason: str, *, billed_until: float | None = None,
                  plugin: str = "") -> bool:
        call = self.calls.get(call_id)
        if call is None or call.phase != "talking" or call.cut_requested:
            return False
        call.cut_requested = True
        call.queue.put_nowait(Marker("cut", reason=reason, billed_until=billed_until,
                                     plugin=plugin or gates.CORE))
        return True

    def prompt(self, name: str) -> str:
        """The media URI of one of CooVox's voice prompts in the configured language."""
        return prompts.prompt_media(name, self.prompt_language, self.sounds_dir)

    async def play_prompt(self, call_id: str, name: str) -> bool:
        """A short beep, then the voice prompt ``name`` (the beep is heard even where the
        prompt's file cannot be read)."""
        return await self.play_tone(call_id, f"{prompts.BEEP},{self.prompt(name)}")

    async def play_tone(self, call_id: str, tone: str) -> bool:
        call = self.calls.get(call_id)
        if call is None or call.phase != "talking":
            return False
        try:
            await self.ari.channel_play(call.caller, tone)
        except AriError:
            return False
        return True

    def schedule(self, call_id: str, at_talk_seconds: float,
                 callback: Callable[[], Awaitable[None]]) -> None:
        call = self.calls.get(call_id)
        if call is None or call.answer_mono is None or call.phase in ("ending", "done"):
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            if call.phase == "talking":
                self._spawn(_guarded(callback, call.id), f"timer-{call.id}")

        call.timers.append(loop.call_at(call.answer_mono + at_talk_seconds, fire))

    def talk_seconds(self, call_id: str) -> float | None:
        call = self.calls.get(call_id)
        if call is None or call.answer_mono is None or call.phase != "talking":
            return None
        return asyncio.get_running_loop().time() - call.answer_mono

    def cancel_timers(self, call: CallState) -> None:
        for handle in call.timers:
            handle.cancel()
        call.timers.clear()


async def _guarded(callback: Callable[[], Awaitable[None]], call_id: str) -> None:
    try:
        await callback()
    except Exception:
        log.exception("a timer of call %s failed", call_id)


def _write_heartbeat(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _read_heartbeat(path) -> datetime | None:
    try:
        return datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _state_of(row: Call) -> CallState:
    """A call's in-memory state rebuilt from its record (after a restart)."""
    return CallState(id=row.id, caller=row.caller_channel, extension=row.extension,
                     dialed=row.dialed, started_at=row.started_at, info=records.info_of(row),
                     out=row.out_channel or None, bridge=row.bridge_id or None, trunk=row.trunk)

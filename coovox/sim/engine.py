"""Behaviour of the ARI double: what Asterisk 22 does and which events the app gets.

Pure state machine on the event loop; events go to ``emit(event)`` in order. Event
sequences follow the captured transcripts (see ../shared/ari/README.md).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections.abc import Callable
from typing import Any

from coovox.sim.errors import AppNotRegistered, SimError
from coovox.sim.media import BridgesMixin, PlaybacksMixin
from coovox.sim.state import (
    ASTERISK_ID,
    HANGUP_REASONS,
    SOFT_APPUNLOAD,
    SOFT_EXPLICIT,
    SOFT_SHUTDOWN,
    FarEnd,
    SimBridge,
    SimChannel,
    SimPlayback,
    ari_time,
    cause_text,
)

DTMF_DIGITS = set("0123456789ABCD*#")


def parse_endpoint(endpoint: str) -> tuple[str, str, str]:
    """``Local/123450@pstn`` -> (``Local``, ``123450``, ``pstn``)."""
    tech, _, resource = endpoint.partition("/")
    if not tech or not resource:
        raise SimError(400, "Invalid endpoint")
    number, _, context = resource.partition("@")
    return tech, number, context


class SimEngine(BridgesMixin, PlaybacksMixin):
    """Channels, bridges, playbacks of one Asterisk and its single Stasis ``app``."""

    def __init__(self, app: str, emit: Callable[[dict[str, Any]], None], *,
                 time_scale: float = 1.0, sound_duration: float = 0.5,
                 stasis_entry_delay: float = 0.02) -> None:
        self.app = app
        # a channel made by POST /channels/create enters Stasis up to this many seconds
        # after the request was answered (uniformly at random; 0 = at once)
        self.stasis_entry_delay = stasis_entry_delay
        self._emit = emit
        self.time_scale = time_scale
        self.sound_duration = sound_duration
        self.channels: dict[str, SimChannel] = {}
        self.bridges: dict[str, SimBridge] = {}
        self.playbacks: dict[str, SimPlayback] = {}
        self.far_ends: dict[str, FarEnd] = {}
        self.app_registered = False
        self.connected = False
        # the app's event filter (PUT /applications/{app}/eventFilter): [{"type": ...}]
        self.events_allowed: list[dict[str, Any]] = []
        self.events_disallowed: list[dict[str, Any]] = []
        self._reset_ids()

    # --- ids, events ------------------------------------------------------------------------

    def _reset_ids(self) -> None:
        self._epoch = int(time.time())
        self._seq = itertools.count(1)
        self._local_seq = itertools.count(1)

    def _new_id(self) -> str:
        return f"{self._epoch}.{next(self._seq)}"

    def event(self, kind: str, **fields: Any) -> None:
        """Emit one event to the app (the transport drops it when nobody listens)."""
        if not self.event_allowed(kind):
            return
        event = {"type": kind, "timestamp": ari_time(), **fields,
                 "asterisk_id": ASTERISK_ID, "application": self.app}
        self._emit(event)

    def event_allowed(self, kind: str) -> bool:
        """As Asterisk's app_event_filter_allowed: in the allowed list (or that list is
        empty) and not in the disallowed list."""
        allowed = not self.events_allowed or any(
            f.get("type") == kind for f in self.events_allowed)
        return allowed and not any(f.get("type") == kind for f in self.events_disallowed)

    def set_event_filter(self, body: Any) -> None:
        """The rules of PUT /applications/{app}/eventFilter: an empty body clears both
        lists; a list given is set, a list not given is left as it is."""
        if body is None or body == {}:
            self.events_allowed, self.events_disallowed = [], []
            return
        if not isinstance(body, dict):
            raise SimError(400, "Invalid format definition")
        lists = {}
        for name in ("allowed", "disallowed"):
            if name not in body:
                continue
            value = body[name]
            if not isinstance(value, list) or not all(
                    isinstance(f, dict) and isinstance(f.get("type"), str) and f["type"]
                    for f in value):
                raise SimError(400, "Invalid format definition")
            lists[name] = [dict(f) for f in value]
        if "allowed" in lists:
            self.events_allowed = lists["allowed"]
        if "disallowed" in lists:
            self.events_disallowed = lists["disallowed"]

    def _unregister_app(self) -> None:
        """The app is destroyed: a new one starts without an event filter."""
        self.app_registered = False
        self.events_allowed, self.events_disallowed = [], []

    def chan_event(self, kind: str, ch: SimChannel, **fields: Any) -> None:
        if ch.delivered:
            self.event(kind, **fields, channel=ch.snapshot())

    def _later(self, ch: SimChannel | None, delay: float, fn: Callable, *args: Any) -> None:
        handle = asyncio.get_running_loop().call_later(max(0.0, delay), fn, *args)
        if ch is not None:
            ch.timers.append(handle)

    # --- lookups ----------------------------------------------------------------------------

    def channel(self, channel_id: str) -> SimChannel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise SimError(404, "Channel not found")
        return ch

    def bridge(self, bridge_id: str) -> SimBridge:
        br = self.bridges.get(bridge_id)
        if br is None:
            raise SimError(404, "Bridge not found")
        return br

    def app_snapshot(self) -> dict[str, Any]:
        return {"name": self.app,
                "channel_ids": [c.id for c in self.channels.values() if c.delivered],
                "bridge_ids": list(self.bridges), "endpoint_ids": [], "device_names": [],
                "events_allowed": [dict(f) for f in self.events_allowed],
                "events_disallowed": [dict(f) for f in self.events_disallowed]}

    def has_subscriptions(self) -> bool:
        return bool(self.bridges) or any(c.delivered for c in self.channels.values())

    def check_app(self) -> None:
        """An inactive app without subscriptions is destroyed (as Asterisk does)."""
        if not self.connected and not self.has_subscriptions():
            self._unregister_app()

    # --- phone side -------------------------------------------------------------------------

    def _local_pair(self, number: str, context: str, first_kind: str,
                    second_kind: str, ids: tuple[str | None, str | None] = (None, None)
                    ) -> tuple[SimChannel, SimChannel]:
        suffix = f"{next(self._local_seq):08x}"
        base = f"Local/{number}@{context}-{suffix}"
        one = SimChannel(ids[0] or self._new_id(), base + ";1", first_kind)
        two = SimChannel(ids[1] or self._new_id(), base + ";2", second_kind,
                         creationtime=one.creationtime)
        one.other, two.other = two, one
        self.channels[one.id] = one
        self.channels[two.id] = two
        return one, two

    def place_call(self, extension: str, number: str, caller_name: str = "") -> SimChannel:
        """A phone dials ``number``: the ;2 half enters Stasis(app, dialout, ext, number)."""
        if not self.app_registered:
            raise AppNotRegistered(409, f"Stasis app '{self.app}' doesn't exist")
        if not extension or not number:
            raise SimError(400, "extension and number are required")
        cid = {"name": caller_name, "number": extension}
        phone, caller = self._local_pair(number, "from-internal", "phone", "caller")
        phone.caller, phone.connected = dict(cid), dict(cid)
        phone.dialplan = {"context": "from-internal", "exten": number, "priority": 1,
                          "app_name": "AppDial2", "app_data": "(Outgoing Line)"}
        caller.caller, caller.connected = dict(cid), dict(cid)
        caller.state = "Ring"
        caller.has_pbx = True
        args = ["dialout", extension, number]
        caller.dialplan = {"context": "from-internal", "exten": number, "priority": 2,
                           "app_name": "Stasis", "app_data": ",".join([self.app, *args])}
        caller.in_stasis = True
        self.chan_event("StasisStart", caller, args=args)
        return phone

    def phone_hangup(self, channel_id: str, cause: int = 16) -> None:
        """The phone hangs up (``channel_id``: the caller in Stasis or its phone half)."""
        ch = self.channel(channel_id)
        if ch.kind == "phone":
            ch = ch.other or ch
        self._hangup_from_other_half(ch, cause)

    def far_hangup(self, channel_id: str, cause: int = 16) -> None:
        """The far end hangs up the outbound channel with Q.850 ``cause``."""
        ch = self.channel(channel_id)
        if ch.kind == "carrier":
            ch = ch.other or ch
        self._hangup_from_other_half(ch, cause)

    def _hangup_from_other_half(self, ch: SimChannel, cause: int) -> None:
        if ch.gone:
            return
        if ch.kind in ("phone", "carrier"):  # no Stasis half left: just remove
            self._destroy(ch, cause)
            return
        self.chan_event("ChannelHangupRequest", ch, cause=cause)
        self._teardown(ch, cause)

    def send_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100) -> None:
        ch = self.channel(channel_id)
        if ch.kind == "phone":
            ch = ch.other or ch
        bad = [d for d in digits if d not in DTMF_DIGITS]
        if bad:
            raise SimError(400, f"Invalid DTMF digit {bad[0]!r}")
        for digit in digits:
            self.chan_event("ChannelDtmfReceived", ch, digit=digit, duration_ms=duration_ms)

    # --- teardown ---------------------------------------------------------------------------

    def _teardown(self, ch: SimChannel, cause: int) -> None:
        """After a HangupRequest: playbacks, bridge, StasisEnd, destroy (both halves)."""
        ch.cancel_timers()
        for playback_id in list(ch.playbacks):
            playback = self.playbacks.get(playback_id)
            if playback is not None:
                self._finish_playback(playback, "done" if ch.state == "Up" else "failed")
        if ch.bridge_id:
            self._leave_bridge(ch)
        if ch.in_stasis:
            self.chan_event("StasisEnd", ch)
            ch.in_stasis = False
            self.chan_event("ChannelVarset", ch, variable="STASISSTATUS", value="SUCCESS")
            if ch.has_pbx:
                self.chan_event("ChannelHangupRequest", ch, cause=SOFT_APPUNLOAD, soft=True)
        self._destroy(ch, cause)
        if ch.other is not None and not ch.other.gone:
            self._destroy(ch.other, cause)

    def _destroy(self, ch: SimChannel, cause: int) -> None:
        ch.cancel_timers()
        if ch.gone:
            return
        ch.dialplan = dict(ch.dialplan, app_name="", app_data="")
        self.chan_event("ChannelDestroyed", ch, cause=cause, cause_txt=cause_text(cause))
        ch.gone = True
        ch.subscribed = False
        self.channels.pop(ch.id, None)
        self.check_app()

    # --- ARI: channels ----------------------------------------------------------------------

    def hangup(self, channel_id: str, reason: str | None, reason_code: str | None) -> None:
        """DELETE /channels/{id}."""
        ch = self.channel(channel_id)
        if reason is not None and reason_code is not None:
            raise SimError(400, "The reason and reason_code can't both be specified")
        cause = 16
        if reason_code is not None:
            try:
                cause = int(reason_code)
            except ValueError:
                raise SimError(400, "Invalid reason for hangup provided") from None
        elif reason is not None:
            if reason not in HANGUP_REASONS:
                raise SimError(400, "Invalid reason for hangup provided")
            cause = HANGUP_REASONS[reason]
        if ch.kind == "phone":
            self.phone_hangup(ch.id, cause)
            return
        if ch.kind == "carrier":
            self.far_hangup(ch.id, cause)
            return
        self.chan_event("ChannelHangupRequest", ch, cause=SOFT_EXPLICIT, soft=True)
        self._teardown(ch, cause)

    def answer(self, channel_id: str) -> None:
        ch = self.channel(channel_id)
        if ch.state != "Up":
            self._set_state(ch, "Up")
            if ch.kind == "caller" and ch.other is not None:
                ch.other.state = "Up"
                ch.other.dialplan = {"context": "phone", "exten": "handset", "priority": 2,
                                     "app_name": "Wait", "app_data": "3600"}

    def ring(self, channel_id: str, on: bool) -> None:
        ch = self.channel(channel_id)
        ch.ringing = on  # Asterisk sends no event to the app for this

    def _set_state(self, ch: SimChannel, state: str) -> None:
        ch.state = state
        self.chan_event("ChannelStateChange", ch)

    def set_var(self, channel_id: str, variable: str, value: str) -> None:
        ch = self.channel(channel_id)
        if not variable:
            raise SimError(400, "Variable name is required")
        function = re.fullmatch(r"([A-Za-z_]+)\((.*)\)", variable)
        if function:  # pbx_builtin_setvar_helper: a function is written, no ChannelVarset
            self._write_function(ch, function.group(1).upper(), function.group(2).lower(),
                                 value)
            return
        ch.variables[variable] = value
        self.chan_event("ChannelVarset", ch, variable=variable, value=value)

    def _write_function(self, ch: SimChannel, name: str, item: str, value: str) -> None:
        """CALLERID()/CONNECTEDLINE() with ``num``, ``name`` or ``all`` (``"name" <num>``);
        Asterisk publishes ChannelCallerId / ChannelConnectedLine. Others: 400, as an
        unknown function fails there."""
        party = {"CALLERID": ch.caller, "CONNECTEDLINE": ch.connected}.get(name)
        if party is None or item not in ("num", "number", "name", "all"):
            raise SimError(400, "Failed to execute function")
        if item == "all":
            found = re.fullmatch(r'\s*(?:"?([^"<]*?)"?\s*)?<([^>]*)>\s*', value)
            party["name"], party["number"] = found.groups("") if found else ("", value)
        else:
            party["name" if item == "name" else "number"] = value
        if name == "CALLERID":
            self.chan_event("ChannelCallerId", ch, caller_presentation=0,
                            caller_presentation_txt="Presentation Allowed, Not Screened")
        else:
            self.chan_event("ChannelConnectedLine", ch)

    def get_var(self, channel_id: str, variable: str) -> str:
        ch = self.channel(channel_id)
        if variable not in ch.variables:
            raise SimError(404, "Provided variable was not found")
        return ch.variables[variable]

    def create(self, endpoint: str, app: str, app_args: str | None, originator: str | None,
               formats: str | None, variables: dict[str, str] | None,
               channel_id: str | None = None, other_id: str | None = None) -> dict[str, Any]:
        """POST /channels/create: returns the snapshot; StasisStart follows a moment later.
        ``channel_id`` / ``other_id``: ids chosen by the app (409 when taken)."""
        if originator and formats:
            raise SimError(400, "Originator and formats can't both be specified")
        for wanted in (channel_id, other_id):
            if wanted and wanted in self.channels:
                raise SimError(409, "Channel with given unique ID already exists.")
        if app != self.app or not self.app_registered:
            raise SimError(400, f"Stasis app '{app}' doesn't exist")
        tech, number, context = parse_endpoint(endpoint)
        origin = self.channels.get(originator) if originator else None
        if originator and origin is None:
            raise SimError(400, "Originator channel not found")
        if tech.lower() == "local":
            out, carrier = self._local_pair(number, context, "outbound", "carrier",
                                            (channel_id, other_id))
            carrier.dialplan = {"context": context, "exten": number, "priority": 1,
                                "app_name": "", "app_data": ""}
        else:
            out = SimChannel(channel_id or self._new_id(),
                             f"{tech}/{context or number}-{next(self._local_seq):08x}", "outbound")
            self.channels[out.id] = out
        out.number = number
        out.dialstring = endpoint.partition("/")[2]
        out.variables.update(variables or {})
        out.dialplan = {"context": context or "default", "exten": number, "priority": 1,
                        "app_name": "", "app_data": ""}
        out.far_end = self.far_ends.get(number) or FarEnd.from_number(number, self.time_scale)
        response = out.snapshot()
        if origin is not None and not origin.gone:
            origin.subscribed = True  # stasis_app_subscribe_channel(originator)
        out.subscribed = True
        args = [a for a in (app_args or "").split(",")] if app_args else []
        # Asterisk answers the request first and puts the channel into Stasis a moment
        # later on another thread: until then a dial gets 409 "not in Stasis application".
        delay = random.uniform(0.0, self.stasis_entry_delay) if self.stasis_entry_delay else 0
        self._later(out, delay, self._enter_stasis, out, args)
        return response

    def _enter_stasis(self, out: SimChannel, args: list[str]) -> None:
        if out.gone:
            return
        app_data = ",".join([self.app, *args])
        out.dialplan = dict(out.dialplan, app_name="Stasis", app_data=app_data)
        out.in_stasis = True
        self.chan_event("ChannelDialplan", out, dialplan_app="Stasis", dialplan_app_data=app_data)
        self.chan_event("ChannelVarset", out, variable="STASISSTATUS", value="")
        self.chan_event("StasisStart", out, args=args)

    def dial(self, channel_id: str, caller: str | None, timeout: str | None) -> None:
        ch = self.channel(channel_id)
        if not ch.in_stasis:  # resource_channels.c find_control()
            raise SimError(409, "Channel not in Stasis application")
        if ch.kind != "outbound":
            raise SimError(409, "Dialing a channel not created by ARI")
        if ch.dialing:
            raise SimError(409, "Channel is not in the 'Down' state")
        try:
            limit = int(timeout) if timeout not in (None, "") else 0
        except ValueError:
            raise SimError(400, "timeout must be an integer") from None
        origin = self.channels.get(caller) if caller else None
        if caller and origin is None:
            raise SimError(404, "Caller channel not found")
        ch.dialing = True
        self._later(ch, 0, self._dial_start, ch, origin, limit)

    def _dial_start(self, ch: SimChannel, origin: SimChannel | None, limit: int) -> None:
        if ch.gone:
            return
        if origin is not None:
            ch.connected = dict(origin.caller)
        self.chan_event("ChannelConnectedLine", ch)
        self._dial_event(ch, "", ch.dialstring)
        far = ch.far_end or FarEnd()
        if far.busy:
            self._dial_event(ch, "BUSY")
        elif far.congestion:
            self._dial_event(ch, "CONGESTION")
        elif far.ring_forever or (far.answer_after or 0) > 0:
            self._set_state(ch, "Ringing")
            self._dial_event(ch, "RINGING")
            if not far.ring_forever:
                self._later(ch, far.answer_after or 0, self._far_answer, ch)
            if limit > 0:
                self._later(ch, limit * self.time_scale, self._dial_timeout, ch)
        else:
            self._far_answer(ch)

    def _dial_event(self, ch: SimChannel, status: str, dialstring: str = "") -> None:
        if ch.delivered:
            self.event("Dial", dialstatus=status, forward="", dialstring=dialstring,
                       peer=ch.snapshot())

    def _far_answer(self, ch: SimChannel) -> None:
        if ch.gone or ch.state == "Up":
            return
        ch.cancel_timers()
        self._set_state(ch, "Up")
        self._dial_event(ch, "ANSWER")
        if ch.other is not None:
            ch.other.state = "Up"
        far = ch.far_end or FarEnd()
        if far.hangup_after is not None:
            self._later(ch, far.hangup_after, self.far_hangup, ch.id, far.cause)

    def _dial_timeout(self, ch: SimChannel) -> None:
        """Dial timeout: Asterisk hangs the channel up itself; no NOANSWER event."""
        if ch.gone or ch.state == "Up":
            return
        self.chan_event("ChannelHangupRequest", ch, cause=SOFT_EXPLICIT, soft=True)
        self._teardown(ch, 19)

    # --- whole system -----------------------------------------------------------------------

    def shutdown(self) -> None:
        """``core stop now`` (Asterisk 22.10): every channel gets a soft hangup request with
        flag 4 (shutdown) at once, then each is torn down and destroyed with cause 16."""
        stasis = [ch for ch in self.channels.values() if ch.in_stasis and not ch.gone]
        for ch in stasis:
            self.chan_event("ChannelHangupRequest", ch, cause=SOFT_SHUTDOWN, soft=True)
        for ch in stasis:
            if not ch.gone:
                self._teardown(ch, 16)

    def reset(self) -> None:
        """Asterisk restarted: everything gone, nobody told."""
        for ch in self.channels.values():
            ch.cancel_timers()
            ch.gone = True
        self.channels.clear()
        self.bridges.clear()
        self.playbacks.clear()
        self._unregister_app()
        self._reset_ids()
        self._epoch += 1

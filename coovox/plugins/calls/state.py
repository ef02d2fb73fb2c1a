"""What the call controller keeps in memory about a call, and its internal queue markers."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coovox.hooktypes import CallInfo, GateDecision
from coovox.plugins.calls import causes


@dataclass
class Marker:
    """An internal queue item: ``cut`` (a cap or plugin) or ``vanished`` (reconcile)."""

    kind: str
    reason: str = ""
    billed_until: float | None = None
    plugin: str = ""
    legs: tuple[str, ...] = ()
    at: datetime | None = None


@dataclass
class CallState:
    """What the controller knows about one call in memory."""

    id: str
    caller: str
    extension: str
    dialed: str
    started_at: datetime
    info: CallInfo | None = None
    caller_number: str = ""  # the caller leg's caller ID number (changed to the outbound one)
    out: str | None = None
    bridge: str | None = None
    trunk: str = ""
    phase: str = "setup"  # setup, dialing, talking, ending, done
    answer_mono: float | None = None
    decisions: dict[str, GateDecision] = field(default_factory=dict)
    cap: float | None = None
    cap_by: str = ""
    cut_requested: bool = False
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    gone: dict[str, int | None] = field(default_factory=dict)  # leg -> Q.850 cause if known
    destroyed: set[str] = field(default_factory=set)
    in_stasis: set[str] = field(default_factory=set)  # legs whose StasisStart was seen
    hung_up_by_us: set[str] = field(default_factory=set)
    first_gone: str | None = None
    shutdown: bool = False  # Asterisk is hanging every channel up (core stop now)
    ringback: str | None = None  # playback id of tone:ring for a caller answered for a PIN
    task: asyncio.Task | None = None

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def legs(self) -> list[str]:
        return [leg for leg in (self.caller, self.out) if leg]

    def note(self, event: dict[str, Any]) -> None:
        """Update leg state from an event (synchronously, before it is queued)."""
        channel = channel_of(event)
        if channel is None:
            return
        if event.get("type") == "StasisStart":
            self.in_stasis.add(channel)
            return
        if not causes.is_leg_gone(event):
            return
        if causes.is_shutdown(event):
            self.shutdown = True
        if channel in self.hung_up_by_us:
            if event.get("type") == "ChannelDestroyed":
                self.destroyed.add(channel)
            return
        cause = causes.q850_cause(event)
        if channel not in self.gone:
            self.gone[channel] = cause
            if self.first_gone is None:
                self.first_gone = channel
        elif cause is not None and self.gone[channel] is None:
            self.gone[channel] = cause
        if event.get("type") == "ChannelDestroyed":
            self.destroyed.add(channel)


def channel_of(event: dict[str, Any]) -> str | None:
    obj = event.get("channel")
    if isinstance(obj, dict):
        return obj.get("id")
    return None

"""Data of the ARI double: channels, bridges, playbacks, causes and ARI field shapes."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

ASTERISK_ID = "02:fc:00:00:00:01"

CAUSE_TEXT = {
    0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing",
    17: "User busy", 18: "No user responding", 19: "User alerting, no answer",
    21: "Call Rejected", 26: "Answered elsewhere",
    28: "Invalid number format (incomplete number)", 31: "Normal, unspecified",
    34: "Circuit/channel congestion", 38: "Network out of order",
    58: "Bearer capability not available", 127: "Interworking, unspecified",
}
# DELETE /channels/{id}?reason=... -> Q.850 cause (resource_channels.c)
HANGUP_REASONS = {
    "normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18,
    "rejected": 21, "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28,
    "codec_mismatch": 58, "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}
SOFT_EXPLICIT = 32   # AST_SOFTHANGUP_EXPLICIT: any ARI DELETE
SOFT_APPUNLOAD = 16  # AST_SOFTHANGUP_APPUNLOAD: the dialplan thread of a channel ends


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def ari_time(epoch: float | None = None) -> str:
    """``2026-11-22T10:31:10.068+0000``."""
    epoch = time.time() if epoch is None else epoch
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}+0000"


@dataclasses.dataclass
class FarEnd:
    """How the dialled far end behaves (times in seconds).

    ``answer_after`` None/0: answer at once; > 0: ring, then answer. ``ring_forever``,
    ``busy``, ``congestion`` win over answering. ``hangup_after``: the far end hangs up
    that long after answering, with Q.850 ``cause``.
    """

    answer_after: float | None = None
    ring_forever: bool = False
    busy: bool = False
    congestion: bool = False
    hangup_after: float | None = None
    cause: int = 16

    @classmethod
    def from_number(cls, number: str, scale: float = 1.0) -> FarEnd:
        """The fake carrier ``pstn`` of the reference setup: behaviour by the last digit."""
        digit = number[-1:] if number else "0"
        if digit == "1":
            return cls(busy=True)
        if digit == "2":
            return cls(congestion=True)
        if digit == "3":
            return cls(ring_forever=True)
        if digit == "4":
            return cls(hangup_after=5.0 * scale)
        if digit == "6":
            return cls(answer_after=2.0 * scale, hangup_after=3.0 * scale)
        return cls()  # 0, 5 and others: answer at once and stay


@dataclasses.dataclass(eq=False)
class SimChannel:
    """One channel; Local channels come in pairs (``other``).

    ``kind``: ``phone`` (;1 parked in Wait), ``caller`` (;2 in Stasis), ``outbound``
    (created by the app), ``carrier`` (the far end's half).
    """

    id: str
    name: str
    kind: str
    state: str = "Down"
    caller: dict[str, str] = dataclasses.field(default_factory=lambda: {"name": "", "number": ""})
    connected: dict[str, str] = dataclasses.field(
        default_factory=lambda: {"name": "", "number": ""})
    dialplan: dict[str, Any] = dataclasses.field(default_factory=dict)
    creationtime: str = dataclasses.field(default_factory=ari_time)
    other: SimChannel | None = None
    in_stasis: bool = False
    subscribed: bool = False      # the app keeps getting events after StasisEnd
    has_pbx: bool = False         # a dialplan thread runs (HangupRequest[16,soft] at its end)
    bridge_id: str | None = None
    variables: dict[str, str] = dataclasses.field(default_factory=dict)
    number: str = ""              # outbound: the number sent to the far end
    dialstring: str = ""
    dialing: bool = False
    far_end: FarEnd | None = None
    timers: list = dataclasses.field(default_factory=list)
    playbacks: list[str] = dataclasses.field(default_factory=list)
    ringing: bool = False
    gone: bool = False

    @property
    def delivered(self) -> bool:
        """Does the app receive this channel's events now?"""
        return self.in_stasis or self.subscribed

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state, "protocol_id": "",
                "caller": dict(self.caller), "connected": dict(self.connected),
                "accountcode": "", "dialplan": dict(self.dialplan),
                "creationtime": self.creationtime, "language": "en"}

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


@dataclasses.dataclass(eq=False)
class SimBridge:
    id: str
    name: str
    bridge_type: str = "mixing"
    channels: list[str] = dataclasses.field(default_factory=list)
    creationtime: str = dataclasses.field(default_factory=ari_time)

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "technology": "simple_bridge", "bridge_type": self.bridge_type,
                "bridge_class": "stasis", "creator": "Stasis", "name": self.name,
                "channels": list(self.channels), "creationtime": self.creationtime,
                "video_mode": "talker"}


@dataclasses.dataclass(eq=False)
class SimPlayback:
    id: str
    media_uri: str
    channel_id: str
    state: str = "queued"
    timer: Any = None
    next_uris: list[str] = dataclasses.field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        snap = {"id": self.id, "media_uri": self.media_uri}
        if self.next_uris:
            snap["next_media_uri"] = self.next_uris[0]
        snap.update({"target_uri": f"channel:{self.channel_id}", "language": "en",
                     "state": self.state})
        return snap

"""Bridges and playbacks of the ARI double (mixed into ``SimEngine``)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coovox.sim.errors import SimError
from coovox.sim.state import SimBridge, SimChannel, SimPlayback

if TYPE_CHECKING:
    from collections.abc import Callable


# Indications of the test kit's indications.conf (and of Asterisk's sample): a tone name
# is one of these or a tone string such as "!1400/500" ("!" = once, not repeated).
TONE_NAMES = frozenset({"dial", "busy", "ring", "congestion", "callwaiting", "dialrecall",
                        "record", "info", "stutter"})
_TONE_PART = re.compile(r"!?(?:M?\d+(?:[+*]\d+)?)(?:/\d+)?$")
SOUND_FORMATS = (".wav", ".ulaw", ".alaw", ".sln", ".gsm", ".g722")


def media_length(uri: str, sound_seconds: float) -> float | None:
    """How long the double plays ``uri``: None when Asterisk would fail it (a sound file
    that does not exist - the kit ships no sounds, so only absolute paths of files of
    your own play -, an unknown tone), ``inf`` for a tone: Asterisk 22's
    ``ast_control_tone`` returns only when the playback is stopped or the channel hangs
    up, even for a one-shot tone (``!1400/500`` goes silent but never finishes), so a
    media listed after a tone never plays."""
    kind, _, target = uri.partition(":")
    if kind == "tone":
        name = target.split(";")[0]
        if name in TONE_NAMES:
            return float("inf")
        parts = name.split(",")
        if not name or not all(_TONE_PART.match(p) for p in parts):
            return None
        return float("inf")
    if kind == "sound" and target.startswith("/"):
        if any(Path(target + ext).is_file() for ext in SOUND_FORMATS):
            return sound_seconds
        return None
    return None


class PlaybacksMixin:
    """Playbacks as Asterisk 22 runs them: one at a time per channel, in the order asked
    (a play while another plays waits for it), each media of a list in turn."""

    channels: dict[str, SimChannel]
    playbacks: dict[str, SimPlayback]
    time_scale: float
    sound_duration: float
    channel: Callable[[str], SimChannel]
    event: Callable[..., None]
    _later: Callable[..., None]

    def play(self, channel_id: str, media: str, playback_id: str | None) -> dict[str, Any]:
        """POST /channels/{id}/play: ``media`` may list several URIs (comma-separated)."""
        ch = self.channel(channel_id)
        uris = [m for m in (media or "").split(",") if m]
        if not uris:
            raise SimError(400, "media is required")
        playback_id = playback_id or str(uuid.uuid4())
        if playback_id in self.playbacks:
            raise SimError(409, "Playback id already in use")
        playback = SimPlayback(playback_id, uris[0], ch.id, next_uris=uris[1:])
        self.playbacks[playback_id] = playback
        busy = bool(ch.playbacks)  # Asterisk plays one playback at a time per channel
        ch.playbacks.append(playback_id)
        response = playback.snapshot()
        if not busy:
            self._later(ch, 0, self._start_playback, playback)
        return response

    def _start_playback(self, playback: SimPlayback) -> None:
        if playback.id not in self.playbacks:
            return
        playback.state = "playing"
        self.event("PlaybackStarted", playback=playback.snapshot())
        ch = self.channels.get(playback.channel_id)
        length = media_length(playback.media_uri, self.sound_duration * self.time_scale)
        if length is None:  # no such file or tone: Asterisk fails it at once
            self._later(ch, 0, self._media_done, playback, "failed")
        elif length != float("inf"):  # sounds and one-shot tones end by themselves
            self._later(ch, length, self._media_done, playback, "done")

    def _media_done(self, playback: SimPlayback, state: str) -> None:
        """One media URI ended: the next one of the list, or the playback is finished."""
        if playback.id not in self.playbacks:
            return
        if playback.next_uris:
            playback.state = "continuing"
            self.event("PlaybackContinuing", playback=playback.snapshot())
            playback.media_uri = playback.next_uris.pop(0)
            self._start_playback(playback)
            return
        self._finish_playback(playback, state)

    def _finish_playback(self, playback: SimPlayback, state: str) -> None:
        if self.playbacks.pop(playback.id, None) is None:
            return
        ch = self.channels.get(playback.channel_id)
        if ch is not None and playback.id in ch.playbacks:
            ch.playbacks.remove(playback.id)
            queued = [self.playbacks[p] for p in ch.playbacks if p in self.playbacks]
            if queued and queued[0].state == "queued":  # the next one of the channel
                self._later(ch, 0, self._start_playback, queued[0])
        if playback.state == "queued":
            return  # never started: no events
        playback.state = state
        self.event("PlaybackFinished", playback=playback.snapshot())

    def playback_get(self, playback_id: str) -> dict[str, Any]:
        playback = self.playbacks.get(playback_id)
        if playback is None:
            raise SimError(404, "Playback not found")
        return playback.snapshot()

    def playback_stop(self, playback_id: str) -> None:
        playback = self.playbacks.get(playback_id)
        if playback is None:
            raise SimError(404, "Playback not found")
        self._finish_playback(playback, "done")



class BridgesMixin:
    channels: dict[str, SimChannel]
    bridges: dict[str, SimBridge]
    chan_event: Callable[..., None]
    event: Callable[..., None]
    check_app: Callable[[], None]

    def bridge_create(self, kind: str | None, bridge_id: str | None,
                      name: str | None) -> dict[str, Any]:
        bridge_id = bridge_id or str(uuid.uuid4())
        if bridge_id in self.bridges:
            raise SimError(409, "Bridge with this id already exists")
        bridge = SimBridge(bridge_id, name or "", (kind or "mixing").split(",")[0])
        self.bridges[bridge_id] = bridge
        return bridge.snapshot()

    def bridge_add(self, bridge_id: str, channel_ids: list[str]) -> None:
        bridge = self.bridge(bridge_id)
        chans = []
        for channel_id in channel_ids:
            ch = self.channels.get(channel_id)
            if ch is None:
                raise SimError(400, "Channel not found")
            if not ch.in_stasis:
                raise SimError(422, "Channel not in Stasis application")
            chans.append(ch)
        for ch in chans:
            if ch.bridge_id == bridge.id:
                continue
            if ch.bridge_id:
                self._leave_bridge(ch)
            others = [self.channels[c] for c in bridge.channels if c in self.channels]
            bridge.channels.append(ch.id)
            ch.bridge_id = bridge.id
            self.chan_event("ChannelEnteredBridge", ch, bridge=bridge.snapshot())
            if len(others) == 1:
                peer = others[0]
                for a, b in ((peer, ch), (ch, peer)):
                    a.variables["BRIDGEPEER"] = b.name
                    self.chan_event("ChannelVarset", a, variable="BRIDGEPEER", value=b.name)
                peer.connected = dict(ch.caller)
                self.chan_event("ChannelConnectedLine", peer)

    def bridge_remove(self, bridge_id: str, channel_ids: list[str]) -> None:
        bridge = self.bridge(bridge_id)
        for channel_id in channel_ids:
            ch = self.channels.get(channel_id)
            if ch is None:
                raise SimError(400, "Channel not found")
            if ch.bridge_id != bridge.id:
                raise SimError(422, "Channel not in this bridge")
        for channel_id in channel_ids:
            self._leave_bridge(self.channels[channel_id])

    def _leave_bridge(self, ch: SimChannel) -> None:
        bridge = self.bridges.get(ch.bridge_id or "")
        ch.bridge_id = None
        if bridge is None:
            return
        if ch.id in bridge.channels:
            bridge.channels.remove(ch.id)
        if ch.variables.get("BRIDGEPEER"):
            ch.variables["BRIDGEPEER"] = ""
            self.chan_event("ChannelVarset", ch, variable="BRIDGEPEER", value="")
        self.chan_event("ChannelLeftBridge", ch, bridge=bridge.snapshot())

    def bridge_destroy(self, bridge_id: str) -> None:
        bridge = self.bridge(bridge_id)
        for channel_id in list(bridge.channels):
            ch = self.channels.get(channel_id)
            if ch is not None:
                self._leave_bridge(ch)
        del self.bridges[bridge_id]
        self.event("BridgeDestroyed", bridge=bridge.snapshot())
        self.check_app()

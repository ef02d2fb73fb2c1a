"""Asking the test Asterisk over ARI: what channels and bridges exist, and every event.

* :class:`AriClient` — ``GET /ari/channels``, ``/ari/bridges``; :meth:`AriClient.wait_idle`
  waits until Asterisk has no channel and no bridge left (after a test).
* :class:`Observer` — a second Stasis application (``coovox-observer``) connected with
  ``subscribeAll=true``: it sees every channel (the phone's and the carrier's PJSIP legs),
  bridge and DTMF event with Asterisk's own timestamps, so tests compare CooVox's records
  with what Asterisk did, not with the test's clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp

from coovox.ari import basic_auth

OBSERVER_APP = "coovox-observer"


def ari_time(value: str) -> datetime:
    """``2026-11-22T10:31:10.068+0000`` -> aware datetime."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


class AriClient:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.auth = {"Authorization": basic_auth(user, password)}

    async def get(self, path: str) -> Any:
        async with aiohttp.ClientSession(headers=self.auth) as s, \
                s.get(f"{self.url}/ari{path}") as r:
            r.raise_for_status()
            return await r.json()

    async def delete(self, path: str) -> int:
        async with aiohttp.ClientSession(headers=self.auth) as s, \
                s.delete(f"{self.url}/ari{path}") as r:
            return r.status

    async def channels(self) -> list[dict[str, Any]]:
        return await self.get("/channels")

    async def bridges(self) -> list[dict[str, Any]]:
        return await self.get("/bridges")

    async def wait_idle(self, timeout: float = 10) -> tuple[list[dict], list[dict]]:
        """Wait until Asterisk has no channel and no bridge; returns what is left (empty
        lists when idle) so that the caller can assert on it with a useful message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            channels, bridges = await self.channels(), await self.bridges()
            if (not channels and not bridges) or loop.time() > deadline:
                return channels, bridges
            await asyncio.sleep(0.1)


class Observer:
    """Every ARI event of the instance, as ``(event dict)`` in arrival order."""

    def __init__(self, url: str, user: str, password: str, app: str = OBSERVER_APP) -> None:
        ws = url.replace("http://", "ws://", 1).rstrip("/")
        self.ws_url = f"{ws}/ari/events?app={app}&subscribeAll=true"
        self.auth = {"Authorization": basic_auth(user, password)}
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._connected = asyncio.Event()

    async def start(self, timeout: float = 10) -> Observer:
        """Connect (again, after Asterisk restarted: the events seen so far are kept)."""
        if self._task is not None and not self._task.done():
            return self
        self._connected.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ari-observer")
        await asyncio.wait_for(self._connected.wait(), timeout)
        return self

    async def _run(self) -> None:
        async with aiohttp.ClientSession(headers=self.auth) as s:
            async with s.ws_connect(self.ws_url, heartbeat=20) as ws:
                self._connected.set()
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    self.events.append(json.loads(msg.data))
                    self._changed.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, aiohttp.ClientError):
                pass

    def mark(self) -> int:
        """The position to read from for a new test (``since=`` of the other methods)."""
        return len(self.events)

    def find(self, pred: Callable[[dict[str, Any]], bool], since: int = 0) -> list[dict]:
        return [e for e in self.events[since:] if pred(e)]

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool], *, since: int = 0,
                       timeout: float = 10) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.find(pred, since)
            if found:
                return found[0]
            if self._task is not None and self._task.done():
                raise AssertionError("the ARI observer's websocket closed")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError("no such ARI event within "
                                     f"{timeout}s; types seen: {self.types(since)}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    def types(self, since: int = 0) -> list[str]:
        return [e.get("type", "?") for e in self.events[since:]]

    # --- reading calls ------------------------------------------------------------------------

    def channel_events(self, name_prefix: str, since: int = 0) -> list[dict[str, Any]]:
        """Events about channels whose name starts with ``name_prefix`` (``PJSIP/carrier-``)."""
        return self.find(lambda e: (e.get("channel") or {}).get("name", "").startswith(
            name_prefix), since)

    def leg(self, name_prefix: str, since: int = 0) -> Leg:
        """The first channel named ``name_prefix...`` seen since ``since``, with its times."""
        events = self.channel_events(name_prefix, since)
        if not events:
            raise AssertionError(f"no channel {name_prefix}* seen; types {self.types(since)}")
        cid = events[0]["channel"]["id"]
        return Leg.of([e for e in events if e["channel"]["id"] == cid])

    def legs(self, name_prefix: str, since: int = 0) -> list[Leg]:
        """Every channel named ``name_prefix...`` seen since ``since``, in order of creation."""
        by_id: dict[str, list[dict[str, Any]]] = {}
        for e in self.channel_events(name_prefix, since):
            by_id.setdefault(e["channel"]["id"], []).append(e)
        return [Leg.of(events) for events in by_id.values()]

    def playbacks(self, since: int = 0, channel: str | None = None) -> list[Playback]:
        """Every playback seen since ``since`` (on ``channel``, an id, if given), in order of
        start."""
        found = Playback.all_of(self.events[since:])
        return [p for p in found if channel is None or p.channel == channel]

    async def destroyed_legs(self, name_prefix: str, count: int, since: int = 0,
                             timeout: float = 10) -> list[Leg]:
        """Wait until ``count`` channels named ``name_prefix...`` were destroyed (the
        observer may lag behind CooVox's records on a busy machine); all of them."""
        def done(_event: dict[str, Any]) -> bool:
            legs = self.legs(name_prefix, since)
            return sum(leg.destroyed is not None for leg in legs) >= count
        await self.wait_for(done, since=since, timeout=timeout)
        return self.legs(name_prefix, since)


class Playback:
    """One ARI playback as Asterisk reported it: its channel, every media it went through
    (``media``: ``PlaybackStarted`` then each ``PlaybackContinuing``), its final ``state``
    (``done``, ``failed``, ``stopped``...; None while it plays) and the times."""

    def __init__(self, pid: str) -> None:
        self.id = pid
        self.channel = ""
        self.media: list[str] = []
        self.state: str | None = None
        self.started: datetime | None = None
        self.finished: datetime | None = None

    @classmethod
    def all_of(cls, events: list[dict[str, Any]]) -> list[Playback]:
        found: dict[str, Playback] = {}
        for e in events:
            pb = e.get("playback")
            if not isinstance(pb, dict) or not e.get("type", "").startswith("Playback"):
                continue
            p = found.setdefault(pb["id"], cls(pb["id"]))
            target = pb.get("target_uri", "")
            p.channel = target.split(":", 1)[1] if target.startswith("channel:") else target
            at = ari_time(e["timestamp"])
            if e["type"] in ("PlaybackStarted", "PlaybackContinuing"):
                if not p.media or p.media[-1] != pb.get("media_uri"):
                    p.media.append(pb.get("media_uri", ""))
                p.started = p.started or at
            elif e["type"] == "PlaybackFinished":
                p.state, p.finished = pb.get("state"), at
        return list(found.values())

    def __repr__(self) -> str:
        return (f"<Playback {self.media} on {self.channel} state={self.state} "
                f"started={self.started} finished={self.finished}>")


class Leg:
    """One channel as Asterisk reported it: name, when it went Up, when it was destroyed,
    with which cause, and the DTMF digits it received."""

    def __init__(self) -> None:
        self.id = self.name = ""
        self.created: datetime | None = None
        self.up: datetime | None = None
        self.destroyed: datetime | None = None
        self.cause: int | None = None
        self.cause_txt = ""
        self.states: list[str] = []
        self.digits = ""
        self.events: list[dict[str, Any]] = []

    @classmethod
    def of(cls, events: list[dict[str, Any]]) -> Leg:
        leg = cls()
        leg.events = events
        for e in events:
            ch = e["channel"]
            leg.id, leg.name = ch["id"], ch["name"]
            if leg.created is None and ch.get("creationtime"):
                leg.created = ari_time(ch["creationtime"])
            if ch.get("state") and (not leg.states or leg.states[-1] != ch["state"]):
                leg.states.append(ch["state"])
            kind = e["type"]
            if kind == "ChannelStateChange" and ch.get("state") == "Up" and leg.up is None:
                leg.up = ari_time(e["timestamp"])
            elif kind == "ChannelDestroyed":
                leg.destroyed = ari_time(e["timestamp"])
                leg.cause, leg.cause_txt = e.get("cause"), e.get("cause_txt", "")
            elif kind == "ChannelDtmfReceived":
                leg.digits += e.get("digit", "")
        return leg

    @property
    def talk_seconds(self) -> float | None:
        """Up to destroyed, by Asterisk's clock."""
        if self.up is None or self.destroyed is None:
            return None
        return (self.destroyed - self.up).total_seconds()

    def __repr__(self) -> str:
        return (f"<Leg {self.name} states={self.states} up={self.up} "
                f"destroyed={self.destroyed} cause={self.cause} digits={self.digits!r}>")

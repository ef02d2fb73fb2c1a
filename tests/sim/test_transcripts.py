"""Replay each captured Asterisk transcript against the double; the app stream must match.

The app's REST actions (and the harness's ``sim`` actions) are sent in the transcript's
order, time gaps scaled by 0.1 (the double runs with ``time_scale=0.1``), and the events
received on an app websocket are compared with the transcript's app stream: same types in
the same order, same channels, states, causes, soft flags, dial statuses, variables.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from coovox.ari import basic_auth
from tests.support.ari import PASSWORD, SHARED_ARI, USER, shared_ari

SCALE = 0.1


def scenarios() -> list[str]:
    """Every transcript (15); one placeholder (skipped) when ../shared is absent."""
    names = sorted(p.stem for p in (SHARED_ARI / "transcripts").glob("*.jsonl"))
    return names or ["(no shared data)"]


def load(name: str) -> list[dict[str, Any]]:
    path = shared_ari() / "transcripts" / f"{name}.jsonl"
    return sorted((json.loads(line) for line in path.open()), key=lambda d: d["seq"])


class AppSocket:
    """An app websocket that collects every event it receives."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.events: list[dict[str, Any]] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.task: asyncio.Task | None = None

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(
            self.url + "/ari/events", params={"app": "coovox", "subscribeAll": "false",
                                              "api_key": f"{USER}:{PASSWORD}"})
        self.task = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            await asyncio.wait_for(self.task, 2)
            self.ws = None

    async def wait_count(self, count: int, timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                await asyncio.sleep(0.005)


class IdMap:
    """Transcript ids (channels, bridges, playbacks) -> the double's ids."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def learn(self, theirs: str | None, ours: str | None) -> None:
        if theirs and ours:
            assert self.ids.setdefault(theirs, ours) == ours, (theirs, ours)

    def map(self, value: str) -> str:
        return self.ids.get(value, value)

    def path(self, path: str) -> str:
        return "/".join(self.map(part) for part in path.split("/"))


def signature(event: dict[str, Any], ids: IdMap, learn: bool = False) -> tuple:
    """What must be equal between Asterisk's event and the double's."""
    chan = event.get("channel") or event.get("peer") or {}
    value = event.get("value")
    if event.get("variable") == "BRIDGEPEER":
        value = bool(value)  # channel names carry Asterisk's own counters
    playback = event.get("playback") or {}
    return (event["type"], ids.map(chan.get("id", "")), chan.get("state"),
            chan.get("dialplan", {}).get("app_name"), chan.get("connected"), event.get("cause"), event.get("soft"),
            event.get("cause_txt"), event.get("dialstatus"), event.get("dialstring"),
            event.get("args"), event.get("variable"), value, playback.get("state"),
            playback.get("media_uri"), sorted(ids.map(c) for c in
                                              (event.get("bridge") or {}).get("channels", [])))


async def replay(double, name: str) -> tuple[list[dict], list[dict], list[tuple], IdMap]:
    """Play the transcript's REST/ws actions; returns (expected, received, statuses, ids)."""
    lines = load(name)
    expected = [d["event"] for d in lines if d["kind"] == "event" and d["ws"] == "app"]
    event_times = [d["t"] for d in lines if d["kind"] == "event" and d["ws"] == "app"]
    ids = IdMap()
    statuses: list[tuple] = []
    auth = {"Authorization": basic_auth(USER, PASSWORD)}
    async with aiohttp.ClientSession(headers=auth) as session:
        sock = AppSocket(session, double.url)
        clock = 0.0
        try:
            for line in lines:
                kind = line["kind"]
                if kind == "ws" and line.get("ws") == "app":
                    if line["action"] == "connected":
                        await asyncio.sleep(max(0.0, (line["t"] - clock) * SCALE))
                        clock = line["t"]
                        await sock.connect()
                        await double.wait_connected(2)
                    elif line["action"] == "client_close":
                        await sock.wait_count(sum(1 for t in event_times if t <= line["t"]))
                        await sock.close()
                    continue
                if kind != "rest":
                    continue
                sent = line["t_sent"]
                before = sum(1 for t in event_times if t <= sent)
                if sock.ws is not None:
                    await sock.wait_count(before)
                await asyncio.sleep(max(0.0, (sent - clock) * SCALE))
                clock = sent
                query = {k: ids.map(v) for k, v in (line["query"] or {}).items()}
                if line["path"].endswith("/dial") and "timeout" in query:
                    query["timeout"] = str(int(query["timeout"]))
                async with session.request(line["method"], double.url + ids.path(line["path"]),
                                           params=query) as resp:
                    body = await resp.json() if resp.status not in (204,) else None
                    statuses.append((line["method"], line["path"], line["status"], resp.status,
                                     body if resp.status >= 400 else None))
                expected_body = line["response"]
                if isinstance(expected_body, dict) and isinstance(body, dict):
                    ids.learn(expected_body.get("id"), body.get("id"))
                    if line["actor"] == "sim" and line["path"] == "/ari/channels":
                        # the phone half ;1 answered; the ;2 half (next id) is in Stasis
                        theirs = expected_body["id"].rsplit(".", 1)
                        ours = double.channels[body["id"]].other.id
                        ids.learn(f"{theirs[0]}.{int(theirs[1]) + 1}", ours)
            await sock.wait_count(len(expected))
            await asyncio.sleep(0.05)  # anything extra would arrive now
        finally:
            await sock.close()
    return expected, sock.events, statuses, ids


@pytest.mark.parametrize("name", scenarios())
async def test_transcript_app_stream_matches(double, name):
    expected, got, statuses, ids = await replay(double, name)
    for method, path, want, status, body in statuses:
        assert status == want, f"{method} {path}: {status} {body} (Asterisk said {want})"
    want = [signature(e, ids) for e in expected]
    have = [signature(e, ids) for e in got]
    assert [s[0] for s in have] == [s[0] for s in want]
    assert have == want
    for event in got:
        assert {"type", "timestamp", "asterisk_id", "application"} <= set(event)
        assert event["timestamp"][-5:] == "+0000" and event["timestamp"][19] == "."

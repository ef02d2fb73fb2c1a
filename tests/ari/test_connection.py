"""The ARI connection: reconnects, credentials, heartbeat, dispatch, errors, status."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging

import pytest
from aiohttp import web

from coovox.ari import NOISE_EVENTS, AriConnection, AriError, AriNotFound, AriRest
from tests.support.ari import PASSWORD, USER, wait_for

SPECIAL = "p@ss:w/rd?&"


async def test_reconnects_quickly_after_the_websocket_drops(double, connect):
    connects, losses = [], []
    conn = await connect(on_connect=lambda: connects.append(1),
                         on_disconnect=lambda error: losses.append(error))
    await conn.wait_connected(3)
    await double.drop_websocket(down_for=0.3)
    await wait_for(lambda: losses, 2)
    await wait_for(lambda: conn.status()["reconnects"] == 1 and conn.connected, 2)
    assert len(connects) == 2
    assert double.connected
    # the app works again after the reconnect
    caller = await double.place_call("100", "9123450")
    assert (await conn.channel_get(caller))["state"] == "Ring"


async def test_reconnect_backoff_grows_while_the_server_refuses(double, connect):
    conn = await connect(backoff_initial=0.05, backoff_max=0.2)
    await conn.wait_connected(3)
    start = len(double.requests)
    await double.drop_websocket(down_for=0.6)
    await wait_for(lambda: conn.connected and conn.reconnects == 1, 3)
    attempts = [r.at for r in double.requests[start:] if r.path == "/ari/events"]
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert len(attempts) >= 3  # refused a few times, then accepted
    assert gaps[-1] >= gaps[0]  # the waits do not shrink (capped exponential)
    assert conn.status()["last_error"] is None


async def test_credentials_with_special_characters(fake_server):
    from coovox.sim import AriDouble
    sim = AriDouble(user="coovox", password=SPECIAL, time_scale=0.05)
    await sim.start()
    conn = AriConnection(sim.url, "coovox", SPECIAL, "coovox")
    try:
        await conn.start()
        await conn.wait_connected(3)
        bridge = await conn.bridge_create(name="x")
        assert (await conn.bridge_get(bridge["id"]))["name"] == "x"
        assert SPECIAL not in json.dumps(conn.status())
    finally:
        await conn.stop()
        await sim.stop()


async def test_wrong_password_is_reported_without_the_password(double, connect, caplog):
    caplog.set_level(logging.DEBUG)
    conn = await connect(password="wrong-" + SPECIAL)
    await wait_for(lambda: conn.status()["last_error"], 3)
    status = conn.status()
    assert status["connected"] is False
    assert "401" in status["last_error"] or "auth" in status["last_error"].lower()
    assert SPECIAL not in json.dumps(status)
    assert SPECIAL not in caplog.text


async def test_status_never_contains_the_password(double, connect, caplog):
    caplog.set_level(logging.DEBUG)
    conn = await connect()
    await conn.wait_connected(3)
    await double.drop_websocket(down_for=0.2)
    await wait_for(lambda: conn.connected and conn.reconnects == 1, 3)
    status = conn.status()
    assert set(status) >= {"connected", "connected_since", "last_error", "reconnects", "url"}
    assert status["url"] == double.url
    assert PASSWORD not in json.dumps(status) and PASSWORD not in caplog.text
    embedded = AriConnection("http://coovox:hunter2@127.0.0.1:1", USER, "hunter2", "coovox")
    assert "hunter2" not in json.dumps(embedded.status())


async def test_heartbeat_notices_a_half_open_socket(fake_server):
    """The server never answers pings: the client must drop and reconnect by itself."""
    opened = []

    async def events(request):
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        opened.append(ws)
        async for _ in ws:  # read pings, never pong
            pass
        return ws

    url = await fake_server([web.get("/ari/events", events)])
    losses = []
    conn = AriConnection(url, USER, PASSWORD, "coovox", heartbeat=0.2, check_swagger=False,
                         backoff_initial=0.05, on_disconnect=lambda e: losses.append(e))
    assert AriConnection(url, USER, PASSWORD, "coovox").heartbeat <= 15
    try:
        await conn.start()
        await wait_for(lambda: len(opened) >= 2 and losses, 5)
    finally:
        await conn.stop()


async def test_slow_handler_of_one_call_does_not_delay_another(double, connect):
    gate = asyncio.Event()
    handled: list[tuple[str, str]] = []
    slow_channel: list[str] = []

    async def handler(event):
        channel = event["channel"]["id"]
        if slow_channel and channel == slow_channel[0]:
            await gate.wait()
        handled.append((channel, event["type"]))

    conn = await connect(on_event=handler)
    await conn.wait_connected(3)
    first = await double.place_call("100", "9123450")
    await wait_for(lambda: (first, "StasisStart") in handled)
    slow_channel.append(first)
    await conn.channel_answer(first)        # blocked behind the gate
    await conn.channel_hangup(first)        # queued after it, same call
    second = await double.place_call("101", "9123451")
    await conn.channel_answer(second)
    await wait_for(lambda: (second, "ChannelStateChange") in handled)
    assert [t for c, t in handled if c == first] == ["StasisStart"]
    assert conn.router.pending >= 2
    gate.set()
    await conn.router.drain(3)
    assert [t for c, t in handled if c == first] == [
        "StasisStart", "ChannelStateChange", "ChannelHangupRequest", "StasisEnd"]


async def test_noise_events_never_reach_handlers(double, connect):
    seen = []
    # without the event filter (an Asterisk older than 13.26 sends them anyway)
    conn = await connect(on_event=seen.append, filter_noise=False)
    await conn.wait_connected(3)
    caller = await double.place_call("100", "9123450")
    bridge = await conn.bridge_create()
    await conn.bridge_add(bridge["id"], [caller])
    out = await conn.channel_create("Local/123450@pstn", "coovox", "outbound", caller)
    await double.wait_event("StasisStart", channel_id=out["id"])  # else 409, as Asterisk
    await conn.channel_dial(out["id"], caller=caller, timeout=30)
    await double.wait_event("Dial", dialstatus="ANSWER")
    await conn.bridge_add(bridge["id"], [out["id"]])
    await conn.channel_hangup(out["id"])
    await conn.channel_hangup(caller)
    await double.wait_event("ChannelDestroyed", channel_id=caller)
    await conn.router.drain(3)
    sent = {e.event["type"] for e in double.sent_events}
    assert NOISE_EVENTS <= sent  # the double did send them
    assert not NOISE_EVENTS & {e["type"] for e in seen}
    assert [e["type"] for e in seen].count("ChannelDestroyed") == 2


async def test_asterisk_is_asked_not_to_send_noise_events(double, connect):
    seen = []
    conn = await connect(on_event=seen.append)
    await conn.wait_connected(3)
    await wait_for(lambda: double.engine.events_disallowed, 3)
    app = double.engine.app_snapshot()
    assert {f["type"] for f in app["events_disallowed"]} == NOISE_EVENTS
    assert app["events_allowed"] == []
    caller = await double.place_call("100", "9123450")
    await conn.channel_hangup(caller)
    await double.wait_event("StasisEnd", channel_id=caller)
    await conn.router.drain(3)
    sent = [e.event["type"] for e in double.sent_events]
    assert "StasisStart" in sent and not NOISE_EVENTS & set(sent)
    assert [e["type"] for e in seen] == sent


async def test_a_server_without_event_filters_is_used_all_the_same(fake_server, caplog):
    async def websocket(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "ChannelVarset", "channel": {"id": "1.1"}}))
        await ws.send_str(json.dumps({"type": "StasisStart", "args": [],
                                      "channel": {"id": "1.2"}}))
        async for _ in ws:
            pass
        return ws

    async def no_filter(request):
        return web.json_response({"message": "Not found"}, status=404)

    url = await fake_server([web.get("/ari/events", websocket),
                             web.put("/ari/applications/coovox/eventFilter", no_filter)])
    seen = []
    conn = AriConnection(url, USER, PASSWORD, "coovox", on_event=seen.append,
                         check_swagger=False)
    caplog.set_level(logging.INFO, logger="coovox.ari.connection")
    try:
        await conn.start()
        await wait_for(lambda: seen and "does not filter" in caplog.text, 3)
        assert [e["type"] for e in seen] == ["StasisStart"]
        assert conn.connected
    finally:
        await conn.stop()


async def test_malformed_events_are_ignored(fake_server):
    good = {"type": "StasisStart", "args": [], "channel": {"id": "1.2"},
            "timestamp": "2026-11-22T10:31:10.068+0000", "application": "coovox"}

    async def events(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for text in ["not json", "[1, 2]", json.dumps({"no": "type"}),
                     json.dumps({"type": "StasisStart"}), json.dumps({"type": "Dial"}),
                     json.dumps({"type": "ChannelHangupRequest", "channel": "x"}),
                     json.dumps(good)]:
            await ws.send_str(text)
        async for _ in ws:
            pass
        return ws

    url = await fake_server([web.get("/ari/events", events)])
    seen = []
    conn = AriConnection(url, USER, PASSWORD, "coovox", check_swagger=False,
                         on_event=seen.append)
    try:
        await conn.start()
        await wait_for(lambda: seen, 3)
        await conn.router.drain(2)
        assert seen == [good]
        assert conn.connected and conn.reconnects == 0
    finally:
        await conn.stop()


async def test_rest_timeout_raises_ari_error(fake_server):
    async def slow(request):
        await asyncio.sleep(10)
        return web.json_response({})

    url = await fake_server([web.get("/ari/channels", slow)])
    rest = AriRest(url, USER, PASSWORD, "coovox", timeout=0.2)
    try:
        with pytest.raises(AriError) as info:
            await rest.channels_list()
        assert info.value.status == 0 and "timed out" in info.value.message
    finally:
        await rest.close()


async def test_rest_errors_carry_status_and_message(double):
    rest = AriRest(double.url, USER, PASSWORD, "coovox")
    await double.drop_websocket()  # (no app connected is fine for REST)
    try:
        assert await rest.channel_get("1.1") is None
        assert await rest.channel_hangup("1.1") is False
        assert await rest.bridge_destroy("nope") is False
        assert await rest.playback_stop("nope") is False
        with pytest.raises(AriNotFound) as info:
            await rest.channel_answer("1.1")
        assert info.value.status == 404 and "Channel not found" in info.value.message
        with pytest.raises(AriError) as info:
            await rest.request("DELETE", "/channels/1.1",
                               {"reason": "normal", "reason_code": "16"})
        assert info.value.status in (400, 404)
        with pytest.raises(ValueError):
            await rest.channel_hangup("1.1", reason="normal", reason_code=16)
    finally:
        await rest.close()


async def test_unreachable_server_is_an_ari_error_not_a_hang():
    rest = AriRest("http://127.0.0.1:9", USER, PASSWORD, "coovox", timeout=1)
    try:
        with pytest.raises(AriError) as info:
            await rest.bridges_list()
        assert PASSWORD not in str(info.value)
    finally:
        await rest.close()


async def test_unreachable_asterisk_keeps_retrying_and_stops_cleanly():
    losses = []
    conn = AriConnection("http://127.0.0.1:9", USER, SPECIAL, "coovox", backoff_initial=0.02,
                         backoff_max=0.05, on_disconnect=losses.append)
    await conn.start()
    try:
        await wait_for(lambda: conn.status()["last_error"], 3)
        status = conn.status()
        assert status["connected"] is False and status["reconnects"] == 0
        assert SPECIAL not in json.dumps(status)
        assert losses == []  # never connected, so never "lost"
    finally:
        await asyncio.wait_for(conn.stop(), 2)
    assert conn._task is None

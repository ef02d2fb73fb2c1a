"""EventRouter: serial per key, parallel across keys, robust against failing handlers."""

from __future__ import annotations

import asyncio

from coovox.ari import EventRouter, default_event_key, parse_event


def ev(kind: str, channel: str, n: int = 0) -> dict:
    return {"type": kind, "channel": {"id": channel}, "n": n}


async def test_events_of_one_key_run_in_order_and_keys_in_parallel():
    gate = asyncio.Event()
    done: list[tuple[str, int]] = []

    async def handler(event):
        if event["channel"]["id"] == "a" and event["n"] == 0:
            await gate.wait()
        await asyncio.sleep(0)
        done.append((event["channel"]["id"], event["n"]))

    router = EventRouter(handler)
    for n in range(3):
        router.submit(ev("X", "a", n))
        router.submit(ev("X", "b", n))
    while len(done) < 3:
        await asyncio.sleep(0.001)
    assert done == [("b", 0), ("b", 1), ("b", 2)]  # "a" is stuck behind its first event
    gate.set()
    await router.drain(2)
    assert [n for c, n in done if c == "a"] == [0, 1, 2]
    assert router.pending == 0


async def test_a_failing_handler_or_key_function_does_not_stop_dispatch():
    seen = []

    def handler(event):
        if event["n"] == 1:
            raise RuntimeError("boom")
        seen.append(event["n"])

    def key(event):
        if event["n"] == 3:
            raise KeyError("bad key")
        return "same"

    router = EventRouter(handler, key)
    for n in range(5):
        router.submit(ev("X", "a", n))
    await router.drain(2)
    assert sorted(seen) == [0, 2, 3, 4]


async def test_key_can_be_replaced_to_group_channels_of_one_call():
    order = []
    router = EventRouter(lambda event: order.append(event["channel"]["id"]))
    calls = {"out": "caller", "caller": "caller"}
    router.key = lambda event: calls.get(default_event_key(event))
    router.submit(ev("X", "caller"))
    router.submit(ev("X", "out"))
    assert list(router._queues) == ["caller"]
    await router.drain(2)
    assert order == ["caller", "out"]


def test_default_key_for_channel_dial_playback_and_bridge_events():
    assert default_event_key(ev("StasisStart", "1.2")) == "1.2"
    assert default_event_key({"type": "Dial", "peer": {"id": "1.3"}}) == "1.3"
    assert default_event_key({"type": "PlaybackFinished",
                              "playback": {"target_uri": "channel:1.4"}}) == "1.4"
    assert default_event_key({"type": "BridgeDestroyed", "bridge": {"id": "b"}}) == "bridge:b"
    assert default_event_key({"type": "Unknown"}) is None


def test_parse_event_drops_noise_and_malformed():
    assert parse_event('{"type": "ChannelVarset", "variable": "BRIDGEPEER"}') is None
    assert parse_event('{"type": "ChannelDialplan", "channel": {"id": "1"}}') is None
    assert parse_event("{") is None
    assert parse_event('{"type": 5}') is None
    assert parse_event('{"type": "StasisEnd", "channel": {}}') is None
    assert parse_event('{"type": "BridgeDestroyed", "bridge": {"id": "b"}}')["type"] == \
        "BridgeDestroyed"

"""Point 7: malformed ARI events are logged and ignored without harming other calls.

Sent on the real websocket by the ARI double while a metered call is up: text that is not
JSON, JSON that is not an event, events with missing fields, events for unknown channels,
a duplicate StasisStart of the live call, and the end events of a call already finished.
The live call goes on and ends with the right cost, a new call works, nothing crashes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

from coovox.plugins.billing import services
from coovox.plugins.calls.models import Call
from coovox.sim import FarEnd
from tests.reliability.books import assert_books, books_settled
from tests.reliability.proc import until
from tests.support.call_app import active_answered

TS = "2026-11-22T12:00:00.000+0000"


def _raw(double, text: str) -> None:
    """Put raw text on every app websocket (the double's own send queue keeps the order)."""
    for sock in double._sockets:
        sock.queue.put_nowait(text)


def _bad_events(live: dict, ended: list[dict]) -> list[dict]:
    chan = live["channel"]
    ghost = {**chan, "id": "9999.1", "name": "PJSIP/ghost-0001"}
    return [
        {"type": "StasisStart"},  # no channel, no args
        {"type": "StasisStart", "application": "coovox", "timestamp": TS,
         "channel": {"id": "8888.1"}, "args": ["dialout"]},  # channel without fields
        {"type": "StasisStart", "application": "coovox", "timestamp": TS, "channel": ghost,
         "args": ["dialout", "100"]},  # too few arguments
        {"type": "StasisStart", "application": "coovox", "timestamp": TS, "channel": ghost,
         "args": ["dialout", "", "9"]},  # empty extension
        dict(live),  # duplicate StasisStart of the live caller
        {"type": "ChannelHangupRequest", "application": "coovox", "timestamp": TS,
         "channel": ghost, "cause": 16},  # unknown channel
        {"type": "ChannelDestroyed", "application": "coovox", "timestamp": TS,
         "channel": ghost, "cause": "sixteen", "cause_txt": 5},  # wrong types
        {"type": "Dial", "application": "coovox", "timestamp": TS, "peer": ghost,
         "dialstatus": "ANSWER"},
        {"type": "ChannelStateChange", "application": "coovox", "timestamp": TS,
         "channel": {**chan, "state": None}},
        {"type": "StasisEnd", "application": "coovox", "timestamp": TS, "channel": None},
        {"type": "NoSuchEvent", "application": "coovox", "timestamp": TS},
        {"type": None}, {"no": "type"},
        *ended,  # the end events of a call that is finished already
    ]


async def test_malformed_events_are_ignored_without_harm(billing_app, double, caplog):
    caplog.set_level(logging.INFO)
    await services.update_accounts(["100"], {"enabled": True, "credit": Decimal(0)})
    await services.recharge(["100"], "50", "test", datetime.now(UTC))
    # a finished call, to replay its end events later
    double.far_end("555001", FarEnd(hangup_after=0.3))
    await double.place_call("100", "9555001")
    await until(lambda: Call.filter(status="answered").exists(), 10, "first call ends")
    ended = [e.event for e in double.sent_events
             if e.event.get("type") in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest")]
    # the live call
    double.far_end("555005", FarEnd())
    start = len(double.sent_events)
    caller = await double.place_call("100", "9555005")
    live = await double.wait_event("StasisStart", channel_id=caller, start=start)
    row = await active_answered()

    for text in ("not json", "[1, 2]", '"a string"', "null", "{", json.dumps({"type": 5})):
        _raw(double, text)
    for event in _bad_events(live, ended):
        _raw(double, json.dumps(event))
    await double.flush()
    await asyncio.sleep(1.0)

    assert double.connected, "the app dropped the websocket on bad events"
    still = await Call.get(id=row.id)
    assert still.status == "active" and caller in double.channels
    assert await Call.filter(caller_channel=caller).count() == 1, "duplicate StasisStart"
    # a StasisStart naming a channel Asterisk does not have is an attempt that ends at once
    # (recorded, never answered, never billed); nothing else makes a record
    others = await Call.exclude(caller_channel=caller).exclude(dialed="9555001")
    assert {c.caller_channel for c in others} <= {"8888.1", "9999.1"}
    assert all(c.status not in ("active", "answered") for c in others), others
    await asyncio.sleep(1.0)
    await double.phone_hangup(caller)
    await until(books_settled, 10, "the live call ends")
    done = await Call.get(id=row.id)
    assert (done.status, done.reason) == ("answered", "caller hung up")
    # a new call still works
    double.far_end("555009", FarEnd(hangup_after=0.3))
    await double.place_call("100", "9555009")
    await until(lambda: Call.filter(dialed="9555009", status="answered").exists(), 10,
                "a new call")
    await until(books_settled, 10, "settled")
    await assert_books()
    crashes = [r for r in caplog.records if r.exc_info and r.name.startswith("coovox")]
    assert not crashes, [r.getMessage() for r in crashes]

"""Load generation against the ARI double and latencies read on the double's own clock.

Everything is timed by the double (one process, one monotonic clock): the instant it
sends an event to the app and the instant a request of the app arrives. The helpers
``double.requests`` entries are ``SimRequest(method, path, query, at)`` and
``double.sent_events`` entries ``SentEvent(at, event)``, both on the double's loop clock.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Mark:
    """A point in the double's logs: indexes into ``requests`` / ``sent_events``."""

    requests: int
    events: int
    at: float


def mark(double: Any) -> Mark:
    """The start of a measured window.  The double keeps every request and event it saw;
    they are frozen out of this process's garbage collector first, so that a full
    collection of the measuring process (hundreds of ms once it holds millions of
    objects) does not stall the double inside a window and show up as the app's latency."""
    gc.collect()
    gc.freeze()
    return Mark(len(double.requests), len(double.sent_events), time.monotonic())


def requests_since(double: Any, since: Mark) -> list[tuple[float, str, str, dict]]:
    """(arrival time, method, path, query) of the requests received after ``since``."""
    return [(r.at, r.method, r.path, r.query) for r in double.requests[since.requests:]]


def events_since(double: Any, since: Mark) -> list[tuple[float, dict]]:
    """(send time, event) of the events sent to the app after ``since``."""
    return [(e.at, e.event) for e in double.sent_events[since.events:]]


class RequestCounter:
    """Counts requests of one kind incrementally (cheap to poll while the double is busy)."""

    def __init__(self, double: Any, since: Mark, method: str, path_part: str) -> None:
        self.double = double
        self.pos = since.requests
        self.method = method
        self.path_part = path_part
        self.count = 0

    def __call__(self) -> int:
        reqs = self.double.requests
        end = len(reqs)
        for i in range(self.pos, end):
            if reqs[i].method == self.method and self.path_part in reqs[i].path:
                self.count += 1
        self.pos = end
        return self.count


async def paced(rate: float, count: int, start_one: Callable[[int], Awaitable[Any]]
                ) -> dict[str, float]:
    """Start ``count`` calls at ``rate`` per second on a fixed schedule (no coordinated
    omission: a late start does not shift the next ones). Returns the achieved rate."""
    loop = asyncio.get_running_loop()
    tasks = []
    t0 = loop.time()
    late = 0.0
    for i in range(count):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
        tasks.append(loop.create_task(start_one(i)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = loop.time() - t0
    errors = [r for r in results if isinstance(r, BaseException)]
    return {"attempts": count, "rate_asked": rate,
            "rate_achieved": round(count / elapsed, 1) if elapsed > 0 else rate,
            "max_late_ms": round(late * 1000, 2), "errors": len(errors),
            "first_error": repr(errors[0]) if errors else ""}


def admissions(double: Any, since: Mark, callers: set[str] | None = None
               ) -> tuple[list[float], int]:
    """StasisStart(dialout) sent → POST /channels/create (originator = that caller) received.

    Returns the latencies (seconds) and the number of callers that never got a create.
    """
    starts: dict[str, float] = {}
    for t, ev in events_since(double, since):
        if ev.get("type") == "StasisStart" and (ev.get("args") or [""])[0] == "dialout":
            cid = ev["channel"]["id"]
            if callers is None or cid in callers:
                starts.setdefault(cid, t)
    creates: dict[str, float] = {}
    for t, method, path, query in requests_since(double, since):
        if method == "POST" and path.rstrip("/").endswith("/channels/create"):
            origin = query.get("originator")
            if origin in starts:
                creates.setdefault(origin, t)
    lat = [creates[c] - starts[c] for c in starts if c in creates]
    return lat, len(starts) - len(lat)


def answer_times(double: Any, since: Mark) -> dict[str, float]:
    """Channel id → instant the double told the app that channel went Up."""
    out: dict[str, float] = {}
    for t, ev in events_since(double, since):
        if ev.get("type") == "ChannelStateChange" and ev.get("channel", {}).get("state") == "Up":
            out.setdefault(ev["channel"]["id"], t)
    return out


def delete_times(double: Any, since: Mark) -> dict[str, float]:
    """Channel id → first DELETE /channels/{id} received."""
    out: dict[str, float] = {}
    for t, method, path, _q in requests_since(double, since):
        if method == "DELETE" and "/channels/" in path:
            cid = path.rstrip("/").rsplit("/", 1)[1]
            out.setdefault(cid, t)
    return out


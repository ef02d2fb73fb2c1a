"""Per-key serial event dispatch: events of one key in order, keys in parallel."""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]
Handler = Callable[[Event], Awaitable[None] | None]
KeyFn = Callable[[Event], Hashable | None]


def default_event_key(event: Event) -> Hashable | None:
    """Channel id for channel events, ``peer`` id for Dial, playback target, bridge id."""
    for field in ("channel", "peer"):
        obj = event.get(field)
        if isinstance(obj, dict) and obj.get("id"):
            return obj["id"]
    playback = event.get("playback")
    if isinstance(playback, dict):
        target = str(playback.get("target_uri", ""))
        if target.startswith("channel:"):
            return target[len("channel:"):]
        return target or None
    bridge = event.get("bridge")
    if isinstance(bridge, dict) and bridge.get("id"):
        return "bridge:" + bridge["id"]
    return None


class EventRouter:
    """Runs ``handler(event)`` in one serial queue per ``key(event)``.

    A queue's worker task exists only while it has work, so idle calls cost nothing.
    A slow or failing handler only delays events of its own key. ``key`` may be replaced
    at any time (e.g. by the call path mapping channel ids to call ids).
    """

    def __init__(self, handler: Handler, key: KeyFn | None = None) -> None:
        self.handler = handler
        self.key: KeyFn = key or default_event_key
        self._queues: dict[Hashable, collections.deque[Event]] = {}
        self._workers: dict[Hashable, asyncio.Task] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, event: Event) -> None:
        """Queue an event; never blocks and never raises for a bad key function."""
        try:
            key = self.key(event)
        except Exception:  # a broken key function must not kill the receive loop
            log.exception("event key function failed for %s", event.get("type"))
            key = None
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = collections.deque()
        queue.append(event)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.get_running_loop().create_task(self._work(key, queue))

    async def _work(self, key: Hashable, queue: collections.deque[Event]) -> None:
        try:
            while queue:
                event = queue.popleft()
                try:
                    result = self.handler(event)
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("ARI event handler failed on %s", event.get("type"))
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            if not self._workers:
                self._idle.set()

    @property
    def pending(self) -> int:
        """Events queued and not yet handled."""
        return sum(len(q) for q in self._queues.values())

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued event has been handled."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        """Cancel all workers (pending events are dropped)."""
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queues.clear()
        self._workers.clear()
        self._idle.set()

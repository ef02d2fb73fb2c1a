"""Events plugins publish and hear: ``coovox.publish(...)`` → the ``coovox_event`` hook.

Publishing never blocks and never fails the publisher: the event is queued and a single
background task hands it to every enabled plugin's ``coovox_event`` in order of
publication.  An implementation that raises is logged and the others still hear the
event.  When the queue is full (a plugin far behind), new events are dropped and counted.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coovox.context import Coovox

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000


@dataclass(frozen=True)
class Event:
    """Something that happened: ``name`` (dotted, e.g. ``call.ended``), who published it,
    when, and its data (JSON-friendly values: str, int, bool, Decimal as str, None)."""

    name: str
    source: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


class EventBus:
    """The queue between publishers and the ``coovox_event`` hook."""

    def __init__(self, coovox: Coovox) -> None:
        self._coovox = coovox
        self._queue: asyncio.Queue[Event | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.delivered = 0

    def start(self) -> None:
        if self._task is None:
            self._queue = asyncio.Queue(QUEUE_LIMIT)
            self._task = asyncio.get_running_loop().create_task(
                self._deliver(), name="coovox-events")

    def publish(self, name: str, source: str, data: Mapping[str, Any]) -> Event:
        event = Event(name, source, self._coovox.now(), MappingProxyType(dict(data)))
        if self._queue is None:
            return event  # not started (a CLI command): nobody listens
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("event queue full: %d events dropped", self.dropped)
        return event

    async def stop(self) -> None:
        """Deliver what is queued, then stop."""
        if self._task is None or self._queue is None:
            return
        await self._queue.put(None)
        try:
            await asyncio.wait_for(self._task, 10)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
        self._task = None
        self._queue = None

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            event = await self._queue.get()
            if event is None:
                return
            await self.deliver_now(event)

    async def deliver_now(self, event: Event) -> None:
        caller = self._coovox.plugins.hook.coovox_event
        for impl in reversed(caller.get_hookimpls()):
            try:
                kwargs = {"coovox": self._coovox, "event": event}
                value = impl.function(**{k: kwargs[k] for k in impl.argnames})
                if inspect.isawaitable(value):
                    await value
            except Exception:
                log.exception("plugin %s failed on event %s", impl.plugin_name, event.name)
        self.delivered += 1

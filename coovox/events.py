"""Events plugins publish and hear: ``coovox.publish(...)`` → the ``coovox_event`` hook.

Publishing never blocks and never fails the publisher: the event is queued and a single
background task hands it to every enabled plugin's ``coovox_event`` in order of
publication.  An implementation that raises is logged and the others still hear the
event.  When the queue is full (a plugin far behind), new events are dropped and counted.
"""

from __future__ import annotations

import asyncio
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


@dataclass(frozen=True)
class EventType:
    """A kind of event: its ``name``, the keys of its ``data`` and what it means."""

    name: str
    fields: tuple[str, ...]
    doc: str
    source: str = "core"


CORE_EVENTS: tuple[EventType, ...] = (
    EventType("call.started", ("call_id", "extension", "dialed", "sent", "rule", "trunks",
                               "cap", "money_cap"),
              "a call passed the gates and is about to be dialled (cap: seconds or None; "
              "money_cap: money as a string or None)", "calls"),
    EventType("call.answered", ("call_id", "extension", "dialed", "resumed"),
              "the far end answered (resumed: picked up after a restart)", "calls"),
    EventType("call.charged", ("call_id", "extension", "seq", "amount", "at", "spent"),
              "billing took a live charge: amount at talk second ``at``; spent is the "
              "call's total so far (money as strings)", "billing"),
    EventType("call.cut", ("call_id", "extension", "reason", "plugin"),
              "a call is being cut by a cap or a plugin", "calls"),
    EventType("call.ended", ("call_id", "extension", "status", "reason", "talk_time",
                             "billed_talk_time"),
              "a call attempt ended and its record is written", "calls"),
    EventType("balance.recharged", ("extension", "amount", "balance", "by"),
              "an extension was recharged; balance is the new balance", "billing"),
    EventType("balance.corrected", ("extension", "amount", "balance", "by", "reason"),
              "an extension's balance was corrected", "billing"),
    EventType("balance.low", ("extension", "call_id", "available", "seconds_left"),
              "a caller was warned that the money runs out within seconds_left of talk",
              "billing"),
    EventType("settings.changed", ("namespace", "keys", "by"),
              "settings of a namespace (e.g. billing) were saved", "billing"),
    EventType("licence.changed", ("feature", "usable"),
              "a feature's licence or trial changed (uploaded, activated)", "licensing"),
    EventType("user.signed_in", ("username", "role", "ip"),
              "a user signed in on the web UI", "web"),
)
"""The events the core publishes (their data keys are exactly ``fields``)."""


class EventBus:
    """The queue between publishers and the ``coovox_event`` hook."""

    def __init__(self, coovox: Coovox) -> None:
        self._coovox = coovox
        self._queue: asyncio.Queue[Event | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.delivered = 0
        self.types: dict[str, EventType] = {t.name: t for t in CORE_EVENTS}

    def declare(self, event_type: EventType) -> None:
        """Add a plugin's event type; a name already declared is refused."""
        known = self.types.get(event_type.name)
        if known is not None and known != event_type:
            raise ValueError(f"event {event_type.name!r} is already declared by {known.source}")
        self.types[event_type.name] = event_type

    def start(self) -> None:
        """Read the plugins' event types and start delivering."""
        from coovox.plugin_host import PluginError

        for plugin, found in self._coovox.plugins.declared("coovox_event_types"):
            for event_type in found:
                try:
                    self.declare(event_type)
                except ValueError as exc:
                    raise PluginError(f"plugin {plugin}: {exc}") from exc
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
        """Hand ``event`` to every enabled plugin's ``coovox_event`` (through the host: an
        exception is logged and the others still hear it)."""
        await self._coovox.plugins.acall_each("coovox_event", coovox=self._coovox, event=event)
        self.delivered += 1

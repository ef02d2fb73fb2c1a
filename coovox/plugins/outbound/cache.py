"""The outbound configuration in memory, for routing calls without a database trip.

Routing a call needs the extension, its dial permission, the permission's dial rules and
their trunks.  Reading them for every call cost five statements on the hottest path of
the product; the tables are small and change rarely, so the whole configuration is read
at once into a :class:`Snapshot` and kept:

- an edit made by this process (web pages, API, CSV import, or any model save/delete)
  is used by the very next call (:func:`changed` bumps a counter the cache compares);
- an edit made by another node sharing the database is used after at most
  :data:`TTL` seconds: from half the TTL on, the snapshot is re-read in the background
  while calls keep using it, so a call waits for a read only when this process changed
  the configuration or the snapshot is older than :data:`TTL` (a refresh that failed).

Up to :data:`FULL_MAX` extensions the snapshot holds all of them.  Beyond (a large CSV
import), re-reading every extension each :data:`TTL` would cost the event loop ~0.5 s per
100,000: the snapshot then holds the small tables only and each calling extension is
looked up on its own (one indexed read, on the store's read-only connection: never
behind the writes of other calls or an export's reads), kept for :data:`TTL` like the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from tortoise.signals import post_delete, post_save

from coovox.plugins.outbound.models import DialPermission, DialRule, Extension, PinSet, Trunk
from coovox.plugins.outbound.routing import (
    SEQUENTIAL,
    Condition,
    ExtensionSpec,
    RuleSpec,
    TrunkSpec,
)
from coovox.storage.work import Rows, Work, one, store

log = logging.getLogger(__name__)

TTL = 2.0  # seconds a node keeps the configuration (another node's edit is seen after this)

_writes = 0


def changed() -> None:
    """Tell the cache that this process changed the outbound configuration."""
    global _writes
    _writes += 1


def writes() -> int:
    return _writes


@post_save(Extension, DialPermission, DialRule, Trunk, PinSet)
async def _saved(*_args: Any) -> None:
    changed()


@post_delete(Extension, DialPermission, DialRule, Trunk, PinSet)
async def _deleted(*_args: Any) -> None:
    changed()


FULL_MAX = 5000  # extensions a snapshot holds all of; beyond, each is looked up on its own


@dataclass(frozen=True)
class Snapshot:
    """Everything routing reads, as plain values (``extensions``: all of them, or -- when
    ``partial`` -- the ones looked up for a call)."""

    extensions: dict[str, ExtensionSpec]
    permissions: dict[str, list[str]]
    rules: dict[str, RuleSpec]
    trunks: dict[str, TrunkSpec]
    partial: bool = False


def rule_spec(row: DialRule) -> RuleSpec:
    try:
        condition = Condition.from_json(row.condition)
    except (ValueError, TypeError, AttributeError):
        condition = None
    return RuleSpec(row.name, row.pattern, row.prefix or "", row.prepend or "",
                    tuple(row.trunks or ()), row.time_limit, row.pin_set or None, condition,
                    2 if row.caller_id == 2 else 1, row.call_method or SEQUENTIAL)


EXTENSION_COLUMNS = ("number", "name", "enabled", "dial_permission", "caller_id1",
                     "caller_id2")


def _spec(row: Any) -> ExtensionSpec:
    return ExtensionSpec(row[0], row[1], bool(row[2]), row[3], row[4] or "", row[5] or "")


EXTENSION_SQL = f"SELECT {', '.join(EXTENSION_COLUMNS)} FROM calls_extension WHERE number = ?"


async def load_extension(number: str) -> ExtensionSpec | None:
    """One extension (a large table: see :data:`FULL_MAX`)."""
    row = await store().read(one(EXTENSION_SQL, [number]))
    return _spec([row[c] for c in EXTENSION_COLUMNS]) if row else None


def _json(value: Any) -> Any:
    """A JSON column as read by raw SQL (SQLite: text; PostgreSQL's jsonb: text too)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


RULE_COLUMNS = ("name", "prefix", "pattern", "prepend", "trunks", "time_limit", "pin_set",
                "condition", "caller_id", "call_method")


def _load_work() -> Work[Snapshot]:
    counted = yield from one("SELECT COUNT(*) AS n FROM calls_extension")
    partial = int(counted["n"] if counted else 0) > FULL_MAX
    extensions = {} if partial else {
        row["number"]: _spec([row[c] for c in EXTENSION_COLUMNS])
        for row in (yield Rows(f"SELECT {', '.join(EXTENSION_COLUMNS)} FROM calls_extension"))}
    permissions = {row["name"]: list(_json(row["dial_rules"]) or []) for row in
                   (yield Rows("SELECT name, dial_rules FROM calls_dial_permission"))}
    rules = {}
    for row in (yield Rows(f"SELECT {', '.join(RULE_COLUMNS)} FROM calls_dial_rule")):
        fields = {**row, "trunks": _json(row["trunks"]), "condition": _json(row["condition"])}
        rules[row["name"]] = rule_spec(SimpleNamespace(**fields))
    trunks = {row["name"]: TrunkSpec(row["name"], row["dial_string"], bool(row["enabled"]),
                                     row["max_calls"], row["caller_id"] or "",
                                     row["prefer"] or "extension")
              for row in (yield Rows("SELECT name, dial_string, enabled, max_calls, "
                                     "caller_id, prefer FROM calls_trunk"))}
    return Snapshot(extensions, permissions, rules, trunks, partial)


async def load() -> Snapshot:
    """Read the whole outbound configuration (four or five queries), on the store's
    read-only connection: never behind the writes and reads of Tortoise's connection (the
    web log, an export's plugin fields), so a re-read started at half the TTL is done
    before the TTL even while the web is busy."""
    return await store().read(_load_work())


class ConfigCache:
    """One per call controller: :meth:`get` returns a snapshot no older than :data:`TTL`
    and taken after this process's last configuration change."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._key: tuple[int, float] = (-1, 0.0)  # (writes() when read, expiry)
        self._lock = asyncio.Lock()  # calls arriving together share one read
        self._refresh: asyncio.Task | None = None  # the background re-read (half the TTL)
        # partial snapshots: number -> (spec or None, expiry, writes() when read)
        self._looked_up: dict[str, tuple[ExtensionSpec | None, float, int]] = {}

    def _fresh(self) -> bool:
        return (self._snapshot is not None and _writes == self._key[0]
                and self.clock() < self._key[1])

    async def _reload(self) -> None:
        async with self._lock:
            count, now = _writes, self.clock()
            snapshot = await load()
            if count == _writes:  # else a newer change: the next get() reads again
                self._snapshot, self._key = snapshot, (count, now + self.ttl)
                self._looked_up = {k: v for k, v in self._looked_up.items()
                                   if v[1] > now and v[2] == count}

    async def _refresh_quietly(self) -> None:
        try:
            await self._reload()
        except Exception as exc:  # noqa: BLE001 - the next get() reads (and fails) itself
            log.warning("outbound configuration not re-read: %s", exc)

    def _refresh_ahead(self) -> None:
        """From half the TTL on, re-read in the background (once at a time)."""
        if self._refresh is None or self._refresh.done():
            if self.clock() >= self._key[1] - self.ttl / 2:
                self._refresh = asyncio.get_running_loop().create_task(
                    self._refresh_quietly(), name="outbound-config-refresh")

    async def close(self) -> None:
        """Stop a background re-read still running."""
        if self._refresh is not None and not self._refresh.done():
            self._refresh.cancel()
            await asyncio.gather(self._refresh, return_exceptions=True)

    async def get(self, number: str | None = None) -> Snapshot:
        """The configuration; with a partial snapshot, ``number``'s extension is in it."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    count, now = _writes, self.clock()
                    self._snapshot = await load()
                    self._key = (count, now + self.ttl)
                    self._looked_up = {k: v for k, v in self._looked_up.items()
                                       if v[1] > now and v[2] == count}
        else:
            self._refresh_ahead()
        snapshot = self._snapshot
        assert snapshot is not None
        if not snapshot.partial or number is None:
            return snapshot
        now = self.clock()
        entry = self._looked_up.get(number)
        if entry is None or entry[1] <= now or entry[2] != _writes:
            count = _writes
            entry = (await load_extension(number), now + self.ttl, count)
            self._looked_up[number] = entry
        spec = entry[0]
        return replace(snapshot, extensions={number: spec} if spec is not None else {})

"""Rate decks: named price lists assigned to extensions as a whole, with versions.

A deck's rates are rated like single rates (billing.md "Which rate applies") but found by
a longest-prefix index (:class:`DeckIndex`, a dict of prefixes by length) built once per
deck version and cached: a version never changes once imported, so its index is kept as
long as the version may be in effect. A version takes effect at its ``effective_from``
time; a call uses the version of each deck in effect when the call starts.

Choosing a rate considers single rates and decks together by the most-specific rule; a
single rate wins a tie (same prefix length, same length rule, same window).
"""

from __future__ import annotations

import asyncio
import logging
import time as monotime
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from coovox.plugins.billing import sql
from coovox.plugins.billing.models import DeckVersion, RateDeck
from coovox.plugins.billing.rating import RateRule, in_window, specificity
from coovox.storage.money import from_units

log = logging.getLogger(__name__)
DECKS_TTL = 2.0  # seconds a node keeps the deck list: another node's import is seen after
# at most this long (an import in this process is seen at once)

_deck_writes = 0


def deck_writes() -> int:
    """How many times this process wrote a deck or version (cache key, like rate_writes)."""
    return _deck_writes


def deck_written() -> None:
    global _deck_writes
    _deck_writes += 1


# --- the index of one version ----------------------------------------------------------------


class DeckIndex:
    """Rates of one deck version, by prefix length then prefix: lookup is one dict probe
    per distinct prefix length (at most 33), whatever the deck's size.

    A bucket holds (rule, length, whole day, specificity) entries, most specific first,
    so that the hot path computes nothing it can compute once here."""

    __slots__ = ("by_length", "lengths", "size")

    def __init__(self, rules: Iterable[RateRule]):
        self.by_length: dict[int, dict[str, list[Entry]]] = {}
        self.size = 0
        for rule in rules:
            entry = (rule, rule.length, rule.start == rule.end, specificity(rule))
            self.by_length.setdefault(len(rule.prefix), {}).setdefault(rule.prefix, []).append(
                entry)
            self.size += 1
        for table in self.by_length.values():
            for bucket in table.values():
                if len(bucket) > 1:
                    bucket.sort(key=lambda e: e[3])
        self.lengths = sorted(self.by_length, reverse=True)

    def entry(self, dialed: str, at: time) -> Entry | None:
        """The most specific entry of this version for ``dialed`` at local time ``at``."""
        n = len(dialed)
        by_length = self.by_length
        for plen in self.lengths:
            if plen > n:
                continue
            bucket = by_length[plen].get(dialed[:plen])
            if bucket is None:
                continue
            for e in bucket:  # sorted most specific first
                if (e[1] == 0 or e[1] == n) and (e[2] or in_window(e[0].start, e[0].end, at)):
                    return e
        return None

    def choose(self, dialed: str, at: time) -> RateRule | None:
        """The most specific rate of this version for ``dialed`` at local time ``at``."""
        e = self.entry(dialed, at)
        return None if e is None else e[0]


Entry = tuple[RateRule, int, bool, tuple[int, int, int, int]]


# --- what the meter caches -------------------------------------------------------------------


@dataclass
class DeckState:
    """One deck as the meter sees it: who it applies to and its versions (oldest first)."""

    id: int
    name: str
    extensions: frozenset[str] | None  # None = all extensions
    versions: list[tuple[datetime, int]]  # (effective_from UTC, version id)

    def applies_to(self, extension: str) -> bool:
        return self.extensions is None or extension in self.extensions

    def version_at(self, at: datetime) -> int | None:
        """The version in effect at ``at``: the latest whose effective time is <= at."""
        current = None
        for effective, vid in self.versions:
            if effective <= at:
                current = vid
            else:
                break
        return current


@dataclass
class DeckCache:
    """The decks and the built indexes of their versions, per process."""

    clock: Any = monotime.monotonic
    decks: list[DeckState] | None = None
    key: tuple[int, float] = (-1, 0.0)
    indexes: dict[int, DeckIndex] = field(default_factory=dict)
    _loading: dict[int, asyncio.Future] = field(default_factory=dict)

    wall: Any = None  # () -> aware datetime now (default: the system clock)

    async def states(self) -> list[DeckState]:
        """The active decks (re-read when this process wrote a deck or after the TTL).

        Each refresh keeps the indexes of the versions in effect now and of later ones,
        drops the others, and starts building the missing ones in the background: a
        scheduled version is ready before it takes effect, so no call waits for it."""
        writes, now = deck_writes(), self.clock()
        if self.decks is None or writes != self.key[0] or now >= self.key[1]:
            self.decks = await load_states()
            self.key = (writes, now + DECKS_TTL)
            wanted = self.wanted(self.wall() if self.wall else datetime.now(UTC))
            for vid in [v for v in self.indexes if v not in wanted]:
                del self.indexes[vid]
            for vid in wanted:
                if vid not in self.indexes and vid not in self._loading:
                    self._start(vid)
        return self.decks

    def wanted(self, at: datetime) -> set[int]:
        """Versions worth an index: each deck's version in effect at ``at`` and later ones."""
        out: set[int] = set()
        for deck in self.decks or []:
            current = deck.version_at(at)
            out.update(vid for eff, vid in deck.versions if vid == current or eff > at)
        return out

    def _start(self, version_id: int) -> asyncio.Future:
        pending = asyncio.ensure_future(build_index(version_id))
        self._loading[version_id] = pending

        def done(f: asyncio.Future) -> None:
            self._loading.pop(version_id, None)
            if f.cancelled():
                return
            if f.exception() is not None:
                log.warning("deck version %s: index not built: %r", version_id,
                            f.exception())
                return
            self.indexes[version_id] = f.result()

        pending.add_done_callback(done)
        return pending

    async def index(self, version_id: int) -> DeckIndex:
        """The index of a version, built once (concurrent callers share one build)."""
        idx = self.indexes.get(version_id)
        if idx is not None:
            return idx
        pending = self._loading.get(version_id) or self._start(version_id)
        return await asyncio.shield(pending)

    async def ready(self) -> None:
        """Wait for the builds in progress (tests, benchmarks)."""
        while self._loading:
            await asyncio.gather(*list(self._loading.values()), return_exceptions=True)

    def cached(self, dialed: str, extension: str, started_at: datetime,
               local: time) -> tuple[RateRule, str] | None | object:
        """:meth:`choose` without awaiting, or :data:`MISSING` when the deck list is stale
        or an index is not built yet (then await :meth:`choose`)."""
        states = self.decks
        if states is None or _deck_writes != self.key[0] or self.clock() >= self.key[1]:
            return MISSING
        best = None
        best_key = None
        for deck in states:
            if deck.extensions is not None and extension not in deck.extensions:
                continue
            vid = deck.version_at(started_at)
            if vid is None:
                continue
            idx = self.indexes.get(vid)
            if idx is None:
                return MISSING
            e = idx.entry(dialed, local)
            if e is not None and (best_key is None or e[3] < best_key):
                best, best_key = (e[0], deck.name), e[3]
        return best

    async def choose(self, dialed: str, extension: str, started_at: datetime,
                     local: time) -> tuple[RateRule, str] | None:
        """The most specific deck rate for this call and the deck's name, or None."""
        found = self.cached(dialed, extension, started_at, local)
        if found is not MISSING:
            return found  # type: ignore[return-value]
        for deck in await self.states():
            vid = deck.version_at(started_at)
            if vid is not None and deck.applies_to(extension):
                await self.index(vid)
        found = self.cached(dialed, extension, started_at, local)
        return None if found is MISSING else found  # type: ignore[return-value]


MISSING = object()


def tie_key(rule: RateRule) -> tuple[int, int, int]:
    """Specificity without the id: a single rate wins when these are equal."""
    return specificity(rule)[:3]


def prefer(single: RateRule | None, deck: RateRule | None) -> RateRule | None:
    """Single rate vs deck rate: the more specific; the single rate on a tie."""
    if deck is None:
        return single
    if single is None:
        return deck
    if len(deck.prefix) != len(single.prefix):  # the usual case, decided at once
        return deck if len(deck.prefix) > len(single.prefix) else single
    return deck if tie_key(deck) < tie_key(single) else single


# --- loading ---------------------------------------------------------------------------------


async def load_states() -> list[DeckState]:
    decks = await RateDeck.filter(active=True).order_by("id")
    if not decks:
        return []
    versions: dict[int, list[tuple[datetime, int]]] = {}
    for row in await DeckVersion.filter(deck_id__in=[d.id for d in decks]).order_by(
            "effective_from", "id").values("deck_id", "effective_from", "id"):
        versions.setdefault(row["deck_id"], []).append((row["effective_from"], row["id"]))
    return [DeckState(d.id, d.name, None if d.all_extensions else frozenset(d.extensions or []),
                      versions.get(d.id, [])) for d in decks]


RATE_COLUMNS = ("id, prefix, length, initial_cost, initial_time, rate, unit, start_time, "
                "end_time, remark")


def rule_of_row(row: Any) -> RateRule:
    """A RateRule of a billing_deck_rate row (a tuple in :data:`RATE_COLUMNS` order)."""
    rid, prefix, length, ic, it, rate, unit, start, end, remark = row
    return RateRule(id=int(rid), prefix=prefix, length=int(length),
                    initial_cost=from_units(int(ic)), initial_time=int(it),
                    rate=from_units(int(rate)), unit=int(unit), start=_time(start),
                    end=_time(end), extensions=None, remark=remark or "")


_TIMES: dict[str, time] = {}


def _time(text: str) -> time:
    t = _TIMES.get(text)
    if t is None:
        t = _TIMES[text] = time.fromisoformat(text)
    return t


async def build_index(version_id: int) -> DeckIndex:
    """Read a version's rates and build its index (the build runs in a worker thread)."""
    rows = await sql.conn().execute_query(
        sql._params(f"SELECT {RATE_COLUMNS} FROM billing_deck_rate WHERE version_id = ?",
                    sql.conn()), [version_id])
    records = [tuple(r) for r in rows[1]]
    started = monotime.perf_counter()
    index = await asyncio.to_thread(lambda: DeckIndex(rule_of_row(r) for r in records))
    log.info("deck version %s: %s rates indexed in %.2fs", version_id, index.size,
             monotime.perf_counter() - started)
    return index


_cache: DeckCache | None = None


def cache() -> DeckCache:
    """This process's deck cache (one per process, like the meter)."""
    global _cache
    if _cache is None:
        _cache = DeckCache()
    return _cache


def reset_cache() -> None:
    global _cache
    _cache = None

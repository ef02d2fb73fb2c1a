"""Call-path logic with no HTTP or ARI types: routing, PINs, trunk room, and the call
record (written once before the dial, updated at answer, finished once). The pure rules
are apart: gate combination in :mod:`coovox.plugins.calls.gates`, the record's arithmetic
in :mod:`coovox.plugins.calls.records`.

Routing reads the outbound configuration from :mod:`coovox.plugins.outbound.cache` (an edit
made in this process is used by the next call, one made by another node within 2 s).
The record is written by units of work of :mod:`coovox.storage.work` (one trip each to
the store's writer on SQLite, taking no turns for the write lock with the charges): the
INSERT before the dial, the UPDATE at answer, and the finish (read + conditional UPDATE),
the same on both databases.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from coovox.plugins.calls import causes, records
from coovox.plugins.calls.models import Call, PinSet
from coovox.plugins.outbound.cache import Snapshot
from coovox.plugins.outbound.routing import ExtensionSpec, Refusal, Route, TrunkSpec, route
from coovox.storage import retry
from coovox.storage.work import Exec, Work, one, store

log = logging.getLogger(__name__)
T = TypeVar("T")
DB_RETRIES = 4
DB_RETRY_DELAY = 0.2
DB_ERRORS = retry.DB_ERRORS


async def with_retry(what: str, fn: Callable[[], Awaitable[T]]) -> T:
    """Run a call's database read or record write, retrying a few times when the database
    connection fails (a reset connection must not lose a call or its record)."""
    return await retry.retry(what, fn, tries=DB_RETRIES,
                             delay=lambda attempt: DB_RETRY_DELAY * (attempt + 1), log=log)


async def create_call(**fields: Any) -> None:
    """Write the record of a call (``active``) with every field known so far, in one
    statement; idempotent across retries (a retried write finds its row)."""
    await with_retry("writing a call record", lambda: insert_call(fields))


async def insert_call(fields: dict[str, Any]) -> None:
    await store().run(_insert_work(records.new_record(fields)))


def _insert_work(row: dict[str, Any]) -> Work[None]:
    # a retry of a write that was done after all finds its row: nothing to do
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    yield Exec(f"INSERT INTO calls_call ({columns}) VALUES ({marks}) "
               "ON CONFLICT (id) DO NOTHING",
               [records.db_value(c, v) for c, v in row.items()])


async def update_call(call_id: str, **fields: Any) -> None:
    """Set ``fields`` on the record (one UPDATE, one trip)."""
    if fields:
        await with_retry("updating a call record",
                         lambda: store().run(_update_work(call_id, records.checked_columns(
                             fields))))


def _update_work(call_id: str, fields: dict[str, Any]) -> Work[None]:
    sets = ", ".join(f"{column} = ?" for column in fields)
    yield Exec(f"UPDATE calls_call SET {sets} WHERE id = ?",
               [*(records.db_value(c, v) for c, v in fields.items()), call_id])


# --- routing ---------------------------------------------------------------------------------


def route_with(config: Snapshot, number: str, dialed: str, now: datetime,
               timezone: str) -> tuple[ExtensionSpec | None, Route | Refusal]:
    """The calling extension and its route, from a configuration snapshot."""
    ext = config.extensions.get(number)
    if ext is None or not ext.enabled:
        return ext, route(ext, dialed, permissions={}, rules={}, trunks={}, now=now,
                          timezone=timezone)
    rule_names = config.permissions.get(ext.dial_permission)
    return ext, route(ext, dialed,
                      permissions={ext.dial_permission: list(rule_names or [])},
                      rules=config.rules, trunks=config.trunks, now=now, timezone=timezone)


async def pin_valid(pin_set: str, pin: str) -> bool:
    row = await PinSet.get_or_none(name=pin_set)
    return bool(row and pin and pin in [str(p) for p in (row.pins or [])])


async def trunk_has_room(trunk: TrunkSpec) -> bool:
    """False when the trunk's ``max_calls`` active calls (all nodes) are in progress."""
    if not trunk.max_calls:
        return True
    active = await Call.filter(status=causes.ACTIVE, trunk=trunk.name).count()
    return active < trunk.max_calls


# --- the call record -------------------------------------------------------------------------


async def finish_call(call_id: str, *, status: str, reason: str, ended_at: datetime,
                      cause: int | None, billed_talk_time: float | None,
                      extra: dict[str, Any] | None = None) -> Call | None:
    """Finish the call exactly once: one conditional UPDATE ``WHERE status='active'``.

    ``extra`` are record fields not written yet (e.g. the route of a refused call), set by
    the same UPDATE.  Returns the finished row, or None when the call was already finished
    (or unknown).  Connection failures are retried (the conditional update keeps it
    exactly once).
    """
    return await with_retry("finishing a call record", lambda: _finish(
        call_id, status, reason, ended_at, cause, billed_talk_time, dict(extra or {})))


def _finish_work(call_id: str, status: str, reason: str, ended_at: datetime,
                 cause: int | None, billed_talk_time: float | None,
                 extra: dict[str, Any]) -> Work[Call | None]:
    raw = yield from one('SELECT * FROM calls_call WHERE id = ?', [call_id])
    if raw is None or raw["status"] != causes.ACTIVE:
        return None
    row = {k: records.python_value(k, v) for k, v in raw.items()}
    fields = records.finished_fields(row["started_at"], row["answered_at"], status, reason,
                              ended_at, cause, billed_talk_time, extra)
    records.checked_columns(fields)
    sets = ", ".join(f"{column} = ?" for column in fields)
    changed = yield Exec(f"UPDATE calls_call SET {sets} WHERE id = ? AND status = ?",
                         [*(records.db_value(c, v) for c, v in fields.items()), call_id, causes.ACTIVE])
    if not changed:
        return None
    # the row as written (the conditional UPDATE made this call its only writer): no re-read
    return _as_written(Call(**row), fields, ended_at)


async def _finish(call_id: str, status: str, reason: str, ended_at: datetime,
                  cause: int | None, billed_talk_time: float | None,
                  extra: dict[str, Any]) -> Call | None:
    """The read and the conditional UPDATE: one unit of work (one trip on SQLite)."""
    return await store().run(_finish_work(call_id, status, reason, ended_at, cause,
                                          billed_talk_time, extra))


def _as_written(row: Call, fields: dict[str, Any], ended_at: datetime) -> Call:
    for name, value in fields.items():
        setattr(row, name, value)
    row.ended_at = ended_at.astimezone(UTC) if ended_at.tzinfo else ended_at.replace(tzinfo=UTC)
    return row

"""Call-path logic with no HTTP or ARI types: routing, PINs, gate decisions, and the
call record (written once before the dial, updated at answer, finished once).

Routing reads the outbound configuration from :mod:`coovox.plugins.outbound.cache` (an edit
made in this process is used by the next call, one made by another node within 2 s).
The record is written with Tortoise's public API (one statement each); finishing it
(read + conditional UPDATE) is one unit of work of :mod:`coovox.storage.work` (one trip on
SQLite), the same on both databases.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError

from coovox.hooktypes import GateDecision
from coovox.plugins.calls import causes
from coovox.plugins.calls.models import Call, PinSet
from coovox.plugins.outbound.cache import Snapshot
from coovox.plugins.outbound.routing import ExtensionSpec, Refusal, Route, TrunkSpec, route
from coovox.storage import retry
from coovox.storage.work import Exec, Work, one, store

CORE = "core"
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
    try:
        await Call.create(**fields)
    except IntegrityError:  # a retry of a write that was done after all
        if not await Call.exists(id=fields["id"]):
            raise


async def update_call(call_id: str, **fields: Any) -> None:
    await with_retry("updating a call record",
                     lambda: Call.filter(id=call_id).update(**fields))


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


# --- gate ------------------------------------------------------------------------------------


def combine_gate(decisions: dict[str, GateDecision], time_limit: float | None
                 ) -> tuple[str | None, float | None, str]:
    """(refusal reason, cap, who set the cap): any refusal wins, the smallest cap wins.

    ``decisions`` is in the order plugins were asked; the first refusal is recorded.
    The rule's time limit is a cap set by ``core``.
    """
    for decision in decisions.values():
        if decision.refuse:
            return decision.refuse, None, ""
    cap: float | None = float(time_limit) if time_limit else None
    by = CORE if cap is not None else ""
    for name, decision in decisions.items():
        if decision.cap is not None and (cap is None or decision.cap < cap):
            cap, by = float(decision.cap), name
    return None, cap, by


def money_cap_of(decisions: dict[str, GateDecision]) -> Decimal | None:
    """The smallest money cap of the gates' decisions (None: no plugin set one)."""
    caps = [d.money_cap for d in decisions.values() if d.money_cap is not None]
    return min(caps) if caps else None


def _decision_json(d: GateDecision) -> dict[str, Any]:
    out = asdict(d)
    if d.money_cap is None:
        del out["money_cap"]  # records written before money caps look the same
    else:
        out["money_cap"] = str(d.money_cap)
    return out


def decisions_to_json(decisions: dict[str, GateDecision], cap: float | None, by: str) -> dict:
    return {"plugins": {name: _decision_json(d) for name, d in decisions.items()},
            "cap": cap, "cap_by": by}


def decisions_from_json(data: Any) -> tuple[dict[str, GateDecision], float | None, str]:
    if not isinstance(data, dict):
        return {}, None, ""
    plugins = {}
    for name, d in (data.get("plugins") or {}).items():
        try:
            if d.get("money_cap") is not None:
                d = {**d, "money_cap": Decimal(d["money_cap"])}
            plugins[name] = GateDecision(**d)
        except (TypeError, ArithmeticError):
            continue
    return plugins, data.get("cap"), data.get("cap_by") or ""


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


def _finished_fields(started_at: datetime, answered_at: datetime | None, status: str,
                     reason: str, ended_at: datetime, cause: int | None,
                     billed_talk_time: float | None, extra: dict[str, Any]) -> dict[str, Any]:
    duration = max(0.0, (ended_at - started_at).total_seconds())
    talk = None
    if answered_at is not None and status == causes.ANSWERED:
        talk = max(0.0, (ended_at - answered_at).total_seconds())
    billed = talk if billed_talk_time is None or talk is None else min(billed_talk_time, talk)
    return {**extra, "status": status, "reason": reason[:64], "ended_at": ended_at,
            "cause": cause, "duration": duration, "talk_time": talk,
            "billed_talk_time": billed}


DATETIMES = ("started_at", "answered_at", "ended_at")  # the record's datetime columns
JSONS = ("decisions",)  # and its JSON ones


def _python(column: str, value: Any) -> Any:
    """A value of the calls table as read by raw SQL (SQLite: text), as Tortoise gives it."""
    if value is None:
        return None
    if column in DATETIMES and isinstance(value, str):
        found = datetime.fromisoformat(value)
        return found if found.tzinfo else found.replace(tzinfo=UTC)
    if column in JSONS and isinstance(value, str | bytes):
        return json.loads(value)
    return value


def _db(column: str, value: Any) -> Any:
    return json.dumps(value) if column in JSONS and value is not None else value


def _finish_work(call_id: str, status: str, reason: str, ended_at: datetime,
                 cause: int | None, billed_talk_time: float | None,
                 extra: dict[str, Any]) -> Work[Call | None]:
    raw = yield from one('SELECT * FROM calls_call WHERE id = ?', [call_id])
    if raw is None or raw["status"] != causes.ACTIVE:
        return None
    row = {k: _python(k, v) for k, v in raw.items()}
    fields = _finished_fields(row["started_at"], row["answered_at"], status, reason,
                              ended_at, cause, billed_talk_time, extra)
    unknown = [c for c in fields if c not in row or not re.fullmatch(r"[a-z_]+", c)]
    if unknown:
        raise ValueError(f"not columns of a call record: {unknown}")
    sets = ", ".join(f"{column} = ?" for column in fields)
    changed = yield Exec(f"UPDATE calls_call SET {sets} WHERE id = ? AND status = ?",
                         [*(_db(c, v) for c, v in fields.items()), call_id, causes.ACTIVE])
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


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def record_of(row: Call) -> dict[str, Any]:
    """The call-log row as the JSON API shows it."""
    return {
        "id": row.id,
        "started_at": iso(row.started_at),
        "answered_at": iso(row.answered_at),
        "ended_at": iso(row.ended_at),
        "extension": row.extension,
        "extension_name": row.extension_name,
        "dialed": row.dialed,
        "sent": row.sent,
        "rule": row.rule,
        "trunk": row.trunk,
        "pin": row.pin,
        "status": row.status,
        "reason": row.reason,
        "cause": row.cause,
        "duration": _round(row.duration),
        "talk_time": _round(row.talk_time),
        "billed_talk_time": _round(row.billed_talk_time),
        "node": row.node,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

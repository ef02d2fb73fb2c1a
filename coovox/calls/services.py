"""Call-path logic with no HTTP or ARI types: routing from the database, PINs, gate
decisions, and the call record (created at start, updated at answer, finished once).

Configuration is read from the database for every call (never cached), so an edit made
on one node is used by every node for the next call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError, OperationalError

from coovox.calls import causes
from coovox.calls.models import Call, DialPermission, DialRule, Extension, PinSet, Trunk
from coovox.calls.routing import (
    Condition,
    ExtensionSpec,
    Refusal,
    Route,
    RuleSpec,
    TrunkSpec,
    route,
)
from coovox.hooktypes import GateDecision

CORE = "core"
log = logging.getLogger(__name__)
T = TypeVar("T")
DB_RETRIES = 4
DB_RETRY_DELAY = 0.2
# what a reset or unreachable database raises (IntegrityError, an OperationalError, is not one)
DB_ERRORS = (ConnectionError, OSError, OperationalError)


async def with_retry(what: str, fn: Callable[[], Awaitable[T]]) -> T:
    """Run a call's database read or record write, retrying a few times when the database
    connection fails (a reset connection must not lose a call or its record)."""
    for attempt in range(DB_RETRIES):
        try:
            return await fn()
        except IntegrityError:
            raise
        except DB_ERRORS as exc:
            if attempt == DB_RETRIES - 1:
                raise
            log.warning("%s failed (%s), retrying", what, exc)
            await asyncio.sleep(DB_RETRY_DELAY * (attempt + 1))
    raise AssertionError("unreachable")


async def create_call(**fields: Any) -> None:
    """Write the record of a call that starts (``active``); idempotent across retries."""
    async def create() -> None:
        try:
            await Call.create(**fields)
        except IntegrityError:
            if not await Call.exists(id=fields["id"]):
                raise

    await with_retry("writing a call record", create)


async def update_call(call_id: str, **fields: Any) -> None:
    await with_retry("updating a call record",
                     lambda: Call.filter(id=call_id).update(**fields))


# --- routing ---------------------------------------------------------------------------------


async def load_extension(number: str) -> ExtensionSpec | None:
    row = await Extension.get_or_none(number=number)
    if row is None:
        return None
    return ExtensionSpec(row.number, row.name, row.enabled, row.dial_permission)


async def route_call(extension: ExtensionSpec | None, dialed: str, now: datetime,
                     timezone: str) -> Route | Refusal:
    """Route with the configuration as it is in the database right now."""
    if extension is None or not extension.enabled:
        return route(extension, dialed, permissions={}, rules={}, trunks={}, now=now,
                     timezone=timezone)
    perm = await DialPermission.get_or_none(name=extension.dial_permission)
    rule_names = list(perm.dial_rules) if perm is not None else []
    rules = {r.name: _rule_spec(r) for r in await DialRule.filter(name__in=rule_names)}
    trunk_names = {t for r in rules.values() for t in r.trunks}
    trunks = {t.name: TrunkSpec(t.name, t.dial_string, t.enabled, t.max_calls)
              for t in await Trunk.filter(name__in=list(trunk_names))}
    return route(extension, dialed, permissions={extension.dial_permission: rule_names},
                 rules=rules, trunks=trunks, now=now, timezone=timezone)


def _rule_spec(row: DialRule) -> RuleSpec:
    try:
        condition = Condition.from_json(row.condition)
    except (ValueError, TypeError, AttributeError):
        condition = None
    return RuleSpec(row.name, row.pattern, row.prefix or "", row.prepend or "",
                    tuple(row.trunks or ()), row.time_limit, row.pin_set or None, condition)


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


def decisions_to_json(decisions: dict[str, GateDecision], cap: float | None, by: str) -> dict:
    return {"plugins": {name: asdict(d) for name, d in decisions.items()},
            "cap": cap, "cap_by": by}


def decisions_from_json(data: Any) -> tuple[dict[str, GateDecision], float | None, str]:
    if not isinstance(data, dict):
        return {}, None, ""
    plugins = {}
    for name, d in (data.get("plugins") or {}).items():
        try:
            plugins[name] = GateDecision(**d)
        except TypeError:
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


async def _finish(call_id: str, status: str, reason: str, ended_at: datetime,
                  cause: int | None, billed_talk_time: float | None,
                  extra: dict[str, Any]) -> Call | None:
    row = await Call.get_or_none(id=call_id)
    if row is None or row.status != causes.ACTIVE:
        return None
    duration = max(0.0, (ended_at - row.started_at).total_seconds())
    talk = None
    if row.answered_at is not None and status == causes.ANSWERED:
        talk = max(0.0, (ended_at - row.answered_at).total_seconds())
    billed = talk if billed_talk_time is None or talk is None else min(billed_talk_time, talk)
    fields = {**extra, "status": status, "reason": reason[:64], "ended_at": ended_at,
              "cause": cause, "duration": duration, "talk_time": talk,
              "billed_talk_time": billed}
    updated = await Call.filter(id=call_id, status=causes.ACTIVE).update(**fields)
    if not updated:
        return None
    # the row as written (the conditional UPDATE made this call its only writer): no re-read
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

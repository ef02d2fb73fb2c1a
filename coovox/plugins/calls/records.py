"""The call record's arithmetic (pure, no I/O): the fields a finished call gets, the
conversion of raw SQL values, and the call-log row the JSON API shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from coovox.hooktypes import CallInfo
from coovox.plugins.calls import causes, gates

if TYPE_CHECKING:
    from coovox.plugins.calls.models import Call


def finished_fields(started_at: datetime, answered_at: datetime | None, status: str,
                    reason: str, ended_at: datetime, cause: int | None,
                    billed_talk_time: float | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The fields finishing sets: duration, talk time (answered calls), billed time (never
    above the talk time), reason cut to its column."""
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

# what a new record holds in the columns a call has not set (the model's defaults; a test
# compares them with ``Call.describe()``), and the columns every record is written with
REQUIRED = ("id", "started_at", "extension", "dialed")
DEFAULTS: dict[str, Any] = {
    "node": "", "answered_at": None, "ended_at": None, "extension_name": "", "sent": "",
    "rule": "", "trunk": "", "pin": None, "status": causes.ACTIVE, "reason": "",
    "cause": None, "duration": None, "talk_time": None, "cap": None,
    "billed_talk_time": None, "decisions": None, "caller_channel": "", "out_channel": "",
    "bridge_id": "",
}
COLUMNS = frozenset(REQUIRED) | frozenset(DEFAULTS)


def checked_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` if each is a column of the record (they name columns in raw SQL)."""
    unknown = sorted(set(fields) - COLUMNS)
    if unknown:
        raise ValueError(f"not columns of a call record: {unknown}")
    return fields


def new_record(fields: dict[str, Any]) -> dict[str, Any]:
    """Every column of a new record: ``fields`` over the defaults (the required ones
    must be given)."""
    missing = [c for c in REQUIRED if fields.get(c) is None]
    if missing:
        raise ValueError(f"a call record needs {missing}")
    return {**DEFAULTS, **checked_columns(fields)}


def python_value(column: str, value: Any) -> Any:
    """A value of the calls table as read by raw SQL (SQLite: text), as Tortoise gives it."""
    if value is None:
        return None
    if column in DATETIMES and isinstance(value, str):
        found = datetime.fromisoformat(value)
        return found if found.tzinfo else found.replace(tzinfo=UTC)
    if column in JSONS and isinstance(value, str | bytes):
        return json.loads(value)
    return value


def db_value(column: str, value: Any) -> Any:
    """A value as raw SQL writes it (JSON columns as text)."""
    return json.dumps(value) if column in JSONS and value is not None else value


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a datetime (None stays None)."""
    return value.isoformat() if value is not None else None


def info_of(row: Call) -> CallInfo:
    """What plugins know of a call, rebuilt from its record (after a restart), its money
    cap included."""
    decisions, _, _ = gates.decisions_from_json(row.decisions)
    return CallInfo(call_id=row.id, extension=row.extension, extension_name=row.extension_name,
                    dialed=row.dialed, sent=row.sent, rule=row.rule,
                    trunks=(row.trunk,) if row.trunk else (), started_at=row.started_at,
                    pin=row.pin, answered_at=row.answered_at,
                    money_cap=gates.money_cap_of(decisions))


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

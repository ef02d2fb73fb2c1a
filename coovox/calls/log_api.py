"""JSON API of the call log: ``/api/v1/calls`` (+ CSV/XLSX export) and ``/api/v1/calls/live``.

``CALL_LIST``, :func:`filtered_calls` and :func:`rows_with_fields` are reusable by the
call-log pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from tortoise import connections
from tortoise.expressions import Q

from coovox.calls import causes
from coovox.calls.keyword import KeywordQ
from coovox.calls.models import Call
from coovox.calls.services import record_of
from coovox.context import Coovox
from coovox.exports import Column, check_format, export_response
from coovox.hooktypes import ADMIN, BILLING, OPERATOR, Route
from coovox.messages import Msg
from coovox.storage import prepared
from coovox.storage.reader import Reader, reader
from coovox.web.errors import ApiError
from coovox.web.keys import COOVOX_KEY
from coovox.web.pagination import ListSpec, prepare_and_count
from coovox.workers import heavy, in_slices

EXPORT_CHUNK = 5000
STATUSES = (causes.ACTIVE, *causes.END_STATUSES)


def _keyword(qs: Any, value: str) -> Any:
    return qs.filter(KeywordQ(value))


def _status(qs: Any, value: str) -> Any:
    if value not in STATUSES:
        raise ValueError(Msg("must be one of: %(choices)s", choices=", ".join(STATUSES)))
    return qs.filter(status=value)


CALL_LIST = ListSpec(
    sortable={"started_at": "started_at"},
    default_sort="-started_at",
    filters={
        "keyword": _keyword,
        "status": _status,
        "trunk": ListSpec.equals_filter("trunk"),
        "pin": ListSpec.equals_filter("pin"),
    },
)

COLUMNS = [
    Column("id", "ID"), Column("started_at", "Start"), Column("answered_at", "Answer"),
    Column("ended_at", "End"), Column("extension", "Extension"),
    Column("extension_name", "Name"), Column("dialed", "Dialled"), Column("sent", "Sent"),
    Column("rule", "Dial rule"), Column("trunk", "Trunk"), Column("pin", "PIN"),
    Column("status", "Status"), Column("reason", "Reason"), Column("cause", "Cause"),
    Column("duration", "Duration (s)"), Column("talk_time", "Talk time (s)"),
]


def parse_instant(value: str, field: str, timezone: str, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` (a whole day in the PBX time zone; ``to`` includes it) or ISO 8601."""
    tz = ZoneInfo(timezone)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tz)
            return moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "must be a date (YYYY-MM-DD) or an ISO 8601 time",
                       field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def filtered_calls(query: Mapping[str, str], timezone: str) -> Any:
    """The Call queryset for the ``from``/``to`` filters (the others go through CALL_LIST)."""
    qs = Call.all()
    start = query.get("from", "").strip()
    stop = query.get("to", "").strip()
    if start:
        qs = qs.filter(started_at__gte=parse_instant(start, "from", timezone, end=False))
    if stop:
        bound = parse_instant(stop, "to", timezone, end=True)
        qs = qs.filter(started_at__lt=bound) if len(stop) == 10 else qs.filter(
            started_at__lte=bound)
    return qs


async def rows_with_fields(coovox: Coovox, rows: list[Call]) -> list[dict[str, Any]]:
    """Records as the API shows them, with the fields plugins add (billing: ``cost``)."""
    items = [record_of(r) for r in rows]
    if not items:
        return items
    extra: dict[str, dict[str, Any]] = {}
    for found in (await coovox.plugins.acall_each(
            "coovox_call_fields", call_ids=[i["id"] for i in items])).values():
        if isinstance(found, dict):
            for call_id, fields in found.items():
                extra.setdefault(call_id, {}).update(fields or {})
    for item in items:
        item.update(extra.get(item["id"], {}))
    return items


async def api_calls(request: web.Request) -> web.StreamResponse:
    coovox = request.app[COOVOX_KEY]
    fmt = check_format(request.query.get("format"))
    lq = CALL_LIST.parse(request.query, strict=True)
    base = filtered_calls(request.query, coovox.config.timezone)
    if fmt is None:
        page = await CALL_LIST.fetch(base, lq, strict=True)
        items = await rows_with_fields(coovox, page.items)
        return web.json_response({"items": items, "total": page.total, "page": page.page,
                                  "per_page": page.per_page})
    with prepared.collecting() as found:
        qs = CALL_LIST.order(CALL_LIST.filter(base, lq, strict=True), lq)
    await prepare_and_count(found)  # lets a keyword choose its plan once for every chunk
    extra_cols = await _plugin_columns(coovox)
    return await export_response(request, fmt, "calls", [*COLUMNS, *extra_cols],
                                 export_chunks(coovox, qs, CALL_LIST.sortable[lq.sort],
                                               lq.desc))


async def export_chunks(coovox: Coovox, qs: Any, sort_field: str,
                        desc: bool) -> AsyncIterator[list[dict[str, Any]]]:
    """Every row of ``qs`` (ordered by ``sort_field``, id) as export dicts, in chunks.

    Keyset pagination: each chunk continues after the last row's (sort key, id), an index
    range (OFFSET re-read every earlier row).  Rows are read as plain tuples (no model
    objects) and converted as :func:`record_of` would."""
    keys = [c.key for c in COLUMNS]
    sort_at = keys.index(sort_field)
    past, tie = ("lte", "gte") if desc else ("gte", "lte")

    async with reader() as own:  # SQLite: the chunks never queue before the calls' writes

        def read(last: Any) -> asyncio.Task[list[Any]]:
            page = qs
            if last is not None:
                key, last_id = as_datetime(last[sort_at]), last[0]
                page = qs.filter(Q(**{f"{sort_field}__{past}": key}),
                                 ~Q(**{sort_field: key, f"id__{tie}": last_id}))
            return asyncio.ensure_future(
                raw_tuples(page.limit(EXPORT_CHUNK).values_list(*keys), own))

        pending = read(None)
        try:
            while True:
                rows = await pending
                if not rows:
                    return
                # the next chunk is read while this one is converted and written
                pending = read(rows[-1]) if len(rows) == EXPORT_CHUNK else None
                records = await heavy(_export_records, keys, rows)  # off the loop
                yield await _with_fields(coovox, records)
                if pending is None:
                    return
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.wait([pending])


async def raw_tuples(query: Any, own: Reader | None = None) -> list[Any]:
    """The rows of a Tortoise query as the driver returns them (no field conversion);
    through ``own`` (:func:`coovox.storage.reader.reader`) when given."""
    query.sql()  # public: builds ``query.query`` (the statement) for its connection
    sql, params = query.query.get_parameterized_sql()
    if own is not None:
        return await own.fetch(sql, params)
    _, rows = await connections.get("default").execute_query(sql, params)
    return list(rows)


def as_datetime(value: Any) -> datetime | None:
    """A stored time (text on SQLite, datetime on PostgreSQL) as Tortoise reads it (UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: Any) -> str:
    # SQLite keeps UTC times as Tortoise writes them ('2026-11-22 21:43:38.082178+00:00'):
    # that text with a 'T' is their isoformat() (the common case of an export, 3x a row)
    if type(value) is str and len(value) in (25, 32) and value[10] == " " \
            and value.endswith("+00:00"):
        return value[:10] + "T" + value[11:]
    return as_datetime(value).isoformat()  # type: ignore[union-attr]


def _round3(value: float) -> float:
    return round(value, 3)


_CONVERT = {"started_at": _iso, "answered_at": _iso, "ended_at": _iso,
            "duration": _round3, "talk_time": _round3}


def _export_record(keys: list[str], row: Any) -> dict[str, Any]:
    """One stored row as :func:`record_of` shows it (times in ISO 8601, seconds rounded)."""
    return {k: v if v is None or k not in _CONVERT else _CONVERT[k](v)
            for k, v in zip(keys, row, strict=True)}


def _export_records(keys: list[str], rows: list[Any]) -> list[dict[str, Any]]:
    return [_export_record(keys, row) for part in in_slices(rows) for row in part]


async def _with_fields(coovox: Coovox, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` with the fields plugins add (billing: ``cost``)."""
    if not items:
        return items
    for found in (await coovox.plugins.acall_each(
            "coovox_call_fields", call_ids=[i["id"] for i in items])).values():
        if isinstance(found, dict):
            for item in items:
                fields = found.get(item["id"])
                if fields:
                    item.update(fields)
    return items


async def _plugin_columns(coovox: Coovox) -> list[Column]:
    """Columns for the fields plugins add, found by asking for one recent call."""
    row = await Call.all().order_by("-started_at").first()
    if row is None:
        return []
    sample = (await rows_with_fields(coovox, [row]))[0]
    known = {c.key for c in COLUMNS} | {"billed_talk_time", "node"}
    return [Column(k, k) for k in sample if k not in known]


async def api_live(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    rows = await Call.filter(status=causes.ACTIVE).order_by("-started_at").limit(1000)
    items = await rows_with_fields(coovox, rows)
    now = coovox.now()
    for item, row in zip(items, rows, strict=True):
        item["duration"] = round((now - row.started_at).total_seconds(), 3)
        item["talk_time"] = (round((now - row.answered_at).total_seconds(), 3)
                             if row.answered_at else None)
        item["state"] = "talking" if row.answered_at else "dialling"
    return web.json_response({"items": items, "total": len(items)})


_FILTER_PARAMS = [
    {"name": "from", "in": "query", "schema": {"type": "string"},
     "description": "start: YYYY-MM-DD (PBX time zone) or ISO 8601 time"},
    {"name": "to", "in": "query", "schema": {"type": "string"},
     "description": "end: YYYY-MM-DD (whole day included) or ISO 8601 time"},
    {"name": "keyword", "in": "query", "schema": {"type": "string"},
     "description": "extension number or name, or number dialled (contains)"},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
    {"name": "trunk", "in": "query", "schema": {"type": "string"}},
    {"name": "pin", "in": "query", "schema": {"type": "string"}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "xlsx"]},
     "description": "download ALL matching rows instead of one JSON page"},
]


def routes() -> list[Route]:
    return [
        Route("GET", "/api/v1/calls", api_calls, "api_calls", roles=(ADMIN, BILLING, OPERATOR),
              api=True,
              openapi={"summary": "The call log, newest first", "tags": ["calls"],
                       "parameters": _FILTER_PARAMS}),
        Route("GET", "/api/v1/calls/live", api_live, "api_calls_live", roles=(ADMIN, OPERATOR),
              api=True, openapi={"summary": "Calls in progress with running talk time",
                                 "tags": ["calls"]}),
    ]

"""Queries of the call log, shared by its API, its pages and billing's reports (no HTTP).

``CALL_LIST`` (sorting, filters), :func:`filtered_calls`, :func:`rows_with_fields` (the
fields plugins add), :func:`export_chunks` (keyset-paginated export rows),
:func:`live_calls`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.expressions import Q

from coovox.context import Coovox
from coovox.export_files import Cells, safe_cell
from coovox.exports import MONEY, NUMBER, TEXT, TIME, WORD, Column, RowBlock
from coovox.messages import Msg, label_of
from coovox.plugins.calllog.keyword import KeywordQ
from coovox.plugins.calls import causes
from coovox.plugins.calls.models import Call
from coovox.plugins.calls.records import record_of
from coovox.storage.money import from_units
from coovox.storage.reader import Reader, reader
from coovox.web.errors import ApiError  # a bad date names its field (400)
from coovox.web.pagination import ListSpec

EXPORT_CHUNK = 2000  # rows per read; each chunk goes to the worker in one pickle (GIL held)
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
    Column("id", "ID"), Column("started_at", "Start time", TIME),
    Column("answered_at", "Answer time", TIME), Column("ended_at", "End time", TIME),
    Column("extension", "Extension"), Column("extension_name", "Name"),
    Column("dialed", "Callee"), Column("sent", "Number sent"), Column("rule", "Dial rule"),
    Column("trunk", "Trunk"), Column("pin", "PIN"), Column("status", "Status", WORD),
    Column("reason", "Hangup reason", WORD), Column("cause", "Hangup cause", NUMBER),
    Column("duration", "Duration (s)", NUMBER), Column("talk_time", "Talk time (s)", NUMBER),
]
PLUGIN_KINDS = {"cost": MONEY}  # fields plugins add that are not text


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


async def export_chunks(coovox: Coovox, qs: Any, sort_field: str,
                        desc: bool) -> AsyncIterator[RowBlock]:
    """Every row of ``qs`` (ordered by ``sort_field``, id) as export dicts, in chunks.

    Keyset pagination: each chunk continues after the last row's (sort key, id), an index
    range (OFFSET re-read every earlier row).  Rows are read as plain tuples (no model
    objects); each chunk is a :class:`RowBlock` whose ``dicts()`` are the records as
    :func:`record_of` shows them, with the plugins' fields (made in the export worker)."""
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
                found = await _plugin_fields(coovox, [row[0] for row in rows])
                yield RowBlock(export_records, (keys, rows, found))  # made in the worker
                if pending is None:
                    return
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.wait([pending])


async def raw_tuples(query: Any, own: Reader | None = None) -> list[Any]:
    """The rows of a Tortoise query as plain tuples (no field conversion);
    through ``own`` (:func:`coovox.storage.reader.reader`) when given."""
    query.sql()  # public: builds ``query.query`` (the statement) for its connection
    sql, params = query.query.get_parameterized_sql()
    if own is not None:
        return await own.fetch(sql, params)
    _, rows = await connections.get("default").execute_query(sql, params)
    return [tuple(row) for row in rows]  # plain tuples (asyncpg records do not pickle)


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
_TIMES = ("started_at", "answered_at", "ended_at")


def _export_record(keys: list[str], row: Any) -> dict[str, Any]:
    """One stored row as :func:`record_of` shows it (times in ISO 8601, seconds rounded)."""
    return {k: v if v is None or k not in _CONVERT else _CONVERT[k](v)
            for k, v in zip(keys, row, strict=True)}


def export_records(keys: list[str], rows: list[Any],
                   found: list[dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Stored rows as records, with the fields plugins gave per call id (pure)."""
    items = [_export_record(keys, row) for row in rows]
    for fields_of in found:
        for item in items:
            fields = fields_of.get(item["id"])
            if fields:
                item.update(fields)
    return items


def worker_records(rows: list[Any], keys: list[str], extra: list[str],
                   money: list[str]) -> list[dict[str, Any]]:
    """Rows of :func:`coovox.plugins.calllog.export.worker_source` (the stored ``keys``,
    then the plugins' ``extra`` fields; ``money`` ones in units of 1/10000) as records with
    those fields, as :func:`export_records` makes them (pure: runs in the export worker)."""
    n = len(keys)
    items = []
    for row in rows:
        item = _export_record(keys, row[:n])
        for key, value in zip(extra, row[n:], strict=True):
            if value is not None:
                item[key] = from_units(int(value)) if key in money else value
        items.append(item)
    return items


def worker_csv_cells(rows: list[Any], cells: Cells, keys: list[str], extra: list[str],
                     money: list[str]) -> list[list[Any]]:
    """The CSV cells of :func:`worker_records` ``(rows, keys, extra, money)`` shown by
    ``cells``, straight from the stored tuples (no record dicts: the export worker's time
    per row; ``tests/plugins/calllog/test_worker_read.py`` compares the bytes)."""
    convert = []
    for key, cell in zip([*keys, *extra], cells.convert, strict=True):
        if key in money:
            convert.append(cells.stored_money)
        elif key in _TIMES:
            convert.append(cells.stored_time)
        elif key in _CONVERT:
            convert.append(_composed(_CONVERT[key], cell))
        elif cell is safe_cell:
            convert.append(cells.stored_text)
        else:
            convert.append(cell)
    return [[f(v) for f, v in zip(convert, row, strict=True)] for row in rows]


def _composed(record: Any, cell: Any) -> Any:
    return lambda v: cell(None if v is None else record(v))


async def _plugin_fields(coovox: Coovox, ids: list[str]) -> list[dict[str, dict[str, Any]]]:
    """What each plugin adds to these calls (billing: ``cost``), per call id."""
    if not ids:
        return []
    answers = await coovox.plugins.acall_each("coovox_call_fields", call_ids=ids)
    return [found for found in answers.values() if isinstance(found, dict)]


async def plugin_columns(coovox: Coovox) -> list[Column]:
    """Columns for the fields plugins add, found by asking for one recent call."""
    row = await Call.all().order_by("-started_at").first()
    if row is None:
        return []
    sample = (await rows_with_fields(coovox, [row]))[0]
    known = {c.key for c in COLUMNS} | {"billed_talk_time", "node"}
    return [Column(k, label_of(k), PLUGIN_KINDS.get(k, TEXT)) for k in sample
            if k not in known]


async def live_calls(coovox: Coovox) -> list[dict[str, Any]]:
    """The calls in progress (at most 1000, newest first) with running durations."""
    rows = await Call.filter(status=causes.ACTIVE).order_by("-started_at").limit(1000)
    items = await rows_with_fields(coovox, rows)
    now = coovox.now()
    for item, row in zip(items, rows, strict=True):
        item["duration"] = round((now - row.started_at).total_seconds(), 3)
        item["talk_time"] = (round((now - row.answered_at).total_seconds(), 3)
                             if row.answered_at else None)
        item["state"] = "talking" if row.answered_at else "dialling"
    return items

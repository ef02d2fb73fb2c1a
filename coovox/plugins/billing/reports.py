"""Billing reports: call log with costs, statistics by day/month/year, recharge history.

Dates of filters are days of the PBX's time zone.  Statistics group by the call's local
start date, which settlement stores in ``billing_call.local_date`` (so SQLite and
PostgreSQL group identically without time-zone support in SQL).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from coovox.export_files import RowBlock
from coovox.messages import Field, Msg
from coovox.plugins.billing import sql
from coovox.plugins.billing.models import Recharge
from coovox.plugins.billing.validation import EXTENSION_RE, BillingError
from coovox.plugins.calllog.keyword import KeywordQ
from coovox.plugins.calllog.queries import as_datetime, raw_tuples
from coovox.plugins.calls.models import Call
from coovox.storage import prepared
from coovox.storage.money import fmt, from_units
from coovox.storage.reader import reader

CALL_STATUSES = ("answered", "no answer", "busy", "failed", "refused")
PERIODS = {"day": 10, "month": 7, "year": 4}
CHUNK = 2000
IN_CHUNK = 1000  # ids per IN (...) list
KEYWORD_COLUMNS = ("extension", "extension_name")
TO_BEFORE_FROM = Msg("%(to)s must not be before %(from)s", to=Field("to"), **{"from": Field("from")})
RECHARGE_TYPES = ("recharge", "correction")


def extension_filter(value: str) -> str:
    """An ``extension`` filter: empty (all) or an extension number, else BillingError."""
    text = value.strip()
    if text and not EXTENSION_RE.fullmatch(text):
        raise BillingError(Msg("%(field)s must be an extension number (1 to 32 digits)",
                               field=Field("extension")), "extension")
    return text


def parse_day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BillingError(Msg("%(field)s must be a date YYYY-MM-DD", field=Field(field)),
                           field) from None


def day_range(filters: dict[str, str], tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [from 00:00, to+1 00:00) of the local days of ``from``/``to``."""
    start, end = parse_day(filters.get("from"), "from"), parse_day(filters.get("to"), "to")
    if start and end and end < start:
        raise BillingError(TO_BEFORE_FROM, "to")
    lo = datetime.combine(start, time(0), tz).astimezone(UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(UTC) if end else None
    return lo, hi


def hms(seconds: float | None, width: int = 1) -> str:
    """Seconds as H:MM:SS (``width`` digits of hours at least), rounded half up."""
    s = math.floor((seconds or 0) + 0.5)
    return f"{s // 3600:0{width}d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def caller(name: str, number: str) -> str:
    return f"{name}[{number}]" if name else number


# --- call log ------------------------------------------------------------------------------


def call_query(filters: dict[str, str], tz: ZoneInfo) -> Any:
    qs = Call.exclude(status="active")
    lo, hi = day_range(filters, tz)
    if lo:
        qs = qs.filter(started_at__gte=lo)
    if hi:
        qs = qs.filter(started_at__lt=hi)
    if filters.get("keyword"):
        qs = qs.filter(KeywordQ(filters["keyword"], KEYWORD_COLUMNS))
    if filters.get("extension"):
        qs = qs.filter(extension=extension_filter(filters["extension"]))
    if filters.get("status"):
        status = filters["status"].strip().lower()
        if status not in CALL_STATUSES:
            raise BillingError(Msg("%(field)s must be one of: %(choices)s", field=Field("status"),
                                   choices=", ".join(CALL_STATUSES)), "status")
        qs = qs.filter(status=status)
    return qs.order_by("-started_at", "-id")


async def bills_of(call_ids: list[str], *, rates: bool = True,
                   ) -> dict[str, tuple[int, dict[str, Any] | None]]:
    """Per call id: (cost in 1/10000 units -- the final cost once settled, else what was
    charged so far -- and the rate copy, or None without ``rates``: an export does not
    show it, and reading it means a JSON parse per row), read as plain rows."""
    out: dict[str, tuple[int, dict[str, Any] | None]] = {}
    rate_column = "rate" if rates else "NULL AS rate"
    for start in range(0, len(call_ids), IN_CHUNK):
        ids = call_ids[start:start + IN_CHUNK]
        rows = await sql.fetch(
            f"SELECT call_id, {rate_column}, cost, charged, settled FROM billing_call "
            f"WHERE call_id IN ({', '.join('?' * len(ids))})", ids)
        for r in rows:
            rate = r["rate"]
            if isinstance(rate, str | bytes):
                rate = json.loads(rate)
            cost = r["cost"] if r["settled"] and r["cost"] is not None else r["charged"]
            out[r["call_id"]] = (int(cost or 0), rate)
    return out


async def call_fields(call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``cost`` and the rate's remark per call id: what the ``coovox_call_fields`` hook of
    the plugin answers (``metering.fields``), as plain rows with the two fields of the rate
    copy read by the database (the call-log export asks this for every row).  A settled
    call also gets ``billed_talk_time``, the time its settlement billed (billing keeps it
    in its own table; it is less than the record's when a settlement or a money cap cut
    it)."""
    if sql.is_postgres():
        remark, rate_id = "rate->>'remark'", "rate->>'id'"
    else:
        remark, rate_id = "json_extract(rate, '$.remark')", "json_extract(rate, '$.id')"
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(call_ids), IN_CHUNK):
        ids = call_ids[start:start + IN_CHUNK]
        rows = await sql.fetch(
            f"SELECT call_id, {remark} AS remark, {rate_id} AS rate_id, cost, charged, "
            f"settled, billed_time FROM billing_call WHERE rate IS NOT NULL AND call_id IN "
            f"({', '.join('?' * len(ids))})", ids)
        for r in rows:
            cost = r["cost"] if r["settled"] and r["cost"] is not None else r["charged"]
            out[r["call_id"]] = {"cost": units_text(int(cost or 0)),
                                 "rate": r["remark"] or f"#{r['rate_id']}"}
            if r["settled"]:
                out[r["call_id"]]["billed_talk_time"] = round(float(r["billed_time"]), 3)
    return out


def units_text(units: int) -> str:
    """``fmt(from_units(units))`` without Decimal arithmetic: '12.3400', '-0.0100'."""
    sign, units = ("-", -units) if units < 0 else ("", units)
    return f"{sign}{units // 10000}.{units % 10000:04d}"


async def call_rows(calls: list[Call], tz: ZoneInfo) -> list[dict[str, Any]]:
    return rows_of_calls(calls, await bills_of([c.id for c in calls]), tz)


def rows_of_calls(calls: list[Any], bills: dict[str, tuple[int, dict[str, Any] | None]],
                  tz: ZoneInfo) -> list[dict[str, Any]]:
    """Call-log rows of ``calls`` (models, or :class:`_Raw` rows of an export) -- pure, so
    an export runs it in a worker thread."""
    out = []
    for c in calls:
        cost, rate = bills.get(c.id, (0, None))
        out.append({
            "id": c.id, "started_at": c.started_at.astimezone(tz).isoformat(),
            "answered_at": c.answered_at.astimezone(tz).isoformat() if c.answered_at else None,
            "ended_at": c.ended_at.astimezone(tz).isoformat() if c.ended_at else None,
            "extension": c.extension, "name": c.extension_name,
            "caller": caller(c.extension_name, c.extension), "dialed": c.dialed,
            "talk_time": c.talk_time or 0, "talk": hms(c.talk_time, 2), "trunk": c.trunk,
            "cost": fmt(from_units(cost)), "status": c.status,
            "reason": c.reason, "rate": (rate or {}).get("remark", "") if rate else "",
        })
    return out


class _Raw:
    """A stored row (a tuple of ``keys``) with the attributes of its model; times as
    aware datetimes, as Tortoise reads them."""

    def __init__(self, keys: tuple[str, ...], row: Any, times: frozenset[str]) -> None:
        for key, value in zip(keys, row, strict=True):
            setattr(self, key, as_datetime(value) if key in times else value)


CALL_KEYS = ("id", "started_at", "answered_at", "ended_at", "extension", "extension_name",
             "dialed", "talk_time", "trunk", "status", "reason")
CALL_TIMES = frozenset({"started_at", "answered_at", "ended_at"})


def export_calls(rows: list[Any], bills: dict[str, tuple[int, dict[str, Any] | None]],
                 tz: ZoneInfo) -> list[dict[str, Any]]:
    """Stored call rows as call-log rows (pure: the export worker runs it)."""
    return rows_of_calls([_Raw(CALL_KEYS, r, CALL_TIMES) for r in rows], bills, tz)


async def call_log(filters: dict[str, str], tz: ZoneInfo, offset: int,
                   limit: int) -> tuple[list[dict[str, Any]], int]:
    with prepared.collecting() as found:
        qs = call_query(filters, tz)
    total = await _call_count(qs, filters, found)
    return await call_rows(await qs.offset(offset).limit(limit), tz), total


async def _call_count(qs: Any, filters: dict[str, str], keywords: list[Any]) -> int:
    """The number of calls of the log.  With only a keyword, the keyword index counts its
    matches and the (few) active calls among them are subtracted: no table scan."""
    keyword = filters.get("keyword", "")
    found = await _prepare_keyword(keywords)
    alone = not any(filters.get(k) for k in ("from", "to", "extension", "status"))
    if keyword and alone and found and found[0].count is not None:
        active = await Call.filter(status="active").filter(
            KeywordQ(keyword, KEYWORD_COLUMNS, indexed=False)).count()
        return found[0].count - active
    return await qs.count()


async def _keyset(qs: Any, field: str, keys: tuple[str, ...]) -> AsyncIterator[list[Any]]:
    """Rows of ``qs`` (ordered by ``-field, -id``) as plain tuples of ``keys`` (``id``
    first), in chunks; each chunk continues after the last row's (field, id), an index
    range (OFFSET re-read every earlier row).  The next chunk is read while the caller
    handles this one."""
    at = keys.index(field)
    async with reader() as own:  # SQLite: a connection of its own (coovox.storage.reader)

        def read(last: Any) -> asyncio.Future[list[Any]]:
            page = qs
            if last is not None:
                key = as_datetime(last[at])
                page = qs.filter(Q(**{f"{field}__lte": key}),
                                 ~Q(**{field: key, "id__gte": last[0]}))
            return asyncio.ensure_future(raw_tuples(page.limit(CHUNK).values_list(*keys), own))

        pending = read(None)
        try:
            while True:
                rows = await pending
                if not rows:
                    return
                pending = read(rows[-1]) if len(rows) == CHUNK else None
                yield rows
                if pending is None:
                    return
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.wait([pending])


async def _prepare_keyword(found: list[Any]) -> list[KeywordQ]:
    """The keyword filters ``found`` while the query was built, prepared (they consult
    their index for a plan)."""
    await prepared.prepare(found)
    return [q for q in found if isinstance(q, KeywordQ)]


async def call_chunks(filters: dict[str, str], tz: ZoneInfo) -> AsyncIterator[RowBlock]:
    """The call-log export: rows read as plain tuples, turned into dicts by the export
    worker process (a chunk's conversion never holds the event loop's process)."""
    with prepared.collecting() as found:
        qs = call_query(filters, tz)
    await _prepare_keyword(found)
    async for rows in _keyset(qs, "started_at", CALL_KEYS):
        bills = await bills_of([r[0] for r in rows], rates=False)
        yield RowBlock(export_calls, (rows, bills, tz))


# --- recharge history -------------------------------------------------------------------------


def recharge_query(filters: dict[str, str], tz: ZoneInfo) -> Any:
    qs = Recharge.all()
    lo, hi = day_range(filters, tz)
    if lo:
        qs = qs.filter(at__gte=lo)
    if hi:
        qs = qs.filter(at__lt=hi)
    if filters.get("keyword"):
        kw = filters["keyword"]
        qs = qs.filter(Q(extension__icontains=kw) | Q(name__icontains=kw))
    kind = (filters.get("type") or "").strip().lower()
    if kind:
        if kind not in RECHARGE_TYPES:
            raise BillingError(Msg("%(field)s must be recharge or correction",
                                   field=Field("type")), "type")
        qs = qs.filter(correction=kind == "correction")
    return qs.order_by("-at", "-id")


def recharge_row(r: Recharge, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": r.id, "at": r.at.astimezone(tz).isoformat(), "extension": r.extension,
        "name": r.name, "who": caller(r.name, r.extension), "pre_balance": fmt(r.pre_balance),
        "amount": fmt(r.amount), "post_balance": fmt(r.post_balance), "by": r.by,
        "correction": r.correction, "type": "correction" if r.correction else "recharge",
        "reason": r.reason,
    }


async def recharges(filters: dict[str, str], tz: ZoneInfo, offset: int,
                    limit: int) -> tuple[list[dict[str, Any]], int]:
    qs = recharge_query(filters, tz)
    total = await qs.count()
    return [recharge_row(r, tz) for r in await qs.offset(offset).limit(limit)], total


RECHARGE_KEYS = ("id", "at", "extension", "name", "pre_balance", "amount", "post_balance",
                 "by", "correction", "reason")
_MONEY_KEYS = ("pre_balance", "amount", "post_balance")


def export_recharges(rows: list[Any], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Stored recharge rows as history rows (pure: the export worker runs it)."""
    out = []
    for row in rows:
        r = _Raw(RECHARGE_KEYS, row, frozenset({"at"}))
        for key in _MONEY_KEYS:
            setattr(r, key, from_units(int(getattr(r, key))))
        r.correction = bool(r.correction)
        out.append(recharge_row(r, tz))  # type: ignore[arg-type]
    return out


async def recharge_chunks(filters: dict[str, str], tz: ZoneInfo) -> AsyncIterator[RowBlock]:
    async for rows in _keyset(recharge_query(filters, tz), "at", RECHARGE_KEYS):
        yield RowBlock(export_recharges, (rows, tz))


# --- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsQuery:
    start: date | None
    end: date | None
    extension: str  # one extension, exactly (the API's ``extension``)
    by: str
    keyword: str = ""  # part of extension numbers or names, as the call log's keyword
    group: tuple[str, ...] = ()  # a chosen group of extensions (guide 001 §2.6)

    @classmethod
    def parse(cls, filters: dict[str, str]) -> StatsQuery:
        by = (filters.get("by") or "day").strip().lower()
        if by not in PERIODS:
            raise BillingError(Msg("%(field)s must be day, month or year", field=Field("by")),
                               "by")
        start, end = parse_day(filters.get("from"), "from"), parse_day(filters.get("to"), "to")
        if start and end and end < start:
            raise BillingError(TO_BEFORE_FROM, "to")
        group = tuple(dict.fromkeys(
            extension_filter(n) for n in (filters.get("extensions") or "").split(",")
            if n.strip()))
        if len(group) > MAX_GROUP:
            raise BillingError(Msg("%(field)s: choose at most %(n)s extensions",
                                   field=Field("extensions"), n=MAX_GROUP), "extensions")
        return cls(start, end, extension_filter(filters.get("extension") or ""), by,
                   (filters.get("keyword") or "").strip(), group)


def _stats_sql(q: StatsQuery, extensions: list[str] | None = None) -> tuple[str, list[Any]]:
    """One row per local day, newest first: an ordered range of the covering index
    ``billing_call_stats`` (no sort, no table reads); months and years are summed in Python."""
    where, values = ["answered = ?", "settled = ?"], [True, True]
    if q.start:
        where.append("local_date >= ?")
        values.append(q.start.isoformat())
    if q.end:
        where.append("local_date <= ?")
        values.append(q.end.isoformat())
    if q.extension:
        where.append("extension = ?")
        values.append(q.extension)
    if extensions is not None:
        where.append(f"extension IN ({', '.join('?' * len(extensions))})")
        values.extend(extensions)
    body = ("SELECT local_date AS period, COUNT(*) AS calls, SUM(talk_time) AS talk, "
            "SUM(COALESCE(cost, 0)) AS cost FROM billing_call "
            f"WHERE {' AND '.join(where)} GROUP BY local_date ORDER BY local_date DESC")
    return body, values


def _roll_up(days: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Day groups (newest first) summed into periods of the first ``n`` characters."""
    if n >= 10:
        return days
    out: list[dict[str, Any]] = []
    for day in days:
        period = str(day["period"])[:n]
        if out and out[-1]["period"] == period:
            last = out[-1]
            last["calls"] += int(day["calls"])
            last["talk"] += float(day["talk"] or 0)
            last["cost"] += int(day["cost"] or 0)
        else:
            out.append({"period": period, "calls": int(day["calls"]),
                        "talk": float(day["talk"] or 0), "cost": int(day["cost"] or 0)})
    return out


async def statistics(filters: dict[str, str], offset: int = 0,
                     limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Rows: period, extension ("All" or name[number]), calls, talk, average, cost.

    The year's calls are aggregated ONCE: the groups (at most one per day) are few, so
    the total and the page come from the same result."""
    rows, label = await _stats_groups(filters)
    total = len(rows)
    if limit:
        rows = rows[int(offset):int(offset) + int(limit)]
    return [_stats_row(r, label) for r in rows], total


async def _stats_groups(filters: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
    """Every group of the statistics (newest first) and the extension's label."""
    from coovox.plugins.billing.services import extension_names

    q = StatsQuery.parse(filters)
    matched: list[str] | None = None
    if q.group:
        matched = sorted(q.group, key=lambda n: (len(n), n))
    if q.keyword:
        found = await extensions_matching(q.keyword)
        matched = found if matched is None else [n for n in matched if n in set(found)]
        if not matched:
            return [], q.keyword
    rows: list[dict[str, Any]] = []
    for start in range(0, len(matched or [None]), IN_CHUNK):
        chunk = None if matched is None else matched[start:start + IN_CHUNK]
        body, values = _stats_sql(q, chunk)
        rows.extend(await sql.fetch(body, values))
    if matched is not None and len(matched) > IN_CHUNK:  # several queries: merge the days
        rows = _merge_days(rows)
    rows = _roll_up(rows, PERIODS[q.by])
    label = "All"
    if q.extension:
        name = (await extension_names([q.extension])).get(q.extension, "")
        label = caller(name, q.extension)
    elif matched is not None:
        names = await extension_names(matched[:MATCHES_SHOWN])
        shown = [caller(names.get(n, ""), n) for n in matched[:MATCHES_SHOWN]]
        more = len(matched) - len(shown)
        label = ", ".join(shown) + (f" (+{more})" if more else "")
    return rows, label


MATCHES_SHOWN = 3  # extensions named in the label of a keyword's statistics
MAX_GROUP = 5000  # extensions of a chosen group


async def extensions_matching(keyword: str) -> list[str]:
    """Extensions whose number or name contains ``keyword`` (case-insensitive, ``%`` and
    ``_`` plain), as the call log's keyword matches calls: those configured now and those
    with a billing account (an extension deleted since), sorted by number."""
    from coovox.plugins.calllog.keyword import like_pattern

    pattern = like_pattern(keyword.lower())
    rows = await sql.fetch(
        "SELECT number AS n FROM calls_extension WHERE LOWER(number) LIKE ? ESCAPE '\\' "
        "OR LOWER(name) LIKE ? ESCAPE '\\' UNION SELECT extension AS n FROM billing_account "
        "WHERE LOWER(extension) LIKE ? ESCAPE '\\'", [pattern, pattern, pattern])
    return sorted({str(r["n"]) for r in rows}, key=lambda n: (len(n), n))


def _merge_days(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Day groups of several queries summed per day, newest first."""
    days: dict[str, dict[str, Any]] = {}
    for r in rows:
        day = days.setdefault(str(r["period"]), {"period": str(r["period"]), "calls": 0,
                                                 "talk": 0.0, "cost": 0})
        day["calls"] += int(r["calls"])
        day["talk"] += float(r["talk"] or 0)
        day["cost"] += int(r["cost"] or 0)
    return [days[d] for d in sorted(days, reverse=True)]


def _stats_row(r: dict[str, Any], label: str) -> dict[str, Any]:
    calls, talk = int(r["calls"]), float(r["talk"] or 0)
    avg = talk / calls if calls else 0.0
    return {
        "period": r["period"], "extension": label, "calls": calls,
        "talk_time": round(talk, 3), "average_talk_time": round(avg, 3),
        "talk": hms(talk), "average": hms(avg), "cost": fmt(from_units(int(r["cost"] or 0))),
    }


async def statistics_chunks(filters: dict[str, str]) -> AsyncIterator[list[dict]]:
    """The statistics export: one aggregation, written out in chunks."""
    rows, label = await _stats_groups(filters)
    for start in range(0, len(rows), CHUNK):
        yield [_stats_row(r, label) for r in rows[start:start + CHUNK]]


def statistics_charts(rows: list[dict[str, Any]], decimals: int) -> dict[str, Any]:
    """Bar charts of statistics rows (as :func:`statistics` gives them, newest first):
    calls and cost per period, oldest on the left (pure)."""
    from coovox.web.charts import bar_chart
    from coovox.web.formats import money_text

    ordered = list(reversed(rows))

    def show(value: float) -> str:
        return money_text(Decimal(str(value)), decimals)

    return {"calls": bar_chart([(str(r["period"]), r["calls"]) for r in ordered],
                               integer=True),
            "cost": bar_chart([(str(r["period"]), Decimal(str(r["cost"] or 0)))
                               for r in ordered], fmt=show)}


async def group_choices() -> list[tuple[str, str]]:
    """Every extension a group of the statistics can hold: (number, "name[number]"),
    configured now or with a billing account, by number."""
    from coovox.plugins.billing.services import extension_names

    rows = await sql.fetch("SELECT number AS n FROM calls_extension UNION "
                           "SELECT extension AS n FROM billing_account")
    numbers = sorted({str(r["n"]) for r in rows}, key=lambda n: (len(n), n))
    names: dict[str, str] = {}
    for start in range(0, len(numbers), IN_CHUNK):
        names.update(await extension_names(numbers[start:start + IN_CHUNK]))
    return [(n, caller(names.get(n, ""), n)) for n in numbers]

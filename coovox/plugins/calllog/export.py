"""The call log's downloads: CSV on PostgreSQL in one ``COPY`` (:mod:`.copy_csv`), else
(SQLite, .xlsx, a plugin column without SQL) rows in chunks through the export worker."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise import connections

from coovox.context import Coovox
from coovox.export_files import WORD, Column, Style, csv_head
from coovox.exports import CONTENT_TYPES, export_response, export_style
from coovox.plugins.calllog.copy_csv import FieldsSql, copy_lines, copy_sql
from coovox.plugins.calllog.queries import COLUMNS, export_chunks, plugin_columns
from coovox.storage.db import asyncpg_dsn

USE_COPY = True  # False: every export takes the Python path (tests compare the two)


async def export_calls(request: web.Request, coovox: Coovox, fmt: str, qs: Any,
                       sort_field: str, desc: bool) -> web.StreamResponse:
    """The ``calls.csv``/``calls.xlsx`` download of ``qs`` (filtered and ordered)."""
    columns = [*COLUMNS, *await plugin_columns(coovox)]
    if fmt == "csv" and USE_COPY and connections.get("default").capabilities.dialect \
            == "postgres":
        response = await _copy_response(request, coovox, qs, columns, sort_field, desc)
        if response is not None:
            return response
    return await export_response(request, fmt, "calls", columns,
                                 export_chunks(coovox, qs, sort_field, desc))


async def _words_in_use(style: Style) -> Style:
    """``style`` with only the words the calls hold (statuses, reasons): a short CASE."""
    if not style.words:
        return style
    _, rows = await connections.get("default").execute_query(
        "SELECT DISTINCT status FROM calls_call UNION SELECT DISTINCT reason FROM calls_call")
    held = {row[0] for row in rows}
    return Style(style.timezone, style.decimals,
                 {k: v for k, v in style.words.items() if k in held})


async def _copy_response(request: web.Request, coovox: Coovox, qs: Any,
                         columns: list[Column], sort_field: str,
                         desc: bool) -> web.StreamResponse | None:
    keys = [c.key for c in COLUMNS]
    inner = qs.values_list(*keys)
    inner.sql()  # public: builds ``inner.query`` for its connection
    sql, params = inner.query.get_parameterized_sql()
    plugins = []
    make = coovox.services.get("call_fields_sql")
    if make is not None and (found := make()) is not None:
        plugins.append(FieldsSql(*found))
    full = await export_style(request)
    style = await _words_in_use(full) if any(c.kind == WORD for c in columns) else full
    built = copy_sql(sql, len(params), keys, columns, style, keys.index(sort_field), desc,
                     plugins)
    if built is None:
        return None
    statement, args = built
    response = web.StreamResponse(headers={
        "Content-Type": CONTENT_TYPES["csv"],
        "Content-Disposition": 'attachment; filename="calls.csv"'})
    await response.prepare(request)
    await response.write(csv_head(columns, full))
    await copy_lines(asyncpg_dsn(coovox.config.database_url), statement, [*params, *args],
                     response.write)
    await response.write_eof()
    return response

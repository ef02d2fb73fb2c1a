"""The call log's downloads: CSV on PostgreSQL in one ``COPY`` (:mod:`.copy_csv`); on an
SQLite file, one query the export worker reads and writes itself (:func:`worker_source`:
no row crosses the product's process); else (.xlsx on PostgreSQL, a plugin column without
SQL) rows in chunks through the export worker."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise import connections

from coovox.context import Coovox
from coovox.export_files import WORD, Column, Style, csv_head
from coovox.exports import CONTENT_TYPES, MONEY, QuerySource, export_response, export_style
from coovox.plugins.calllog.copy_csv import CALLS, FieldsSql, copy_lines, copy_sql
from coovox.plugins.calllog.queries import (
    COLUMNS,
    export_chunks,
    plugin_columns,
    worker_csv_cells,
    worker_records,
)
from coovox.storage.db import asyncpg_dsn
from coovox.storage.reader import sqlite_file

USE_COPY = True  # False: every export takes the Python path (tests compare the two)
USE_WORKER_READ = True  # False: SQLite exports are read in chunks by the product's process


async def export_calls(request: web.Request, coovox: Coovox, fmt: str, qs: Any,
                       sort_field: str, desc: bool) -> web.StreamResponse:
    """The ``calls.csv``/``calls.xlsx`` download of ``qs`` (filtered and ordered)."""
    columns = [*COLUMNS, *await plugin_columns(coovox)]
    if fmt == "csv" and USE_COPY and connections.get("default").capabilities.dialect \
            == "postgres":
        response = await _copy_response(request, coovox, qs, columns, sort_field, desc)
        if response is not None:
            return response
    source = None
    if USE_WORKER_READ and (path := sqlite_file()) is not None \
            and (plugins := _fields_sql(coovox)) is not None:
        source = worker_source(path, qs, columns, plugins, sort_field, desc)
    return await export_response(request, fmt, "calls", columns,
                                 source or export_chunks(coovox, qs, sort_field, desc))


def _fields_sql(coovox: Coovox) -> list[FieldsSql] | None:
    """The fields of every plugin answering ``coovox_call_fields``, in SQL (the
    ``call_fields_sql`` service: plugin name -> a function giving ``(join, fields)``);
    None when one of them has no SQL (its fields then come only from its hook)."""
    makers = coovox.services.get("call_fields_sql") or {}
    out = []
    for impl in coovox.plugins.implementations("coovox_call_fields"):
        make = makers.get(impl.plugin_name)
        found = make() if make is not None else None
        if found is None:
            return None
        out.append(FieldsSql(*found))
    return out


def worker_source(path: str, qs: Any, columns: list[Column], plugins: list[FieldsSql],
                  sort_field: str, desc: bool) -> QuerySource | None:
    """The export of ``qs`` as ONE query on the SQLite file ``path`` for the export worker
    (the stored columns, then the plugins' fields in SQL); None when a plugin's column has
    no SQL."""
    keys = [c.key for c in COLUMNS]
    extra = [c.key for c in columns if c.key not in keys]
    exprs: dict[str, str] = {}
    for plugin in plugins:
        exprs.update(plugin.fields)
    if any(k not in exprs for k in extra):
        return None
    inner = qs.values_list(*keys)
    inner.sql()  # public: builds ``inner.query`` for its connection
    sql, params = inner.query.get_parameterized_sql()
    names = ", ".join(f'"{k}"' for k in keys)
    select = ", ".join([f'{CALLS}."{k}"' for k in keys] + [exprs[k] for k in extra])
    joins = " ".join(p.join for p in plugins if any(k in p.fields for k in extra))
    order = "DESC" if desc else "ASC"
    statement = (f"WITH {CALLS}({names}) AS ({sql}) SELECT {select} FROM {CALLS} {joins} "
                 f'ORDER BY {CALLS}."{sort_field}" {order}, {CALLS}."{keys[0]}" {order}')
    money = [c.key for c in columns if c.key in extra and c.kind == MONEY]
    return QuerySource(path, statement, tuple(params), worker_records, (keys, extra, money),
                       csv_cells=worker_csv_cells)


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
    plugins = _fields_sql(coovox)
    if plugins is None:
        return None
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

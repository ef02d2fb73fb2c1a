"""List exports as downloads: CSV (UTF-8 with BOM) or XLSX, streamed in constant memory.

    columns = [Column("id", "ID"), Column("cost", "Cost", MONEY)]
    return await export_response(request, "xlsx", "calls", columns, rows_in_chunks())

``rows`` is an async iterator of lists of dicts (one list per database chunk), or of
:class:`RowBlock` (stored rows turned into dicts by the worker process), so the whole
result set is never held in memory.  What the cells hold (the reader's language,
times in the PBX time zone, money with the currency's decimals, formula guard) is
:mod:`coovox.export_files`.

The event loop only reads the chunks and sends bytes: the rows are formatted (CSV) or
written into the .xlsx book by the worker process (:mod:`coovox.export_worker`), chunk by
chunk while the next chunk is read; the closed book is read back in blocks by a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from coovox.export_files import (
    FORMULA_START,
    MONEY,
    NUMBER,
    TEXT,
    TIME,
    WORD,
    Column,
    RowBlock,
    Style,
    safe_cell,
)
from coovox.export_worker import ExportJob, QuerySource
from coovox.web.errors import ApiError
from coovox.web.formats import CURRENCY_DECIMALS
from coovox.web.i18n import catalog, current_language
from coovox.web.keys import COOVOX_KEY, LANG_KEY

__all__ = ["FORMATS", "FORMULA_START", "MONEY", "NUMBER", "TEXT", "TIME", "WORD", "Column",
           "QuerySource", "RowBlock", "Style", "check_format", "export_response", "export_style", "safe_cell"]

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BLOCK = 256 * 1024  # bytes of the .xlsx file per read and write


def check_format(value: str | None) -> str | None:
    """``None`` for a JSON answer, else ``csv``/``xlsx``; ApiError 400 for anything else."""
    if value is None or value == "" or value == "json":
        return None
    if value not in FORMATS:
        raise ApiError(400, "must be csv or xlsx", "format")
    return value


async def export_style(request: web.Request) -> Style:
    """The reader's language, the PBX time zone and the decimals of money (the billing
    setting of the currency in use, when billing runs)."""
    coovox = request.app[COOVOX_KEY]
    lang = request.get(LANG_KEY) or current_language()
    get = coovox.services.get("money_decimals")
    decimals = await get() if get is not None else None
    return Style(timezone=coovox.config.timezone,
                 decimals=CURRENCY_DECIMALS["OTHER"] if decimals is None else int(decimals),
                 words=dict(catalog(lang)))


async def export_response(request: web.Request, fmt: str, basename: str,
                          columns: Sequence[Column],
                          chunks: AsyncIterator[list[dict[str, Any]] | RowBlock] | QuerySource,
                          ) -> web.StreamResponse:
    """Stream ``chunks`` (lists of row dicts, or :class:`RowBlock` made in the worker; or
    a :class:`QuerySource` the worker reads itself) as a ``basename.csv``/``.xlsx``
    download."""
    style = await export_style(request)
    response = web.StreamResponse(headers={
        "Content-Type": CONTENT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="{basename}.{fmt}"',
    })
    await response.prepare(request)
    job = ExportJob(fmt)
    path: str | None = None
    try:
        await response.write(await job.start(columns, style))
        if isinstance(chunks, QuerySource):
            async with contextlib.aclosing(job.written(chunks)) as written:
                async for data in written:
                    await response.write(data)
        else:
            await _write_chunks(response, job, chunks)
        path = await job.finish()
        if path is not None:
            await _send_file(response, path)
    finally:
        await job.discard()
        if path is not None:
            await asyncio.to_thread(_unlink, path)
    await response.write_eof()
    return response


async def _write_chunks(response: web.StreamResponse, job: ExportJob,
                        chunks: AsyncIterator[list[dict[str, Any]] | RowBlock]) -> None:
    pending: asyncio.Future[bytes] | None = None
    try:
        async for rows in chunks:
            # the worker formats this chunk while the next one is read
            adding = asyncio.ensure_future(job.add(rows))
            if pending is not None:
                await _send(response, await pending)
            pending = adding
        if pending is not None:
            data, pending = await pending, None
            await _send(response, data)
    finally:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])  # the job's calls end before it is discarded


async def _send(response: web.StreamResponse, data: bytes) -> None:
    if data:
        await response.write(data)


async def _send_file(response: web.StreamResponse, path: str) -> None:
    with open(path, "rb") as file:  # noqa: ASYNC230 - every read is in a thread
        while block := await asyncio.to_thread(file.read, BLOCK):
            await response.write(block)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

"""List exports as downloads: CSV (UTF-8 with BOM) or XLSX, streamed in constant memory.

    columns = [Column("id", "ID"), Column("cost", "Cost")]
    return await export_response(request, "xlsx", "calls", columns, rows_in_chunks())

``rows`` is an async iterator of lists of dicts (one list per database chunk), so the
whole result set is never held in memory.  Text cells starting with ``=``, ``+``, ``-``
or ``@`` are neutralised with a leading ``'`` (no formula injection in spreadsheets).

The event loop only reads the chunks (async) and sends bytes: CSV lines are formatted in
the shared worker thread (:mod:`coovox.workers`), chunk by chunk, while the next chunk is
read; the .xlsx rows are written there too, into a temporary file, which is then closed
(zipped) and read back in blocks by an executor thread.  A 1M-row export never holds the
loop for more than the handling of one chunk.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from coovox.web.errors import ApiError
from coovox.workers import SLICE, heavy, in_slices

FORMATS = ("csv", "xlsx")
FORMULA_START = ("=", "+", "-", "@")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str


def check_format(value: str | None) -> str | None:
    """``None`` for a JSON answer, else ``csv``/``xlsx``; ApiError 400 for anything else."""
    if value is None or value == "" or value == "json":
        return None
    if value not in FORMATS:
        raise ApiError(400, "must be csv or xlsx", "format")
    return value


def safe_cell(value: Any) -> Any:
    """A cell value with formula-looking text neutralised; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


async def export_response(request: web.Request, fmt: str, basename: str,
                          columns: Sequence[Column],
                          chunks: AsyncIterator[list[dict[str, Any]]]) -> web.StreamResponse:
    """Stream ``chunks`` as a ``basename.csv``/``.xlsx`` download."""
    response = web.StreamResponse(headers={
        "Content-Type": CONTENT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="{basename}.{fmt}"',
    })
    await response.prepare(request)
    if fmt == "csv":
        await _csv(response, columns, chunks)
    else:
        await _xlsx(response, columns, chunks)
    await response.write_eof()
    return response


BLOCK = 256 * 1024  # bytes of the .xlsx file per read and write
def _csv_bytes(rows: list[dict[str, Any]], keys: list[str]) -> bytes:
    """CSV lines of ``rows`` (in a worker thread)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for part in in_slices(rows):
        writer.writerows([_cells(row, keys) for row in part])
    return buf.getvalue().encode()


async def _csv(response: web.StreamResponse, columns: Sequence[Column],
               chunks: AsyncIterator[list[dict[str, Any]]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow([c.header for c in columns])
    await response.write(b"\xef\xbb\xbf" + buf.getvalue().encode())
    keys = [c.key for c in columns]
    pending: asyncio.Future[bytes] | None = None
    try:
        async for rows in chunks:
            # format this chunk in a thread while the next one is read
            formatting = asyncio.ensure_future(heavy(_csv_bytes, rows, keys))
            if pending is not None:
                await response.write(await pending)
            pending = formatting
        if pending is not None:
            data, pending = await pending, None
            await response.write(data)
    finally:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])  # never leave a thread behind on a disconnect


_FORMULA = frozenset(FORMULA_START)
_PLAIN = (int, float)


def _cells(row: dict[str, Any], keys: list[str]) -> list[Any]:
    """``safe_cell`` of each value, with the common types (text, None, numbers) inline."""
    return [(("'" + v) if v[:1] in _FORMULA else v) if type(v) is str
            else "" if v is None
            else v if type(v) in _PLAIN
            else safe_cell(v)
            for v in map(row.get, keys)]


class _Book:
    """An xlsxwriter workbook in a temporary file, used only from one worker thread."""

    def __init__(self, columns: Sequence[Column]) -> None:
        import xlsxwriter

        fd, self.path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        self.book = xlsxwriter.Workbook(self.path, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "tmpdir": os.path.dirname(self.path)})
        self.sheet = self.book.add_worksheet()
        bold = self.book.add_format({"bold": True})
        for col, c in enumerate(columns):
            self.sheet.write_string(0, col, c.header, bold)
        self.keys = [c.key for c in columns]
        self.line = 1
        self.file: Any = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        number, string = self.sheet.write_number, self.sheet.write_string
        line, keys = self.line, self.keys
        for part in in_slices(rows, SLICE // 2):
            for row in part:
                for col, value in enumerate(_cells(row, keys)):
                    if isinstance(value, int | float):
                        number(line, col, value)
                    else:
                        string(line, col, value)
                line += 1
        self.line = line

    def close(self) -> None:
        self.book.close()
        self.file = open(self.path, "rb")  # noqa: SIM115 - closed in discard()

    def read(self) -> bytes:
        return self.file.read(BLOCK)

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


async def _xlsx(response: web.StreamResponse, columns: Sequence[Column],
                chunks: AsyncIterator[list[dict[str, Any]]]) -> None:
    """Rows are written by the shared worker thread (one chunk at a time, the next one read
    meanwhile); closing the book (zipping it, seconds for 1M rows, mostly without the GIL)
    and reading it back run in the default executor.  The book is only ever used by one
    thread at a time."""
    book: _Book | None = None
    pending: asyncio.Future[Any] | None = None
    try:
        book = await heavy(_Book, columns)
        async for rows in chunks:
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(heavy(book.write, rows))
        if pending is not None:
            await pending
            pending = None
        await asyncio.to_thread(book.close)
        while block := await asyncio.to_thread(book.read):
            await response.write(block)
    finally:
        if pending is not None:
            await asyncio.wait([pending])
        if book is not None:
            await asyncio.to_thread(book.discard)

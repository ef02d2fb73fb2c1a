"""List exports as downloads: CSV (UTF-8 with BOM) or XLSX, streamed in constant memory.

    columns = [Column("id", "ID"), Column("cost", "Cost")]
    return await export_response(request, "xlsx", "calls", columns, rows_in_chunks())

``rows`` is an async iterator of lists of dicts (one list per database chunk), so the
whole result set is never held in memory.  Text cells starting with ``=``, ``+``, ``-``
or ``@`` are neutralised with a leading ``'`` (no formula injection in spreadsheets).
"""

from __future__ import annotations

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


async def _csv(response: web.StreamResponse, columns: Sequence[Column],
               chunks: AsyncIterator[list[dict[str, Any]]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.header for c in columns])
    await response.write(b"\xef\xbb\xbf" + buf.getvalue().encode())
    keys = [c.key for c in columns]
    async for rows in chunks:
        buf.seek(0)
        buf.truncate()
        writer.writerows([_cells(row, keys) for row in rows])
        await response.write(buf.getvalue().encode())


_FORMULA = frozenset(FORMULA_START)
_PLAIN = (int, float)


def _cells(row: dict[str, Any], keys: list[str]) -> list[Any]:
    """``safe_cell`` of each value, with the common types (text, None, numbers) inline."""
    return [(("'" + v) if v[:1] in _FORMULA else v) if type(v) is str
            else "" if v is None
            else v if type(v) in _PLAIN
            else safe_cell(v)
            for v in map(row.get, keys)]


async def _xlsx(response: web.StreamResponse, columns: Sequence[Column],
                chunks: AsyncIterator[list[dict[str, Any]]]) -> None:
    import xlsxwriter

    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False})
        sheet = book.add_worksheet()
        bold = book.add_format({"bold": True})
        for col, c in enumerate(columns):
            sheet.write_string(0, col, c.header, bold)
        line = 1
        keys = [c.key for c in columns]
        number, string = sheet.write_number, sheet.write_string
        async for rows in chunks:
            for row in rows:
                for col, value in enumerate(_cells(row, keys)):
                    if isinstance(value, int | float):
                        number(line, col, value)
                    else:
                        string(line, col, value)
                line += 1
        book.close()
        with open(path, "rb") as fh:
            while block := fh.read(64 * 1024):
                await response.write(block)
    finally:
        os.unlink(path)

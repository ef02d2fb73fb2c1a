"""The content of exports: cells of CSV and .xlsx files from plain rows (pure, no I/O
framework), so that the export worker process (:mod:`coovox.export_worker`) runs it.

Every export follows its reader: headers and words (statuses, types) in the user's
language, times as pages show them (``YYYY-MM-DD HH:MM:SS`` in the PBX time zone; real
date cells in .xlsx), money with the currency's decimals (numbers in .xlsx, so ``SUM``
works).  Text cells starting with ``=``, ``+``, ``-`` or ``@`` get a leading ``'`` (no
formula injection), except plain negative numbers (``-1.50``).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from coovox.storage.money import from_units
from coovox.web.formats import as_datetime, money_text

FORMULA_START = ("=", "+", "-", "@")
BOM = b"\xef\xbb\xbf"
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
XLSX_TIME = "yyyy-mm-dd hh:mm:ss"

TEXT, NUMBER, MONEY, TIME, WORD = "text", "number", "money", "time", "word"
KINDS = (TEXT, NUMBER, MONEY, TIME, WORD)


@dataclass(frozen=True)
class Column:
    """A column: the row's ``key``, its ``header`` (an English msgid, translated in the
    file) and its ``kind``: text, number, money, time, or word (a translated value)."""

    key: str
    header: str
    kind: str = TEXT


@dataclass(frozen=True)
class Style:
    """How values are shown (plain data: it travels to the worker process)."""

    timezone: str = "UTC"
    decimals: int = 2
    words: dict[str, str] = field(default_factory=dict)  # msgid -> text of the language


@dataclass(frozen=True)
class RowBlock:
    """A chunk of rows made where they are written: ``make(*args)`` (a top-level pure
    function, e.g. stored tuples -> dicts) runs in the worker process, not in the loop's."""

    make: Callable[..., list[dict[str, Any]]]
    args: tuple[Any, ...]

    def dicts(self) -> list[dict[str, Any]]:
        return self.make(*self.args)


def neutral(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would take it for a formula."""
    if text[:1] in FORMULA_START and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_cell(value: Any) -> Any:
    """A text/number cell with formula-looking text neutralised; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutral(str(value))


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _number(value: Any) -> Any:
    if value is None or value == "":
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return safe_cell(value)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


class Cells:
    """Per-column converters of rows (dicts) into cell values for one ``Style``.

    ``csv=True``: every cell is text or a number (times and money as pages show them);
    else times are naive local datetimes and money is a Decimal (the .xlsx writer)."""

    def __init__(self, columns: Sequence[Column], style: Style, *, csv: bool) -> None:
        self.keys = [c.key for c in columns]
        self.tz = ZoneInfo(style.timezone)
        self.style = style
        self.csv = csv
        self.convert: list[Callable[[Any], Any]] = [self._converter(c.kind) for c in columns]

    def _converter(self, kind: str) -> Callable[[Any], Any]:
        if kind == TIME:
            return self._time
        if kind == MONEY:
            return self._money
        if kind == NUMBER:
            return _number
        if kind == WORD:
            words = self.style.words
            return lambda v: "" if v is None else neutral(words.get(str(v), str(v)))
        return safe_cell

    def _time(self, value: Any) -> Any:
        moment = as_datetime(value)
        if moment is None:
            return safe_cell(value)
        local = moment.astimezone(self.tz)
        return local.strftime("%Y-%m-%d %H:%M:%S") if self.csv else local.replace(tzinfo=None)

    def _money(self, value: Any) -> Any:
        amount = _decimal(value)
        if amount is None or not amount.is_finite():
            return safe_cell(value)
        return money_text(amount, self.style.decimals) if self.csv else amount

    def row(self, row: dict[str, Any]) -> list[Any]:
        get = row.get
        return [f(get(k)) for k, f in zip(self.keys, self.convert, strict=True)]

    # --- converters of stored values (an export read by the worker from the database) ----

    def stored_time(self, value: Any) -> Any:
        """A stored time (SQLite's UTC text, e.g. ``2026-11-22 21:43:38.082178+00:00``)
        as :meth:`_time` shows it, without the round trip through an ISO record."""
        if type(value) is not str or not self.csv:
            return self._time(value)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return self._time(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.tz)
        if local.year < 1000:  # strftime does not pad such years
            return local.strftime("%Y-%m-%d %H:%M:%S")
        return local.isoformat(" ", "seconds")[:19]

    def stored_money(self, units: Any) -> Any:
        """Money stored as an integer of 1/10000 as :meth:`_money` shows it (CSV: the
        currency's decimals, rounded half away from zero, no ``-0.00``)."""
        decimals = self.style.decimals
        if units is None or not self.csv or not 0 <= decimals <= 4 or type(units) is not int:
            return self._money(None if units is None else from_units(int(units)))
        step = 10 ** (4 - decimals)
        shown = (abs(units) + step // 2) // step
        sign = "-" if units < 0 and shown else ""
        if not decimals:
            return f"{sign}{shown}"
        whole, frac = divmod(shown, 10 ** decimals)
        return f"{sign}{whole}.{frac:0{decimals}d}"

    def stored_text(self, value: Any) -> Any:
        """A text column's stored value as :func:`safe_cell` shows it (strings first)."""
        return neutral(value) if type(value) is str else safe_cell(value)


def headers(columns: Sequence[Column], style: Style) -> list[str]:
    return [neutral(style.words.get(c.header, c.header)) for c in columns]


def csv_head(columns: Sequence[Column], style: Style) -> bytes:
    """The BOM and the header line."""
    buf = io.StringIO()
    csv.writer(buf).writerow(headers(columns, style))
    return BOM + buf.getvalue().encode()


def csv_rows(cells: Cells, rows: list[dict[str, Any]]) -> bytes:
    return csv_lines([cells.row(r) for r in rows])


def csv_lines(rows: list[list[Any]]) -> bytes:
    """Rows of cells as CSV lines."""
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


class XlsxBook:
    """An xlsxwriter workbook in a temporary file (constant memory), one thread at a time."""

    def __init__(self, columns: Sequence[Column], style: Style,
                 folder: str | None = None) -> None:
        import xlsxwriter

        fd, self.path = tempfile.mkstemp(suffix=".xlsx", dir=folder)
        os.close(fd)
        self.book = xlsxwriter.Workbook(self.path, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "tmpdir": os.path.dirname(self.path)})
        self.sheet = self.book.add_worksheet()
        self.cells = Cells(columns, style, csv=False)
        places = style.decimals
        self.money = self.book.add_format(
            {"num_format": "#,##0" + ("." + "0" * places if places else "")})
        self.time = self.book.add_format({"num_format": XLSX_TIME})
        bold = self.book.add_format({"bold": True})
        for col, (c, text) in enumerate(zip(columns, headers(columns, style), strict=True)):
            if c.kind == TIME:
                self.sheet.set_column(col, col, 20)
            self.sheet.write_string(0, col, text, bold)
        self.kinds = [c.kind for c in columns]
        self.line = 1

    def write(self, rows: list[dict[str, Any]]) -> None:
        sheet, line = self.sheet, self.line
        for row in rows:
            for col, value in enumerate(self.cells.row(row)):
                if type(value) is str:
                    sheet.write_string(line, col, value)
                elif isinstance(value, Decimal):
                    sheet.write_number(line, col, float(value), self.money)
                elif isinstance(value, datetime):
                    sheet.write_datetime(line, col, value, self.time)
                elif isinstance(value, int | float):
                    sheet.write_number(line, col, value)
                else:
                    sheet.write_string(line, col, str(value))
            line += 1
        self.line = line

    def close(self) -> str:
        """Zip the book; its file's path."""
        self.book.close()
        return self.path

    def discard(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass

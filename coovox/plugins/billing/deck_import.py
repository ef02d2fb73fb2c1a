"""Rate deck import (CSV, .xlsx) with a dry run, atomic apply, and CSV export.

File layouts (the ``layout`` choice names the header):

``coovox`` (the export format; header row required, column order free)
    ``prefix, length, initial_cost, initial_time, rate, unit, start_time, end_time,
    remark`` -- the fields of a single rate. Only ``rate`` and ``unit`` are required
    columns; the others default as for a single rate (length 0, costs 0, whole day).
``carrier`` (a carrier's price list)
    ``prefix`` (or code, dial code), ``destination`` (or name, country; kept as the
    remark) and ``rate`` (or price, rate per minute): a price per minute, billed per
    minute (unit 60, no initial cost).

A key of a deck is (prefix, length, start_time, end_time): a file listing the same key
twice is refused at the second line. Parsing runs in a worker thread, never on the
event loop; rows are compact tuples of integers and strings.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from coovox.messages import Field, Msg
from coovox.plugins.billing import decks, sql
from coovox.plugins.billing.models import DeckVersion
from coovox.plugins.billing.validation import (
    BillingError,
    money,
    prefix,
    time_of_day,
    whole,
)
from coovox.storage.money import fmt, from_units, to_units

COLUMNS = ("prefix", "length", "initial_cost", "initial_time", "rate", "unit", "start_time",
           "end_time", "remark")
LAYOUTS = ("coovox", "carrier")
CARRIER_ALIASES = {
    "prefix": ("prefix", "code", "dial code", "dialcode", "dial_code", "dialing code"),
    "remark": ("destination", "name", "country", "description"),
    "rate": ("rate", "price", "rate per minute", "rate_per_minute", "per minute",
             "price per minute", "rate/min"),
}
MAX_ERRORS_LISTED = 10_000  # beyond this, only the count grows
SAMPLES = 20  # rows of each kind shown by a dry run
BATCH = 5_000  # rows per INSERT batch

# (prefix, length, initial_cost units, initial_time, rate units, unit, start, end, remark)
Row = tuple[str, int, int, int, int, int, str, str, str]


def key_of(row: Row) -> tuple[str, int, str, str]:
    return (row[0], row[1], row[6], row[7])


@dataclass
class Parsed:
    """The rows of a file (by key, file order) and its bad lines."""

    rows: dict[tuple[str, int, str, str], Row] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def bad(self, line: int, message: Any) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_LISTED:
            self.errors.append({"line": line, "message": message})


# --- reading files ---------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def iter_lines(path: Path, kind: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV or .xlsx file, streamed."""
    if kind == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # a broken or foreign file
            raise BillingError(Msg("the file is not a readable .xlsx workbook"), "file") from None
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, [_cell(v) for v in values]
        finally:
            book.close()
        return
    with open(path, encoding="utf-8-sig", newline="") as fh:
        try:
            sample = fh.read(4096)
        except UnicodeDecodeError:
            raise BillingError(Msg("the file is not UTF-8 text"), "file") from None
        fh.seek(0)
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for number, cells in enumerate(reader, 1):
                yield number, [c.strip() for c in cells]
        except UnicodeDecodeError:
            raise BillingError(Msg("the file is not UTF-8 text"), "file") from None
        except csv.Error as exc:
            raise BillingError(Msg("line %(line)s: %(problem)s", line=reader.line_num,
                                   problem=str(exc)), "file") from None


def _header_map(header: list[str], layout: str) -> dict[str, int]:
    names = [h.strip().lower().replace("-", " ") for h in header]
    found: dict[str, int] = {}
    if layout == "carrier":
        for column, aliases in CARRIER_ALIASES.items():
            for i, name in enumerate(names):
                if name in aliases or name.replace("_", " ") in aliases:
                    found.setdefault(column, i)
        needed = ("prefix", "rate")
    else:
        for i, name in enumerate(names):
            name = name.replace(" ", "_")
            if name in COLUMNS:
                found.setdefault(name, i)
        needed = ("rate", "unit")
    missing = [c for c in needed if c not in found]
    if missing:
        raise BillingError(Msg("the header has no %(field)s column", field=Field(missing[0])),
                           "file")
    return found


def parse_file(path: Path, kind: str, layout: str) -> Parsed:
    """Validate every line of a deck file (blocking: run it in a worker thread)."""
    if layout not in LAYOUTS:
        raise BillingError(Msg("%(field)s must be one of: %(choices)s", field=Field("layout"),
                               choices=", ".join(LAYOUTS)), "layout")
    out = Parsed()
    lines = iter_lines(path, kind)
    columns: dict[str, int] | None = None
    first_line: dict[tuple[str, int, str, str], int] = {}
    carrier = layout == "carrier"
    for number, cells in lines:
        if not any(cells):
            continue
        if columns is None:
            columns = _header_map(cells, layout)
            continue

        def get(name: str, default: str = "", cells: list[str] = cells,
                columns: dict[str, int] = columns) -> str:
            i = columns.get(name)
            return cells[i] if i is not None and i < len(cells) and cells[i] != "" else default

        try:
            if carrier:
                row = (prefix(get("prefix")), 0, 0, 0,
                       to_units(money(get("rate"), "rate", non_negative=True)), 60,
                       WHOLE_DAY, WHOLE_DAY, _remark(get("remark")))
            else:
                row = (prefix(get("prefix")), whole(get("length", "0"), "length", 0, 32),
                       to_units(money(get("initial_cost", "0"), "initial_cost",
                                      non_negative=True)),
                       whole(get("initial_time", "0"), "initial_time", 0, 86400),
                       to_units(money(_required(get("rate"), "rate"), "rate",
                                      non_negative=True)),
                       whole(_required(get("unit"), "unit"), "unit", 1, 86400),
                       _times(time_of_day(get("start_time", "00:00:00"),
                                          "start_time").isoformat()),
                       _times(time_of_day(get("end_time", "00:00:00"), "end_time").isoformat()),
                       _remark(get("remark")))
        except BillingError as exc:
            out.bad(number, exc.message)
            continue
        key = key_of(row)
        if key in out.rows:
            out.bad(number, Msg("the same prefix, length and time window as line %(line)s",
                                line=first_line[key]))
            continue
        first_line[key] = number
        out.rows[key] = row
    if columns is None:
        raise BillingError(Msg("the file is empty"), "file")
    return out


WHOLE_DAY = "00:00:00"
_TIME_TEXTS: dict[str, str] = {WHOLE_DAY: WHOLE_DAY}


def _times(text: str) -> str:
    """One shared string per time of day (a deck repeats a few windows 100,000 times)."""
    shared = _TIME_TEXTS.get(text)
    if shared is None:
        if len(_TIME_TEXTS) > 10_000:
            return text
        shared = _TIME_TEXTS[text] = text
    return shared


def _required(value: str, name: str) -> str:
    if value == "":
        raise BillingError(Msg("%(field)s is required", field=Field(name)), name)
    return value


def _remark(text: str) -> str:
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]  # written by export_csv so a spreadsheet does not run it
    if len(text) > 255:
        raise BillingError(Msg("%(field)s is longer than 255 characters",
                               field=Field("remark")), "remark")
    return text


# --- diff, apply, export ---------------------------------------------------------------------


async def current_rows(version_id: int | None) -> dict[tuple[str, int, str, str], Row]:
    if version_id is None:
        return {}
    rows = await sql.conn().execute_query(sql._params(
        "SELECT prefix, length, initial_cost, initial_time, rate, unit, start_time, end_time, "
        "remark FROM billing_deck_rate WHERE version_id = ? ORDER BY id", sql.conn()),
        [version_id])
    out = {}
    for r in rows[1]:
        row = (r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), _times(r[6]),
               _times(r[7]), r[8] or "")
        out[key_of(row)] = row
    return out


def row_json(row: Row) -> dict[str, Any]:
    return {"prefix": row[0], "length": row[1], "initial_cost": fmt(from_units(row[2])),
            "initial_time": row[3], "rate": fmt(from_units(row[4])), "unit": row[5],
            "start_time": row[6], "end_time": row[7], "remark": row[8]}


def diff(parsed: Parsed, old: dict[tuple[str, int, str, str], Row]) -> dict[str, Any]:
    """Rows added, changed and removed against ``old`` (counts and the first few)."""
    added: list[Row] = []
    changed: list[tuple[Row, Row]] = []
    counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
    for key, row in parsed.rows.items():
        before = old.get(key)
        if before is None:
            counts["added"] += 1
            if len(added) < SAMPLES:
                added.append(row)
        elif before != row:
            counts["changed"] += 1
            if len(changed) < SAMPLES:
                changed.append((before, row))
        else:
            counts["unchanged"] += 1
    removed = []
    for key, row in old.items():
        if key not in parsed.rows:
            counts["removed"] += 1
            if len(removed) < SAMPLES:
                removed.append(row)
    return {
        **counts, "rows": len(parsed.rows), "error_count": parsed.error_count,
        "errors": parsed.errors,
        "samples": {"added": [row_json(r) for r in added],
                    "changed": [{"before": row_json(a), "after": row_json(b)}
                                for a, b in changed],
                    "removed": [row_json(r) for r in removed]},
    }


async def insert_version(deck_id: int, rows: list[Row] | Any, effective_from: datetime,
                         now: datetime, by: str, source: str) -> DeckVersion:
    """Write a new version and its rates in ONE transaction (all or nothing)."""
    rows = list(rows)
    async with in_transaction() as db:
        version = await DeckVersion.create(deck_id=deck_id, effective_from=effective_from,
                                           created_at=now, rows=len(rows), by=by,
                                           source=source[:255], using_db=db)
        query = sql._params(
            "INSERT INTO billing_deck_rate (version_id, prefix, length, initial_cost, "
            "initial_time, rate, unit, start_time, end_time, remark) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", db)
        for start in range(0, len(rows), BATCH):
            await db.execute_many(query, [[version.id, *r] for r in rows[start:start + BATCH]])
    decks.deck_written()
    return version


def export_csv(rows: Any) -> Iterator[str]:
    """The deck's rates as CSV text chunks in the ``coovox`` layout (import reads it back)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for n, row in enumerate(rows, 1):
        writer.writerow([row[0], row[1], fmt(from_units(row[2])), row[3],
                         fmt(from_units(row[4])), row[5], row[6], row[7], _safe(row[8])])
        if n % 2000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _safe(text: str) -> str:
    """A remark written so a spreadsheet will not run it as a formula (import strips the
    leading quote back)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def parse_upload(path: Path, kind: str, layout: str) -> Parsed:
    """:func:`parse_file` in a worker thread."""
    return await asyncio.to_thread(parse_file, path, kind, layout)

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
event loop, a batch of rows at a time: each batch is staged in ``billing_deck_stage``, and
rows added, changed and removed are counted by SQL against the deck's current version, so
memory stays flat whatever the size of the file; applying copies the staged rows into a
new version in one transaction.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import secrets
import time
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
    """What reading a file found: its bad lines (the first :data:`MAX_ERRORS_LISTED`) and
    how many good rows it staged.  The rows themselves are in ``billing_deck_stage``."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0

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


def iter_rows(path: Path, kind: str, layout: str, out: Parsed) -> Iterator[tuple[int, Row]]:
    """(line number, row) of every valid line of a deck file, streamed; bad lines go to
    ``out`` (blocking: run it in a worker thread).  A key listed twice is found later,
    by SQL, among the staged rows."""
    if layout not in LAYOUTS:
        raise BillingError(Msg("%(field)s must be one of: %(choices)s", field=Field("layout"),
                               choices=", ".join(LAYOUTS)), "layout")
    columns: dict[str, int] | None = None
    carrier = layout == "carrier"
    for number, cells in iter_lines(path, kind):
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
        yield number, row
    if columns is None:
        raise BillingError(Msg("the file is empty"), "file")


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


def row_json(row: Row | Any) -> dict[str, Any]:
    return {"prefix": row[0], "length": int(row[1]), "initial_cost": fmt(from_units(int(row[2]))),
            "initial_time": int(row[3]), "rate": fmt(from_units(int(row[4]))),
            "unit": int(row[5]), "start_time": row[6], "end_time": row[7],
            "remark": row[8] or ""}


# --- staging and the SQL diff ----------------------------------------------------------------

FIELDS = ("prefix, length, initial_cost, initial_time, rate, unit, start_time, end_time, "
          "remark")
INSERT_STAGE = ("INSERT INTO billing_deck_stage (import_id, line, " + FIELDS +
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
SAME_KEY = ("{a}.prefix = {b}.prefix AND {a}.length = {b}.length AND "
            "{a}.start_time = {b}.start_time AND {a}.end_time = {b}.end_time")
DIFFERS = ("(r.initial_cost <> s.initial_cost OR r.initial_time <> s.initial_time OR "
           "r.rate <> s.rate OR r.unit <> s.unit OR r.remark <> s.remark)")
_OLD = "r.version_id = ? AND " + SAME_KEY.format(a="r", b="s")
_EARLIER = "f.import_id = s.import_id AND f.line < s.line AND " + SAME_KEY.format(a="f", b="s")
COUNTS = ("SELECT COUNT(*) AS n, SUM(CASE WHEN r.id IS NULL THEN 1 ELSE 0 END) AS added, "
          f"SUM(CASE WHEN r.id IS NOT NULL AND {DIFFERS} THEN 1 ELSE 0 END) AS changed "
          f"FROM billing_deck_stage s LEFT JOIN billing_deck_rate r ON {_OLD} "
          "WHERE s.import_id = ?")
SAMPLE_ADDED = (f"SELECT {FIELDS} FROM billing_deck_stage s WHERE s.import_id = ? AND "
                f"NOT EXISTS (SELECT 1 FROM billing_deck_rate r WHERE {_OLD}) "
                "ORDER BY s.line LIMIT ?")
SAMPLE_CHANGED = (
    "SELECT r.prefix, r.length, r.initial_cost, r.initial_time, r.rate, r.unit, "
    "r.start_time, r.end_time, r.remark, s.initial_cost AS n_cost, "
    "s.initial_time AS n_time, s.rate AS n_rate, s.unit AS n_unit, s.remark AS n_remark "
    f"FROM billing_deck_stage s JOIN billing_deck_rate r ON {_OLD} "
    f"WHERE s.import_id = ? AND {DIFFERS} ORDER BY s.line LIMIT ?")
SAMPLE_REMOVED = (
    f"SELECT {FIELDS.replace('prefix', 'r.prefix', 1)} FROM billing_deck_rate r "
    "WHERE r.version_id = ? AND NOT EXISTS (SELECT 1 FROM billing_deck_stage s "
    f"WHERE s.import_id = ? AND {SAME_KEY.format(a='s', b='r')}) ORDER BY r.id LIMIT ?")
REMOVED = ("SELECT COUNT(*) AS n FROM billing_deck_rate r WHERE r.version_id = ? AND "
           "NOT EXISTS (SELECT 1 FROM billing_deck_stage s WHERE s.import_id = ? AND "
           f"{SAME_KEY.format(a='s', b='r')})")
DUPLICATES = (f"SELECT s.line AS line, (SELECT MIN(f.line) FROM billing_deck_stage f WHERE "
              f"{_EARLIER}) AS first FROM billing_deck_stage s WHERE s.import_id = ? AND "
              f"EXISTS (SELECT 1 FROM billing_deck_stage f WHERE {_EARLIER}) "
              "ORDER BY s.line LIMIT ?")
DROP_DUPLICATES = (
    "DELETE FROM billing_deck_stage WHERE import_id = ? AND EXISTS (SELECT 1 FROM "
    "billing_deck_stage f WHERE f.import_id = billing_deck_stage.import_id AND "
    "f.line < billing_deck_stage.line AND "
    f"{SAME_KEY.format(a='f', b='billing_deck_stage')})")
STALE_AFTER_MS = 6 * 3600 * 1000  # staged rows of an import that never finished


def new_import_id() -> int:
    """A key for one import's staged rows: its start in ms, and random low bits."""
    return (int(time.time() * 1000) << 8) | secrets.randbelow(256)


async def stage_file(import_id: int, path: Path, kind: str, layout: str) -> Parsed:
    """Parse the file in a worker thread, :data:`BATCH` rows at a time, each batch written
    to ``billing_deck_stage`` in its own short transaction (memory stays flat: one batch);
    then lines repeating an earlier line's key are reported and left out."""
    out = Parsed()
    rows = iter_rows(path, kind, layout, out)
    query = sql._params(INSERT_STAGE, sql.conn())
    await sql.execute("DELETE FROM billing_deck_stage WHERE import_id < ?",
                      [(int(time.time() * 1000) - STALE_AFTER_MS) << 8])
    while True:
        batch = await asyncio.to_thread(lambda: list(itertools.islice(rows, BATCH)))
        if not batch:
            break
        async with in_transaction() as db:
            await db.execute_many(query, [[import_id, line, *row] for line, row in batch])
        out.rows += len(batch)
        del batch
    dups = await sql.fetch(DUPLICATES, [import_id, MAX_ERRORS_LISTED])
    if dups:
        dropped = await sql.execute(DROP_DUPLICATES, [import_id])
        out.rows -= dropped
        out.error_count += dropped
        for d in dups:
            out.errors.append({"line": int(d["line"]), "message": Msg(
                "the same prefix, length and time window as line %(line)s",
                line=int(d["first"]))})
        out.errors.sort(key=lambda e: e["line"])
        del out.errors[MAX_ERRORS_LISTED:]
    return out


async def drop_stage(import_id: int) -> None:
    await sql.execute("DELETE FROM billing_deck_stage WHERE import_id = ?", [import_id])


async def diff(import_id: int, parsed: Parsed, version_id: int | None) -> dict[str, Any]:
    """Rows added, changed and removed of the staged import against the deck's version
    ``version_id`` (counts and the first few), by SQL."""
    vid = -1 if version_id is None else version_id
    counts = (await sql.fetch(COUNTS, [vid, import_id]))[0]
    staged, added = int(counts["n"] or 0), int(counts["added"] or 0)
    changed = int(counts["changed"] or 0)
    removed = int((await sql.fetch(REMOVED, [vid, import_id]))[0]["n"] or 0)
    samples_added = await sql.fetch(SAMPLE_ADDED, [import_id, vid, SAMPLES])
    samples_changed = await sql.fetch(SAMPLE_CHANGED, [vid, import_id, SAMPLES])
    samples_removed = await sql.fetch(SAMPLE_REMOVED, [vid, import_id, SAMPLES])

    def tup(r: dict[str, Any]) -> tuple:
        return tuple(r[k] for k in ("prefix", "length", "initial_cost", "initial_time",
                                    "rate", "unit", "start_time", "end_time", "remark"))

    def after(r: dict[str, Any]) -> tuple:
        return (r["prefix"], r["length"], r["n_cost"], r["n_time"], r["n_rate"],
                r["n_unit"], r["start_time"], r["end_time"], r["n_remark"])

    return {
        "added": added, "changed": changed, "removed": removed,
        "unchanged": staged - added - changed, "rows": parsed.rows,
        "error_count": parsed.error_count, "errors": parsed.errors,
        "samples": {"added": [row_json(tup(r)) for r in samples_added],
                    "changed": [{"before": row_json(tup(r)), "after": row_json(after(r))}
                                for r in samples_changed],
                    "removed": [row_json(tup(r)) for r in samples_removed]},
    }


async def apply_stage(deck_id: int, import_id: int, rows: int, effective_from: datetime,
                      now: datetime, by: str, source: str) -> DeckVersion:
    """Write a new version with the staged rates (file order) in ONE transaction."""
    async with in_transaction() as db:
        version = await DeckVersion.create(deck_id=deck_id, effective_from=effective_from,
                                           created_at=now, rows=rows, by=by,
                                           source=source[:255], using_db=db)
        await sql.execute(f"INSERT INTO billing_deck_rate (version_id, {FIELDS}) SELECT ?, "
                          f"{FIELDS} FROM billing_deck_stage WHERE import_id = ? ORDER BY line",
                          [version.id, import_id], db)
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

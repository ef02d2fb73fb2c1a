"""CSV import and export of extensions (no HTTP).

Header ``number,name,enabled,dial_permission,caller_id1,caller_id2`` (the outbound caller
IDs; a file without them leaves the extensions' numbers alone).  Import is all-or-nothing:
every line is checked first, and any error (with its line number) leaves the database
untouched.
Existing extensions are updated, new ones created.

The file is parsed and checked in the worker process (:mod:`coovox.export_worker`; a
100,000-line file takes seconds of CPU: the event loop keeps serving calls meanwhile); the
writes are one upsert per batch (``INSERT ... ON CONFLICT (number) DO UPDATE``), one short
unit of work (:mod:`coovox.storage.work`) per ``WRITE_BATCH`` lines, so live calls' writes
pass between them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from coovox.export_files import FORMULA_START, safe_cell
from coovox.export_worker import parse_in_worker
from coovox.inputs import shown
from coovox.messages import Field, Msg
from coovox.plugins.outbound import cache as config_cache
from coovox.plugins.outbound import rules as r
from coovox.plugins.outbound.models import DialPermission, Extension
from coovox.plugins.outbound.rules import DEFAULT_PERMISSION, ConfigError
from coovox.storage.work import Many, Rows, Work, store

HEADER = ("number", "name", "enabled", "dial_permission", "caller_id1", "caller_id2")
CALLER_IDS = ("caller_id1", "caller_id2")  # a file without these columns keeps the numbers
# the columns as the Extensions page names them (messages name fields by these labels)
LABELS = {"number": "Extension", "name": "Name", "enabled": "Enabled",
          "dial_permission": "Dial permission", "caller_id1": "Outbound caller ID 1",
          "caller_id2": "Outbound caller ID 2"}
MAX_LINES = 100_000
BATCH = 1000
WRITE_BATCH = 250  # lines per transaction of an import on SQLite (a call waits at most one)
FIELD_LIMIT = csv.field_size_limit()  # 131072 characters (128 KiB): a longer field is refused
NOT_TEXT = "the file is neither UTF-8 nor GB18030 text"


def upsert_sql(columns: tuple[str, ...] = HEADER) -> str:
    """Insert every column of :data:`HEADER`; an existing extension gets ``columns``."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "number")
    return (f"INSERT INTO calls_extension ({', '.join(HEADER)}) "
            f"VALUES ({', '.join('?' * len(HEADER))}) "
            f"ON CONFLICT (number) DO UPDATE SET {sets}")


UPSERT = upsert_sql()


@dataclass
class ImportResult:
    """What an import did, or the per-line errors that stopped it."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ConfigError(NOT_TEXT, "file")


def _line_error(line: int, problem: str) -> Msg:
    return Msg("line %(line)s: %(problem)s", line=line, problem=problem if isinstance(problem, Msg) else Msg(problem))


def parse(data: bytes | str, permissions: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and per-line errors (messages translated on the page) of a CSV file (line
    numbers as a spreadsheet shows them).  Each row has every column; ``_columns`` names
    the ones the file has.

    Pure and synchronous: :func:`import_extensions` runs it in the worker process."""
    try:
        text = _decode(data)
    except ConfigError as exc:
        return [], [Msg(exc.message)]
    reader = csv.reader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [_line_error(1, _csv_problem(exc))]
    if header is None:
        return [], [Msg("the file is empty")]
    cols = [h.strip().lower() for h in header]
    if cols[:1] != ["number"] or any(c not in HEADER for c in cols) or len(set(cols)) != len(cols):
        found = shown(",".join(cols), 80)
        return [], [_line_error(1, Msg("the header must be %(header)s (found %(found)s)",
                                       header=",".join(HEADER), found=found))]
    seen: dict[str, int] = {}
    line_no = 1
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:  # the reader cannot go on after this: report and stop
            errors.append(_line_error(reader.line_num, _csv_problem(exc)))
            break
        if values is None:
            break
        line_no += 1
        if line_no > MAX_LINES:
            errors.append(Msg("more than %(n)s lines", n=MAX_LINES - 1))
            break
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(cols):
            errors.append(_line_error(line_no, Msg(
                "%(n)s columns, expected %(expected)s", n=len(values), expected=len(cols))))
            continue
        raw = dict(zip(cols, values, strict=False))
        try:
            row = {
                "number": r.clean_number(raw.get("number", "")),
                "name": r.clean_text(_unneutralise(raw.get("name", "")), "name", 128),
                "enabled": r.clean_bool(raw.get("enabled", "") or "true", "enabled"),
                "dial_permission": (raw.get("dial_permission") or "").strip()
                or DEFAULT_PERMISSION,
            }
            for f in CALLER_IDS:
                row[f] = r.clean_caller_id(_unneutralise(raw.get(f, "")), f)
        except ConfigError as exc:
            errors.append(_field_error(line_no, exc.field or "number", exc.message))
            continue
        if row["dial_permission"] not in permissions:
            errors.append(_field_error(line_no, "dial_permission", Msg(
                "no dial permission named %(name)s", name=shown(row["dial_permission"], 64))))
            continue
        if row["number"] in seen:
            errors.append(_field_error(line_no, "number", Msg(
                "%(number)s is already on line %(line)s", number=row["number"],
                line=seen[row["number"]])))
            continue
        seen[row["number"]] = line_no
        row["_columns"] = cols
        rows.append(row)
    return rows, errors


def _field_error(line: int, name: str, problem: str) -> Msg:
    """``line 3: dial_permission: ...`` (the field by its label on a page)."""
    return _line_error(line, Msg("%(field)s: %(problem)s", field=Field(name),
                                 problem=problem if isinstance(problem, Msg) else Msg(problem)))


def _csv_problem(exc: csv.Error) -> Msg:
    text = str(exc)
    if "field larger than field limit" in text:
        return Msg("a field is longer than %(n)s characters (128 KiB); is this the right "
                   "file?", n=FIELD_LIMIT)
    return Msg("the CSV cannot be read (%(error)s)", error=text)


def _unneutralise(text: str) -> str:
    """Undo the export's formula guard (a leading ``'`` before = + - @): round trips."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def parse_values(data: bytes | str, permissions: set[str],
                 ) -> tuple[list[tuple[Any, ...]], tuple[list[str], list[str]]]:
    """:func:`parse` with the rows as the upsert's value tuples (columns of
    :data:`HEADER`), then (errors, the columns the file has) -- in the worker process."""
    rows, errors = parse(data, permissions)
    present = rows[0]["_columns"] if rows else []
    return [tuple(row[c] for c in HEADER) for row in rows], (errors, present)


async def import_extensions(data: bytes | str) -> ImportResult:
    """Check the whole file (in the worker process), then create/update all extensions.

    Nothing is written unless every line is right.  The upserts go in batches of
    ``WRITE_BATCH`` lines, each one short unit of work (one trip on SQLite):
    the calls' own writes pass between two batches instead of waiting for the whole file
    (a 99,000-line file is about a second of writing)."""
    permissions = set(await DialPermission.all().values_list("name", flat=True))
    values, (errors, present) = await parse_in_worker(parse_values, data, permissions)
    if errors:
        return ImportResult(errors=errors)
    if not values:
        return ImportResult(errors=[Msg("the file has no extensions")])
    upsert = upsert_sql(tuple(c for c in HEADER if c not in CALLER_IDS or c in present))
    created = 0
    for start in range(0, len(values), WRITE_BATCH):
        created += await store().run(_upsert(values[start:start + WRITE_BATCH], upsert))
    config_cache.changed()  # raw writes send no model signals
    return ImportResult(created=created, updated=len(values) - created)


def _upsert(values: list[tuple[Any, ...]], upsert: str = UPSERT) -> Work[int]:
    """The upserts in one unit of work (one transaction): the new extensions' count."""
    created = 0
    for start in range(0, len(values), BATCH):
        chunk = values[start:start + BATCH]
        numbers = [v[0] for v in chunk]
        found = yield Rows("SELECT COUNT(*) AS n FROM calls_extension WHERE number IN "
                           f"({', '.join('?' * len(numbers))})", numbers)
        yield Many(upsert, chunk)
        created += len(chunk) - int(found[0]["n"])
    return created


def _line(values: tuple[Any, ...]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


async def export_lines(queryset: Any = None) -> AsyncIterator[str]:
    """The CSV text, line by line, reading the table in batches ordered by number."""
    queryset = queryset if queryset is not None else Extension.all()
    yield _line(HEADER)
    last = None
    while True:
        qs = queryset.filter(number__gt=last) if last is not None else queryset
        batch = await qs.order_by("number").limit(BATCH).values_list(*HEADER)
        if not batch:
            return
        for number, name, enabled, permission, caller_id1, caller_id2 in batch:
            yield _line((number, safe_cell(name), "true" if enabled else "false",
                         safe_cell(permission), safe_cell(caller_id1 or ""),
                         safe_cell(caller_id2 or "")))
        last = batch[-1][0]

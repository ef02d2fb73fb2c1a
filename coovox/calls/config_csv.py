"""CSV import and export of extensions (no HTTP).

Header ``number,name,enabled,dial_permission,caller_id1,caller_id2`` (the outbound caller
IDs; a file without them leaves the extensions' numbers alone).  Import is all-or-nothing:
every line is checked first, and any error (with its line number) leaves the database
untouched.
Existing extensions are updated, new ones created.

The file is parsed and checked in a worker thread (a 100,000-line file takes seconds of
CPU: the event loop keeps serving calls meanwhile); the writes are one upsert per batch
(``INSERT ... ON CONFLICT (number) DO UPDATE``), all batches in one transaction -- on
SQLite in ONE trip to the database thread.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from coovox.calls import config_cache
from coovox.calls import config_rules as r
from coovox.calls.config_rules import DEFAULT_PERMISSION, ConfigError
from coovox.calls.models import DialPermission, Extension
from coovox.exports import FORMULA_START, safe_cell
from coovox.inputs import shown
from coovox.storage.work import Many, Rows, Work, store
from coovox.workers import SLICE, heavy, pause

HEADER = ("number", "name", "enabled", "dial_permission", "caller_id1", "caller_id2")
CALLER_IDS = ("caller_id1", "caller_id2")  # a file without these columns keeps the numbers
MAX_LINES = 100_000
BATCH = 1000
FIELD_LIMIT = csv.field_size_limit()  # 131072 characters (128 KiB): a longer field is refused


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
    raise ConfigError("the file is neither UTF-8 nor GB18030 text", "file")


def parse(data: bytes | str, permissions: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and per-line errors of a CSV file (line numbers as a spreadsheet shows them).
    Each row has every column; ``_columns`` names the ones the file has.

    Pure and synchronous: :func:`import_extensions` runs it in a worker thread."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [f"line 1: {_csv_problem(exc)}"]
    if header is None:
        return [], ["the file is empty"]
    cols = [h.strip().lower() for h in header]
    if cols[:1] != ["number"] or any(c not in HEADER for c in cols) or len(set(cols)) != len(cols):
        found = shown(",".join(cols), 80)
        return [], [f"line 1: the header must be {','.join(HEADER)} (found {found})"]
    seen: dict[str, int] = {}
    line_no = 1
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:  # the reader cannot go on after this: report and stop
            errors.append(f"line {reader.line_num}: {_csv_problem(exc)}")
            break
        if values is None:
            break
        line_no += 1
        if not line_no % SLICE:
            pause()  # let the event loop thread have the GIL
        if line_no > MAX_LINES:
            errors.append(f"more than {MAX_LINES - 1} lines")
            break
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(cols):
            errors.append(f"line {line_no}: {len(values)} columns, expected {len(cols)}")
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
            errors.append(f"line {line_no}: {exc.field}: {exc.message}")
            continue
        if row["dial_permission"] not in permissions:
            errors.append(f"line {line_no}: dial_permission: no dial permission named "
                          f"{shown(row['dial_permission'], 64)}")
            continue
        if row["number"] in seen:
            errors.append(f"line {line_no}: number: {row['number']} is already on line "
                          f"{seen[row['number']]}")
            continue
        seen[row["number"]] = line_no
        row["_columns"] = cols
        rows.append(row)
    return rows, errors


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return (f"a field is longer than {FIELD_LIMIT} characters (128 KiB); is this the "
                "right file?")
    return f"the CSV cannot be read ({text})"


def _unneutralise(text: str) -> str:
    """Undo the export's formula guard (a leading ``'`` before = + - @): round trips."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


async def import_extensions(data: bytes | str) -> ImportResult:
    """Check the whole file (in a worker thread), then create/update all extensions in one
    transaction."""
    permissions = set(await DialPermission.all().values_list("name", flat=True))
    rows, errors = await heavy(parse, data, permissions)
    if errors:
        return ImportResult(errors=errors)
    if not rows:
        return ImportResult(errors=["the file has no extensions"])
    values = [tuple(row[c] for c in HEADER) for row in rows]
    present = rows[0]["_columns"]
    upsert = upsert_sql(tuple(c for c in HEADER if c not in CALLER_IDS or c in present))
    created = await store().run(_upsert(values, upsert))
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

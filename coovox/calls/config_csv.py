"""CSV import and export of extensions (no HTTP).

Header ``number,name,enabled,dial_permission``.  Import is all-or-nothing: every line is
checked first, and any error (with its line number) leaves the database untouched.
Existing extensions are updated, new ones created.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from coovox.calls import config_cache
from coovox.calls import config_rules as r
from coovox.calls.config_rules import DEFAULT_PERMISSION, ConfigError
from coovox.calls.models import DialPermission, Extension
from coovox.exports import FORMULA_START, safe_cell

HEADER = ("number", "name", "enabled", "dial_permission")
MAX_LINES = 100_000
BATCH = 1000


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
    """Rows and per-line errors of a CSV file (line numbers as a spreadsheet shows them)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    header = next(reader, None)
    if header is None:
        return [], ["the file is empty"]
    cols = [h.strip().lower() for h in header]
    if cols[:1] != ["number"] or any(c not in HEADER for c in cols) or len(set(cols)) != len(cols):
        return [], [f"line 1: the header must be {','.join(HEADER)} (found {','.join(cols)})"]
    seen: dict[str, int] = {}
    for line_no, values in enumerate(reader, start=2):
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
        except ConfigError as exc:
            errors.append(f"line {line_no}: {exc.field}: {exc.message}")
            continue
        if row["dial_permission"] not in permissions:
            errors.append(f"line {line_no}: dial_permission: no dial permission named "
                          f"{row['dial_permission']!r}")
            continue
        if row["number"] in seen:
            errors.append(f"line {line_no}: number: {row['number']} is already on line "
                          f"{seen[row['number']]}")
            continue
        seen[row["number"]] = line_no
        rows.append(row)
    return rows, errors


def _unneutralise(text: str) -> str:
    """Undo the export's formula guard (a leading ``'`` before = + - @): round trips."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


async def import_extensions(data: bytes | str) -> ImportResult:
    """Check the whole file, then create/update all extensions in one transaction."""
    permissions = set(await DialPermission.all().values_list("name", flat=True))
    rows, errors = parse(data, permissions)
    if errors:
        return ImportResult(errors=errors)
    if not rows:
        return ImportResult(errors=["the file has no extensions"])
    result = ImportResult()
    async with in_transaction():
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            existing = {e.number: e for e in await Extension.filter(
                number__in=[row["number"] for row in chunk])}
            new = [Extension(**row) for row in chunk if row["number"] not in existing]
            if new:
                await Extension.bulk_create(new)
            changed = []
            for row in chunk:
                ext = existing.get(row["number"])
                if ext is not None:
                    ext.name, ext.enabled = row["name"], row["enabled"]
                    ext.dial_permission = row["dial_permission"]
                    changed.append(ext)
            if changed:
                await Extension.bulk_update(changed, fields=["name", "enabled",
                                                             "dial_permission"])
            result.created += len(new)
            result.updated += len(changed)
    config_cache.changed()  # bulk writes send no model signals
    return result


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
        for number, name, enabled, permission in batch:
            yield _line((number, safe_cell(name), "true" if enabled else "false",
                         safe_cell(permission)))
        last = batch[-1][0]

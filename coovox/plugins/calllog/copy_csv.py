"""The call log's CSV export on PostgreSQL in one ``COPY (SELECT ...) TO STDOUT`` (issue 17).

The database formats every line (the same bytes as :mod:`coovox.export_files` writes:
times in the PBX zone, money with the currency's decimals, words in the reader's
language, the formula guard, CSV quoting) and the product only moves the bytes: no row
becomes a Python object.  Lines come in COPY's text format (one column: the CSV line),
so a line's own line breaks arrive escaped; :class:`TextLines` turns them back and ends
every line with ``\\r\\n`` like Python's ``csv`` module.

Plugins' columns come from the ``call_fields_sql`` service (plugin name -> its fields in
SQL; billing: ``cost``, ``rate``); a plugin answering ``coovox_call_fields`` without SQL
sends the export down the Python path.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from coovox.export_files import MONEY, NUMBER, TIME, WORD, Column, Style

CALLS = "c"  # alias of the (filtered, ordered) calls query in the COPY statement
FLOATS = frozenset({"duration", "talk_time"})  # NUMBER columns kept as floats (3 decimals)
_UNESCAPE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"v": b"\v",
             b"\\": b"\\"}
_ESCAPED = re.compile(rb"\\(.)", re.S)


@dataclass(frozen=True)
class FieldsSql:
    """What a plugin adds in SQL: a ``join`` on the calls (alias ``c``) and an expression
    per field key (money as integer units of 1/10000, text as text; NULL for no value)."""

    join: str
    fields: dict[str, str]


def _guarded(v: str) -> str:
    """A text cell ``v`` (never NULL) with the formula guard and CSV quoting."""
    g = (f"(CASE WHEN left({v}, 1) IN ('=', '+', '-', '@') "
         f"AND {v} !~ '^-?[0-9]+(\\.[0-9]+)?$' THEN '''' || {v} ELSE {v} END)")
    return (f"(CASE WHEN {g} ~ '[\",\\r\\n]' THEN '\"' || replace({g}, '\"', '\"\"') || '\"'"
            f" ELSE {g} END)")


def _float3(x: str) -> str:
    """``repr(round(x, 3))`` of a float8, as Python writes it (``12.0``, ``0.235``).  Near
    a tie (``x * 1000`` within 1e-6 of ``n + 0.5``) the side is decided on the exact
    binary value (``x`` split with Veltkamp's method; an exact tie goes to the even
    neighbour); the double nearest to the rounded decimal is written shortest
    (``extra_float_digits`` 1)."""
    y = f"({x} * 1000::float8)"
    k = f"floor({y})"
    split = "134217729::float8"
    hi = f"({x} * {split} - ({x} * {split} - {x}))"
    side = f"sign(({hi} * 1000::float8 - ({k} + 0.5::float8)) + ({x} - {hi}) * 1000::float8)"
    exact = (f"CASE WHEN {side} > 0 OR ({side} = 0 AND mod({k}::numeric, 2) <> 0) "
             f"THEN {k} + 1 ELSE {k} END")
    units = (f"(CASE WHEN abs({y} - {k} - 0.5::float8) < 1e-6::float8 THEN {exact} "
             f"ELSE floor({y} + 0.5::float8) END)")
    r = f"({units} / 1000::float8)"
    return (f"CASE WHEN {x} IS NULL THEN '' ELSE {r}::text || "
            f"CASE WHEN {r} = trunc({r}) THEN '.0' ELSE '' END END")


def _money(units: str, decimals: int) -> str:
    """Units of 1/10000 with ``decimals`` decimals, half away from zero (``money_text``),
    in integer arithmetic; no ``-0.00``."""
    q, scale = 10 ** (4 - decimals), 10 ** decimals
    v = f"((abs({units}) + {q // 2}) / {q})"
    whole = f"({v} / {scale})::text" + (
        f" || '.' || lpad(({v} % {scale})::text, {decimals}, '0')" if decimals else "")
    return (f"CASE WHEN {units} IS NULL THEN '' ELSE CASE WHEN {units} < 0 AND {v} > 0 "
            f"THEN '-' ELSE '' END || {whole} END")


def cell_sql(column: Column, expr: str, tz: str, decimals: int,
             words: str | None) -> tuple[str, bool]:
    """The SQL of one CSV cell (never NULL) of ``expr`` for ``column``'s kind, and whether
    it is text (which may need the formula guard or quotes)."""
    if column.kind == TIME:
        time = f"to_char({expr} AT TIME ZONE {tz}, 'YYYY-MM-DD HH24:MI:SS')"
        return f"coalesce({time}, '')", False
    if column.kind == MONEY:
        return _money(expr, decimals), False
    if column.kind == NUMBER:
        if column.key in FLOATS:
            return _float3(expr), False
        return f"coalesce(({expr})::text, '')", False
    if column.kind == WORD and words:
        return f"coalesce(CASE ({expr})::text {words} ELSE ({expr})::text END, '')", True
    return f"coalesce(({expr})::text, '')", True


def _line(cells: list[tuple[str, bool]]) -> str:
    """A CSV line: as it is when no text cell starts like a formula or holds a comma,
    a quote or a line break (one test per row), else with each text cell guarded."""
    texts = [sql for sql, text in cells if text]
    plain = " || ',' || ".join(sql for sql, _ in cells)
    if not texts:
        return plain
    careful = " || ',' || ".join(_guarded(sql) if text else sql for sql, text in cells)
    test = f"concat_ws(chr(1), {', '.join(texts)}) ~ '(^|\\x01)[=+@-]|[\",\\r\\n]'"
    return f"CASE WHEN {test} THEN {careful} ELSE {plain} END"


def copy_sql(inner: str, nparams: int, keys: Sequence[str], columns: Sequence[Column],
             style: Style, sort_at: int, desc: bool,
             plugins: Sequence[FieldsSql]) -> tuple[str, list[Any]] | None:
    """The SELECT of the CSV lines of ``inner`` (a query of ``keys``, the first the id,
    with ``nparams`` parameters; named ``c.<key>`` for the plugins' SQL) and the parameters it adds; None when a column has no
    SQL (the Python path then writes the file)."""
    n = nparams
    args: list[Any] = []
    tz = "'" + style.timezone.replace("'", "''") + "'"  # a zone name of the config
    decimals = int(style.decimals)
    if not 0 <= decimals <= 4:  # money is kept with 4 decimals
        return None
    branches = []
    for key, text in style.words.items():  # only the words the rows hold (a few)
        args += [key, text]
        branches.append(f"WHEN ${n + len(args) - 1}::text THEN ${n + len(args)}::text")
    words = " ".join(branches) or None
    exprs: dict[str, str] = {k: f'{CALLS}."{k}"' for k in keys}
    joins = []
    for plugin in plugins:
        joins.append(plugin.join)
        exprs.update(plugin.fields)
    cells = []
    for column in columns:
        if column.key not in exprs:
            return None
        cells.append(cell_sql(column, exprs[column.key], tz, decimals, words))
    order = "DESC" if desc else "ASC"
    names = ", ".join(f'"{k}"' for k in keys)
    line = _line(cells)
    sql = (f"SELECT {line} FROM ({inner}) AS {CALLS}({names}) {' '.join(joins)}"
           f' ORDER BY {CALLS}."{keys[sort_at]}" {order}, {CALLS}."{keys[0]}" {order}')
    return sql, args


class TextLines:
    """COPY's text format (one column) -> the CSV lines, each ending with ``\\r\\n``."""

    def __init__(self) -> None:
        self.rest = b""

    def feed(self, data: bytes) -> bytes:
        data = self.rest + data
        end = data.rfind(b"\n") + 1
        self.rest, data = data[end:], data[:end]
        if b"\\" not in data:
            return data.replace(b"\n", b"\r\n")
        return b"".join(_ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), line)
                        + b"\r\n" for line in data.split(b"\n")[:-1])


async def copy_lines(dsn: str, sql: str, args: list[Any],
                     write: Callable[[bytes], Awaitable[None]]) -> None:
    """Run the COPY on a connection of its own and ``write`` the CSV bytes as they come."""
    import asyncpg

    lines = TextLines()

    async def out(data: bytes) -> None:
        text = lines.feed(data)
        if text:
            await write(text)

    conn = await asyncpg.connect(dsn, timeout=30)
    try:
        await conn.execute("SET extra_float_digits = 1; SET work_mem = '64MB'")
        await conn.copy_from_query(sql, *args, output=out, format="text")
    finally:
        await conn.close()



"""The call log's keyword filter: a case-insensitive "contains" served by a trigram index.

``KeywordQ("Alice", ("extension", "extension_name"))`` is a Tortoise ``Q`` that matches
rows where any of the columns contains the keyword (``%`` and ``_`` are plain characters):

- SQLite: the FTS5 table ``calls_call_fts`` (``trigram`` tokenizer, kept by triggers; see
  migration ``calls.0002``) answers ``rowid IN (... MATCH ...)``; keywords shorter than
  3 characters, which trigrams cannot find, fall back to ``LIKE``.
- PostgreSQL: ``ILIKE``, served by the ``pg_trgm`` GIN indexes of the same migration
  (without the extension it is the same answer from a table scan).

``indexed=False`` tests the columns with ``LIKE`` instead (for a few rows found otherwise).
``await q.prepare()`` counts the FTS matches (cheap: the index alone).  The count is then
the exact total when the keyword is the only filter (:attr:`count`), and it chooses the
page plan: many matches -> walk the ``started_at`` index and test each row (with ``LIKE``
for an ASCII keyword, where it and the index agree; else membership in the matches);
few matches -> look the matching rows up and sort them.
"""

from __future__ import annotations

import json
from typing import Any

from pypika_tortoise.context import SqlContext
from pypika_tortoise.terms import Criterion, ValueWrapper
from tortoise import connections
from tortoise.expressions import Q, ResolveContext
from tortoise.query_utils import QueryModifier

from coovox.storage import prepared

FTS_TABLE = "calls_call_fts"
FTS_COLUMNS = ("extension", "extension_name", "dialed")
TRIGRAM = 3
# above this many matches a page walks the started_at index instead of sorting the matches
WALK_MIN = 2000
# PostgreSQL: when the planner expects ESTIMATE_MIN+ matches and EXACT_MAX+ are found, a
# page shows its estimate ("about N"): counting 100,000 matches takes ~300 ms at 1M calls
ESTIMATE_MIN = 10_000
EXACT_MAX = 1000


_FTS_PRESENT: dict[Any, bool] = {}


async def _has_fts(db: Any) -> bool:
    """Whether this SQLite database has the FTS table (checked once per database file)."""
    key = getattr(db, "filename", None) or id(db)
    if key not in _FTS_PRESENT:
        _, rows = await db.execute_query(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = ?", [FTS_TABLE])
        _FTS_PRESENT[key] = bool(rows[0][0])
    return _FTS_PRESENT[key]


def like_pattern(value: str) -> str:
    """``%value%`` with LIKE's wildcards escaped (escape character: backslash)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(value: str, columns: tuple[str, ...]) -> str:
    """An FTS5 query: the whole keyword as one phrase, in any of ``columns``."""
    phrase = '"' + value.replace('"', '""') + '"'
    return "{" + " ".join(columns) + "} : " + phrase


def _dialect(ctx: SqlContext) -> str:
    return str(getattr(ctx.dialect, "value", ctx.dialect)).lower()


class _KeywordCriterion(Criterion):
    def __init__(self, q: KeywordQ, table: str) -> None:
        super().__init__()
        self.q, self.table = q, table

    def get_sql(self, ctx: SqlContext) -> str:
        if self.q.matches_nothing:
            return "1 = 0"
        quote = ctx.quote_char or '"'
        table = f"{quote}{self.table}{quote}"
        if _dialect(ctx) == "sqlite" and self.q.uses_fts and not (
                self.q.walk and self.q.value.isascii()):
            match = ValueWrapper(fts_phrase(self.q.value, self.q.columns)).get_sql(ctx)
            plus = "+" if self.q.walk else ""
            return (f"{plus}{table}.rowid IN (SELECT rowid FROM {FTS_TABLE} "
                    f"WHERE {FTS_TABLE} MATCH {match})")
        pattern = ValueWrapper(like_pattern(self.q.value))
        if _dialect(ctx) == "sqlite":
            parts = [f"{table}.{quote}{c}{quote} LIKE {pattern.get_sql(ctx)} ESCAPE '\\'"
                     for c in self.q.columns]
        elif self.q.uses_fts:
            parts = [f"{table}.{quote}{c}{quote} ILIKE {pattern.get_sql(ctx)}"
                     for c in self.q.columns]
        else:  # too short for trigrams: a scan beats reading the whole trigram index
            parts = [f"UPPER({table}.{quote}{c}{quote}) LIKE UPPER({pattern.get_sql(ctx)})"
                     for c in self.q.columns]
        return "(" + " OR ".join(parts) + ")"


class KeywordQ(Q):
    """Rows where one of ``columns`` (of ``calls_call``) contains ``value``, any case."""

    def __init__(self, value: str, columns: tuple[str, ...] = FTS_COLUMNS, *,
                 indexed: bool = True) -> None:
        super().__init__()
        unknown = set(columns) - set(FTS_COLUMNS)
        if unknown:
            raise ValueError(f"not indexed for keywords: {sorted(unknown)}")
        self.value, self.columns, self.indexed = value, columns, indexed
        self.matches: int | None = None  # FTS matches, once prepared (SQLite only)
        prepared.needs_preparing(self)

    def __bool__(self) -> bool:
        return True

    @property
    def matches_nothing(self) -> bool:
        """A keyword holding NUL finds nothing (no stored name or number holds one; FTS5
        and C strings end at a NUL)."""
        return "\x00" in self.value

    @property
    def uses_fts(self) -> bool:
        return self.indexed and len(self.value) >= TRIGRAM

    @property
    def walk(self) -> bool:
        return self.matches is not None and self.matches > WALK_MIN

    @property
    def count(self) -> int | None:
        """The exact number of matching calls when known without reading the table."""
        return self.matches

    async def prepare(self) -> None:
        """Count the matches in the FTS index (SQLite, keywords of 3+ characters); without
        the index (an SQLite too old for trigrams) the filter becomes ``LIKE``."""
        db = connections.get("default")
        if self.matches_nothing:
            self.matches = 0 if db.capabilities.dialect == "sqlite" else None
            return
        if db.capabilities.dialect != "sqlite" or not self.uses_fts:
            return
        if not await _has_fts(db):
            self.indexed = False
            return
        _, rows = await db.execute_query(
            f"SELECT COUNT(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?",
            [fts_phrase(self.value, self.columns)])
        self.matches = int(rows[0][0])

    async def count_or_estimate(self) -> tuple[int, bool] | None:
        """A page's total when the keyword is the only filter, and whether it is an
        estimate; None when the query must count (SQLite: :attr:`count` is exact).

        PostgreSQL: the exact count, unless the planner expects at least
        :data:`ESTIMATE_MIN` matches and more than :data:`EXACT_MAX` are found: then its
        estimate (counting 100,000 matches reads 100,000 rows)."""
        from coovox.plugins.calls.models import Call

        db = connections.get("default")
        if db.capabilities.dialect == "sqlite" or not self.uses_fts or self.matches_nothing:
            return None

        query = Call.filter(self).values_list("id")
        query.sql()  # public: builds ``query.query`` for its connection
        sql, params = query.query.get_parameterized_sql()
        _, rows = await db.execute_query(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = next(iter(rows[0].values())) if isinstance(rows[0], dict) else rows[0][0]
        plan = json.loads(plan) if isinstance(plan, str | bytes) else plan
        guess = int(plan[0]["Plan"]["Plan Rows"])
        cap = f" LIMIT {EXACT_MAX + 1}" if guess >= ESTIMATE_MIN else ""
        _, rows = await db.execute_query(f"SELECT COUNT(*) FROM ({sql}{cap}) AS found", params)
        found = int(rows[0][0])
        if cap and found > EXACT_MAX:
            return max(found, guess), True
        return found, False

    def resolve(self, resolve_context: ResolveContext) -> QueryModifier:
        table = resolve_context.table
        name = getattr(table, "alias", None) or table.get_table_name()
        return QueryModifier(where_criterion=_KeywordCriterion(self, name))


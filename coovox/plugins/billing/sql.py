"""Raw SQL helpers for both dialects (``?`` placeholders become ``$n`` on PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from coovox.storage.work import one, store


def conn() -> BaseDBAsyncClient:
    return connections.get("default")


def is_postgres(db: BaseDBAsyncClient | None = None) -> bool:
    return (db or conn()).capabilities.dialect != "sqlite"


def _params(sql: str, db: BaseDBAsyncClient) -> str:
    if not is_postgres(db):
        return sql
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _m: f"${next(counter)}", sql)


async def execute(sql: str, values: list[Any] | None = None,
                  db: BaseDBAsyncClient | None = None) -> int:
    """Run a statement; returns the number of rows changed."""
    db = db or conn()
    count, _ = await db.execute_query(_params(sql, db), values or [])
    return count


async def fetch(sql: str, values: list[Any] | None = None,
                db: BaseDBAsyncClient | None = None) -> list[dict[str, Any]]:
    db = db or conn()
    return await db.execute_query_dict(_params(sql, db), values or [])


async def fetch_one(sql: str, values: list[Any] | None = None) -> dict[str, Any] | None:
    """The first row of a query (None: no row); on SQLite one trip to the store's read-only
    connection (never queued behind writes)."""
    return await store().read(one(sql, values or []))


def true(db: BaseDBAsyncClient | None = None) -> Any:
    """The value of a boolean TRUE parameter for this dialect."""
    return True if is_postgres(db) else 1

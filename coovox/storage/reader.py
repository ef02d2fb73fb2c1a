"""Long reads (exports) on an SQLite connection of their own.

Every query of the product goes through the connection of Tortoise and that of the store
(:mod:`coovox.storage.work`), each with its thread.  An export of a million rows reads thousands of
chunks there; each chunk kept the charges and call records of live calls waiting behind
it.  :func:`reader` opens a second connection (``query_only``) with its own thread for
the export's chunks: SQLite's WAL lets it read while the product's connection writes.

On PostgreSQL (a pool of connections) or an in-memory database it yields None and the
caller reads through Tortoise as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from coovox.storage.work import SqliteStore, store


class Reader:
    """A query-only SQLite connection used from one worker thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coovox-reader")
        self._conn: sqlite3.Connection | None = None

    def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            self._conn.execute("PRAGMA query_only = ON")
        return self._conn.execute(sql, params).fetchall()

    async def fetch(self, sql: str, params: list[Any]) -> list[Any]:
        """The rows (plain tuples) of one SELECT."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._fetch, sql, list(params))

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._pool, self._close)
        finally:
            self._pool.shutdown(wait=False)


def sqlite_file() -> str | None:
    """The database file when the product runs on an SQLite file (its store's file)."""
    current = store()
    return current.path if isinstance(current, SqliteStore) else None


@contextlib.asynccontextmanager
async def reader() -> AsyncIterator[Reader | None]:
    path = sqlite_file()
    if path is None:
        yield None
        return
    r = Reader(path)
    try:
        yield r
    finally:
        await r.close()

"""Units of work: the one small storage interface of the money path and the call record.

A unit of work is a generator that yields statements and receives their results::

    def pay(extension: str, units: int) -> Work[bool]:
        changed = yield Exec("UPDATE billing_account SET balance = balance - ? "
                             "WHERE extension = ? AND balance - ? >= -credit",
                             [units, extension, units])
        return bool(changed)

    paid = await store().run(pay("100", 200))

It is written once, with ``?`` placeholders, and run all or nothing by one of two stores:

- :class:`SqliteStore` (an SQLite file): its own ``sqlite3`` connection to the file, used
  from one worker thread; the whole unit (``BEGIN IMMEDIATE`` … ``COMMIT``) is ONE trip to
  that thread, so the event loop waits once per unit, not once per statement.  Writes of
  this process are serialised by the thread, those of other connections and processes by
  SQLite's lock (WAL, ``busy_timeout``).
- :class:`TortoiseStore` (PostgreSQL, or an in-memory SQLite database): Tortoise's public
  connection API (``in_transaction`` + ``execute_query``), ``?`` turned into ``$n``.

A database error is thrown into the generator at the statement that failed, as Tortoise's
:class:`IntegrityError` / :class:`OperationalError` (so :mod:`coovox.storage.retry` and
callers see one kind of error); :func:`savepoint` runs a nested unit that may fail alone.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

T = TypeVar("T")


@dataclass(frozen=True)
class Exec:
    """A statement; its result is the number of rows it changed."""

    sql: str
    args: Sequence[Any] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rows:
    """A query (or a statement with RETURNING); its result is a list of dict rows."""

    sql: str
    args: Sequence[Any] = field(default_factory=tuple)


@dataclass(frozen=True)
class Many:
    """One statement run for each list of arguments (a bulk insert); no result."""

    sql: str
    rows: Sequence[Sequence[Any]] = field(default_factory=tuple)


Op = Exec | Rows | Many
Work = Generator[Op, Any, T]


def one(sql: str, args: Sequence[Any] = ()) -> Work[dict[str, Any] | None]:
    """The first row of a query (None: no row)."""
    rows = yield Rows(sql, args)
    return rows[0] if rows else None


def savepoint(work: Work[T], name: str = "unit") -> Work[tuple[T | None, Exception | None]]:
    """Run ``work`` inside the current unit under a savepoint: ``(result, None)``, or
    ``(None, error)`` with its statements rolled back and the outer unit still usable."""
    yield Exec(f"SAVEPOINT {name}")
    try:
        result = yield from work
    except Exception as exc:  # noqa: BLE001 - handed back to the caller
        yield Exec(f"ROLLBACK TO SAVEPOINT {name}")
        yield Exec(f"RELEASE SAVEPOINT {name}")
        return None, exc
    yield Exec(f"RELEASE SAVEPOINT {name}")
    return result, None


def _drive(work: Work[T], execute: Callable[[Op], Any]) -> T:
    """Run ``work`` to its end, each statement through ``execute`` (synchronous)."""
    try:
        op = next(work)
        while True:
            try:
                result = execute(op)
            except (IntegrityError, OperationalError) as exc:
                op = work.throw(exc)
                continue
            op = work.send(result)
    except StopIteration as stop:
        return stop.value


def _sqlite_arg(value: Any) -> Any:
    """A parameter as SQLite stores it the way Tortoise does (datetimes: UTC, ISO text)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _translated(exc: sqlite3.Error) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(exc)
    return OperationalError(exc)


class Store:
    """Where units of work run (see the module's docstring)."""

    dialect = "sqlite"
    one_trip = False  # True: a unit of work is one trip to the database, whatever its size
    #: called with the name of each unit run (benchmarks and tests count trips with it)
    on_trip: Callable[[str], None] | None = None
    #: called with each statement's SQL text (tests count statements with it)
    on_statement: Callable[[str], None] | None = None

    async def run(self, work: Work[T], *, atomic: bool = True) -> T:
        """Run ``work`` in ONE transaction (``atomic=False``: each statement on its own,
        for a unit of one statement); rolled back when it raises."""
        if self.on_trip is not None:
            self.on_trip(getattr(work, "__name__", "?"))
        return await self._run(work, atomic)

    async def read(self, work: Work[T]) -> T:
        """Run a unit that only reads (each statement on its own).  On an SQLite file it
        runs on a read-only connection with a thread of its own, so a read on the call
        path (the gate's account) never queues behind the writes of other calls, an
        import or a checkpoint in the store's thread (WAL: readers do not wait for the
        writer)."""
        if self.on_trip is not None:
            self.on_trip(getattr(work, "__name__", "?"))
        return await self._read(work)

    async def _read(self, work: Work[T]) -> T:
        return await self._run(work, False)

    async def _run(self, work: Work[T], atomic: bool) -> T:
        raise NotImplementedError

    async def close(self) -> None:
        """Release the store's connection (if it has one of its own)."""


class SqliteStore(Store):
    """An SQLite file through a connection of its own, used from one worker thread."""

    one_trip = True

    def __init__(self, path: str, pragmas: dict[str, str] | None = None) -> None:
        self.path = path
        self.pragmas = dict(pragmas or {})
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coovox-store")
        self.conn: sqlite3.Connection | None = None
        self.read_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coovox-store-read")
        self.read_conn: sqlite3.Connection | None = None
        self.owner: Any = None  # Tortoise's connection to the same file (see store())

    def _connect(self) -> sqlite3.Connection:
        timeout = int(self.pragmas.get("busy_timeout", "10000")) / 1000
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for key, value in {"journal_mode": "WAL", "foreign_keys": "ON",
                           **self.pragmas}.items():
            if re.fullmatch(r"\w+", key) and re.fullmatch(r"[\w.-]+", str(value)):
                conn.execute(f"PRAGMA {key}={value}")
        return conn

    def _job(self, work: Work[T], atomic: bool) -> T:
        if self.conn is None:
            self.conn = self._connect()
        return self._on(self.conn, work, atomic)

    def _read_job(self, work: Work[T]) -> T:
        if self.read_conn is None:
            self.read_conn = self._connect()
            self.read_conn.execute("PRAGMA query_only = ON")
        return self._on(self.read_conn, work, False)

    def _on(self, conn: sqlite3.Connection, work: Work[T], atomic: bool) -> T:
        def execute(op: Op) -> Any:
            if self.on_statement is not None:
                self.on_statement(op.sql)
            try:
                if isinstance(op, Many):
                    conn.executemany(op.sql, [[_sqlite_arg(a) for a in r] for r in op.rows])
                    return None
                cursor = conn.execute(op.sql, [_sqlite_arg(a) for a in op.args])
                if isinstance(op, Rows):
                    return [dict(row) for row in cursor.fetchall()]
                return cursor.rowcount
            except sqlite3.Error as exc:
                raise _translated(exc) from exc

        if not atomic:
            return _drive(work, execute)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translated(exc) from exc
        try:
            result = _drive(work, execute)
        except BaseException:
            if conn.in_transaction:  # some errors (disk full, …) rolled back already
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _run(self, work: Work[T], atomic: bool) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self._job, work, atomic)

    async def _read(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.read_pool, self._read_job, work)

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _close_read(self) -> None:
        if self.read_conn is not None:
            self.read_conn.close()
            self.read_conn = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.pool, self._close)
            await loop.run_in_executor(self.read_pool, self._close_read)
        finally:
            self.pool.shutdown(wait=False)
            self.read_pool.shutdown(wait=False)


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _m: f"${next(counter)}", sql)


class TortoiseStore(Store):
    """PostgreSQL (or in-memory SQLite) through Tortoise's public connection API."""

    def __init__(self, name: str = "default") -> None:
        self.name = name

    @property
    def dialect(self) -> str:  # type: ignore[override]
        found = connections.get(self.name).capabilities.dialect
        return "sqlite" if found == "sqlite" else "postgres"

    async def _run(self, work: Work[T], atomic: bool) -> T:
        if not atomic:
            return await self._drive(work, connections.get(self.name))
        async with in_transaction(self.name) as db:
            return await self._drive(work, db)

    async def _drive(self, work: Work[T], db: Any) -> T:
        postgres = self.dialect == "postgres"
        try:
            op = next(work)
            while True:
                if self.on_statement is not None:
                    self.on_statement(op.sql)
                sql = numbered(op.sql) if postgres else op.sql
                try:
                    if isinstance(op, Many):
                        result: Any = await db.execute_many(sql, [list(r) for r in op.rows])
                    elif isinstance(op, Rows):
                        result = await db.execute_query_dict(sql, list(op.args))
                    else:
                        result, _ = await db.execute_query(sql, list(op.args))
                except (IntegrityError, OperationalError) as exc:
                    op = work.throw(exc)
                    continue
                op = work.send(result)
        except StopIteration as stop:
            return stop.value


_store: Store | None = None
_default = TortoiseStore()


def use(store: Store | None) -> None:
    """Make ``store`` the process's store (:mod:`coovox.storage.db` does, when it opens
    the database); None: back to Tortoise's default connection."""
    global _store
    _store = store


def store() -> Store:
    """The process's store: the one :func:`use` set while Tortoise's default connection is
    the one it was opened with, else (Tortoise re-initialised elsewhere, or inside an open
    Tortoise transaction, whose connection holds the database's write lock) Tortoise's
    connection itself, so a unit of work joins that transaction (as a savepoint)."""
    current = _store
    if current is None:
        return _default
    owner = getattr(current, "owner", None)
    if owner is None:
        return current
    try:
        if connections.get(_default.name) is owner:
            return current
    except Exception:  # noqa: BLE001 - Tortoise closed: nothing else to run on
        return current
    return _default


async def close() -> None:
    global _store
    if _store is not None:
        current, _store = _store, None
        await current.close()

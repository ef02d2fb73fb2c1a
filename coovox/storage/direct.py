"""Several SQLite statements in one trip to the database thread.

Tortoise sends every statement of a transaction as its own trip through aiosqlite's
worker thread (BEGIN, each statement, COMMIT), and the event loop waits a turn for each
reply.  On the hot paths of a call (a charge, the call record) that is most of the cost
under load.  :func:`run` hands a plain function to that same thread, under the same lock
Tortoise takes, so the statements of one unit of work cost one trip and cannot interleave
with anything else.

Only for SQLite: :func:`client` is None on PostgreSQL (or inside a Tortoise transaction),
and callers keep their Tortoise path there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model

T = TypeVar("T")


def client() -> SqliteClient | None:
    """The default connection when it is SQLite and no transaction is open on it."""
    try:
        db = connections.get("default")
    except Exception:  # noqa: BLE001 - not initialised: nothing to run on
        return None
    if isinstance(db, SqliteTransactionWrapper) or not isinstance(db, SqliteClient):
        return None
    return db


async def run(db: SqliteClient, fn: Callable[[sqlite3.Connection], T], *,
              write: bool = True) -> T:
    """``fn(connection)`` in the database thread; with ``write``, inside ``BEGIN
    IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` when ``fn`` raises).  sqlite3 errors come back as
    Tortoise's :class:`IntegrityError` / :class:`OperationalError`, as from any query."""
    if db._connection is None:
        await db.create_connection(with_db=True)

    def job(conn: sqlite3.Connection) -> T:
        if not write:
            return fn(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async with db._lock:
        aconn = db._connection
        try:
            return await aconn._execute(job, aconn._conn)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc


def db_values(model: type[Model], fields: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Column names and database values of ``fields`` of ``model``, converted exactly as
    Tortoise converts them (datetimes, JSON, money, booleans)."""
    fmap = model._meta.fields_map
    columns, values = [], []
    for name, value in fields.items():
        field = fmap[name]
        columns.append(field.source_field or name)
        values.append(field.to_db_value(value, None))
    return columns, values


def with_defaults(model: type[Model], fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` plus the model's default of every other column (raw SQL gets none from the
    schema); generated primary keys are left out."""
    out = dict(fields)
    for name, field in model._meta.fields_map.items():
        if name in out or field.generated or name not in model._meta.fields_db_projection:
            continue
        default = field.default
        out[name] = default() if callable(default) else default
    return out


def insert_sql(model: type[Model], columns: list[str]) -> str:
    return (f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
            f'VALUES ({", ".join("?" for _ in columns)})')


def update_sql(model: type[Model], columns: list[str], where: str) -> str:
    """``UPDATE <table> SET <column> = ?, ... WHERE <where>`` (values: columns', then where's)."""
    return (f'UPDATE "{model._meta.db_table}" SET {", ".join(f"{c} = ?" for c in columns)} '
            f"WHERE {where}")

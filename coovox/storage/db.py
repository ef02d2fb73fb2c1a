"""Open the database, apply migrations, and the few per-dialect SQL helpers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate

from coovox.hooktypes import ModelSpec
from coovox.storage import work
from coovox.storage.checkpoint import Checkpointer
from coovox.storage.files import private_dir, private_sqlite

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgres"]


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message says why."""


def dialect_of(url: str) -> Dialect:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def normalise_url(url: str) -> str:
    """Tortoise URL: create the SQLite file's folder, add pragmas; keep postgres as is."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):].split("?", 1)[0]
        if path not in (":memory:", ""):
            private_dir(Path(path).expanduser().parent)
        if "busy_timeout" not in url:
            url += ("&" if "?" in url else "?") + "busy_timeout=10000"
        # WAL + NORMAL: no fsync per commit, survives a process crash; a power loss may
        # lose the last commits (see README).  An explicit ``synchronous=`` wins.
        query = url.split("?", 1)[1] if "?" in url else ""
        if "synchronous" not in {k.lower() for k, _ in parse_qsl(query, keep_blank_values=True)}:
            url += "&synchronous=NORMAL"
        return url
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "asyncpg"):
        url = "postgres" + url[len(scheme):]
    return url


def tortoise_config(url: str, specs: Iterable[ModelSpec], timezone: str = "UTC") -> dict[str, Any]:
    apps = {
        spec.app_label: {
            "models": [spec.models],
            "migrations": spec.migrations,
            "default_connection": "default",
        }
        for spec in specs
    }
    return {
        "connections": {"default": normalise_url(url)},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_db(url: str, specs: Iterable[ModelSpec], *, migrate: bool = True) -> None:
    """Connect, apply pending migrations (if asked), and leave Tortoise ready for queries."""
    config = tortoise_config(url, list(specs))
    try:
        await _open(url, config, migrate)
    except BaseException:
        await Tortoise.close_connections()
        raise


def migrate_apart(url: str, specs: Iterable[ModelSpec]) -> bool:
    """Apply pending migrations in a forked child process and wait for it.

    The migration engine builds the state of every migration: on a fresh database tens
    of MB of objects that are freed afterwards but stay, fragmented, in a long-running
    process (the idle RSS of a first start was 99 MB against 73 MB for a restart). Done
    in a child, that memory goes with it; the caller then opens the database as usual and
    finds nothing to migrate (or the child's error again, reported normally). Only when
    ``fork`` exists and the process has one thread and no running event loop; True when
    the child succeeded.
    """
    path = url[len("sqlite://"):].split("?", 1)[0] if url.startswith("sqlite") else "x"
    if not hasattr(os, "fork") or path in ("", ":memory:") or threading.active_count() > 1:
        return False
    try:
        asyncio.get_running_loop()
        return False
    except RuntimeError:
        pass
    specs = list(specs)
    pid = os.fork()
    if pid == 0:  # the child: migrate, exit without running the parent's exit handlers
        code = 1
        try:
            asyncio.run(_migrate_only(url, specs))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


async def _migrate_only(url: str, specs: list[ModelSpec]) -> None:
    await open_db(url, specs, migrate=True)
    await close_db()


async def _open(url: str, config: dict[str, Any], migrate: bool) -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    # Tortoise caches SQL per connection *name*, not per dialect: after a SQLite database a
    # PostgreSQL one would reuse SQLite's INSERT statements (tests open both in one process).
    EXECUTOR_CACHE.clear()
    try:
        sqlite_file = _sqlite_path(url)
        if sqlite_file is not None:
            private_sqlite(sqlite_file)  # 0600 before SQLite creates or opens anything
        if migrate:
            async with _migration_lock(url):
                await tortoise_migrate(config=config)
                await Tortoise.close_connections()
        await Tortoise.init(config=config)
        await connections.get("default").execute_query("SELECT 1")
        await _start_checkpoints(url)
        await _open_store(url, sqlite_file)
        if sqlite_file is not None:
            private_sqlite(sqlite_file)  # -wal and -shm exist now
    except (OSError, ConnectionError) as exc:
        raise DatabaseError(f"database {safe_url(url)}: cannot connect ({exc})") from None
    except Exception as exc:
        if exc.__class__.__module__.startswith(("asyncpg", "sqlite3", "tortoise")):
            raise DatabaseError(f"database {safe_url(url)}: {exc}") from None
        raise


# Any constant: nodes sharing one PostgreSQL database take this lock to migrate in turn.
_MIGRATION_LOCK_ID = 0x636F6F766F78


@contextlib.asynccontextmanager
async def _migration_lock(url: str) -> AsyncIterator[None]:
    """Serialise migrations of several nodes starting at once on one PostgreSQL database.

    SQLite needs nothing: its file lock already serialises the schema changes.
    """
    if dialect_of(url) == "sqlite":
        yield
        return
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=30)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
        yield
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)
        finally:
            await conn.close()


def asyncpg_dsn(url: str) -> str:
    """``url`` as asyncpg takes it (``postgresql://...``)."""
    url = normalise_url(url)
    return "postgresql" + url[len("postgres"):] if url.startswith("postgres://") else url


_checkpointer: Checkpointer | None = None


async def _start_checkpoints(url: str) -> None:
    """SQLite file: checkpoints from their own thread, never inside a commit of the
    product's connection (see :mod:`coovox.storage.checkpoint`)."""
    global _checkpointer
    if dialect_of(url) != "sqlite":
        return
    path = url[len("sqlite://"):].split("?", 1)[0]
    if path in ("", ":memory:"):
        return
    await connections.get("default").execute_script("PRAGMA wal_autocheckpoint=0")
    if _checkpointer is not None:
        _checkpointer.stop()
    _checkpointer = Checkpointer(str(Path(path).expanduser()))
    _checkpointer.start()


async def _open_store(url: str, sqlite_file: Path | None) -> None:
    """The store of units of work (:mod:`coovox.storage.work`): an SQLite file gets a
    connection of its own with the URL's pragmas; others use Tortoise's connection."""
    await work.close()
    if sqlite_file is None:
        work.use(work.TortoiseStore())
        return
    full = normalise_url(url)
    query = full.split("?", 1)[1] if "?" in full else ""
    pragmas = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    pragmas = {k: v for k, v in pragmas.items()
               if k in ("busy_timeout", "synchronous", "journal_mode", "cache_size")}
    if _checkpointer is not None:
        pragmas["wal_autocheckpoint"] = "0"  # checkpoints come from their own thread
    store = work.SqliteStore(str(sqlite_file), pragmas)
    store.owner = connections.get("default")
    await store.run(work.one("SELECT 1"), atomic=False)
    work.use(store)


def _sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None: PostgreSQL or an in-memory database)."""
    if dialect_of(url) != "sqlite":
        return None
    path = url[len("sqlite://"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path).expanduser()


def checkpointer() -> Checkpointer | None:
    return _checkpointer


async def close_db() -> None:
    global _checkpointer
    await work.close()
    if _checkpointer is not None:
        _checkpointer.stop()
        _checkpointer = None
    await Tortoise.close_connections()


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(":" + parts.password + "@", ":***@", 1)
    return url


async def ping() -> str | None:
    """``None`` when the database answers, else the error text (for ``/healthz``)."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # reported, not raised
        return str(exc) or exc.__class__.__name__
    return None


def current_dialect() -> Dialect:
    conn = connections.get("default")
    return "sqlite" if conn.capabilities.dialect == "sqlite" else "postgres"


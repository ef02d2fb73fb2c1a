"""Open the database, apply migrations, and the few per-dialect SQL helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate

from coovox.hooktypes import ModelSpec

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgres"]
Period = Literal["day", "month", "year"]


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message says why."""


def dialect_of(url: str) -> Dialect:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def normalise_url(url: str) -> str:
    """Tortoise URL: create the SQLite file's folder, add pragmas; keep postgres as is."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):].split("?", 1)[0]
        if path not in (":memory:", ""):
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if "busy_timeout" not in url:
            url += ("&" if "?" in url else "?") + "busy_timeout=10000"
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


async def _open(url: str, config: dict[str, Any], migrate: bool) -> None:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    # Tortoise caches SQL per connection *name*, not per dialect: after a SQLite database a
    # PostgreSQL one would reuse SQLite's INSERT statements (tests open both in one process).
    EXECUTOR_CACHE.clear()
    try:
        if migrate:
            await tortoise_migrate(config=config)
            await Tortoise.close_connections()
        await Tortoise.init(config=config)
        await connections.get("default").execute_query("SELECT 1")
    except (OSError, ConnectionError) as exc:
        raise DatabaseError(f"database {safe_url(url)}: cannot connect ({exc})") from None
    except Exception as exc:
        if exc.__class__.__module__.startswith(("asyncpg", "sqlite3", "tortoise")):
            raise DatabaseError(f"database {safe_url(url)}: {exc}") from None
        raise


async def close_db() -> None:
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


def period_sql(dialect: Dialect, column: str, period: Period, utc_offset_column: str | None = None,
               tz: str = "UTC") -> str:
    """SQL text giving ``column`` (a UTC timestamp) as YYYY-MM-DD / YYYY-MM / YYYY in ``tz``.

    SQLite has no time-zone database, so for it the caller passes the offset to apply as
    an SQL modifier column or uses :func:`sqlite_offset`; PostgreSQL converts with
    ``AT TIME ZONE``.
    """
    fmt = {"day": ("%Y-%m-%d", "YYYY-MM-DD"), "month": ("%Y-%m", "YYYY-MM"),
           "year": ("%Y", "YYYY")}[period]
    if dialect == "sqlite":
        shifted = column if utc_offset_column is None else f"{column}, {utc_offset_column}"
        return f"strftime('{fmt[0]}', {shifted})"
    return f"to_char(({column} AT TIME ZONE '{tz}'), '{fmt[1]}')"

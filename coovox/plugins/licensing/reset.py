"""``coovox reset [--hard] [--yes]``: the factory reset.

Wipes the database (the SQLite file, or every table of the apps on PostgreSQL) and the
generated secret key, after a confirmation.  The licence store is kept, so trials are
never restarted and licences stay; ``--hard`` also wipes the store (the guide's "hard
reset" of U20/U50: upload the same licence file again to restore it).  The TOML file
``coovox.toml`` is kept: it says where the database and Asterisk are.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from coovox.context import Coovox
from coovox.hooktypes import Subparsers
from coovox.plugins.licensing.store import LicenceStore
from coovox.storage import schema
from coovox.storage.db import DatabaseError, dialect_of, normalise_url, safe_url

log = logging.getLogger(__name__)

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def add_command(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "reset", help="factory reset: wipe configuration and data (keeps the licence store)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--hard", action="store_true",
                   help="also wipe the licence store (trial records and licences)")
    p.set_defaults(handler=cmd_reset, needs_db=False)


def _confirm(hard: bool) -> bool:
    what = "the database, the settings and the secret key"
    if hard:
        what += ", AND the licence store (trial records, licences)"
    print(f"This wipes {what}.", file=sys.stderr)
    try:
        answer = input("Type 'yes' to continue: ")
    except EOFError:
        return False
    return answer.strip().lower() == "yes"


async def cmd_reset(coovox: Coovox, args: argparse.Namespace) -> int:
    if not args.yes and not _confirm(args.hard):
        print("reset cancelled: nothing was changed", file=sys.stderr)
        return 1
    url = coovox.config.database_url
    try:
        if dialect_of(url) == "sqlite":
            removed = wipe_sqlite(url)
        else:
            removed = await wipe_postgres(coovox)
    except DatabaseError as exc:
        print(f"coovox: error: {exc}", file=sys.stderr)
        return 1
    secret = coovox.config.data_path / "secret.key"
    if secret.exists():
        secret.unlink()
        removed.append(str(secret))
    if args.hard:
        try:
            removed.extend(LicenceStore(coovox.config.licence_path).wipe())
        except OSError as exc:
            print(f"coovox: error: licence store: {exc}", file=sys.stderr)
            return 1
    for line in removed:
        print(f"removed {line}")
    if not args.hard:
        print(f"kept the licence store {coovox.config.licence_path}")
    print("reset done: start CooVox to set it up again")
    return 0


def sqlite_path(url: str) -> Path | None:
    path = normalise_url(url)[len("sqlite://"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def wipe_sqlite(url: str) -> list[str]:
    path = sqlite_path(url)
    removed = []
    if path is None:
        return removed
    for suffix in SQLITE_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        try:
            candidate.unlink()
            removed.append(str(candidate))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DatabaseError(f"cannot remove {candidate}: {exc.strerror or exc}") from None
    return removed


async def wipe_postgres(coovox: Coovox) -> list[str]:
    """Drop every table of every installed plugin's app, and the migrations record."""
    from tortoise import Tortoise, connections

    from coovox.storage.db import tortoise_config

    url = coovox.config.database_url
    specs = coovox.plugins.call_all_plugins("coovox_models")
    try:
        await Tortoise.init(config=tortoise_config(url, specs))
        tables: list[str] = []
        for models in Tortoise.apps.values():
            for model in models.values():
                tables.append(schema.table(model))
                tables.extend(schema.through_tables(model))
        tables.append("tortoise_migrations")
        conn = connections.get("default")
        for table in dict.fromkeys(tables):
            await conn.execute_script(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    except (OSError, ConnectionError) as exc:
        raise DatabaseError(f"database {safe_url(url)}: cannot connect ({exc})") from None
    except Exception as exc:
        if exc.__class__.__module__.startswith(("asyncpg", "tortoise")):
            raise DatabaseError(f"database {safe_url(url)}: {exc}") from None
        raise
    finally:
        await Tortoise.close_connections()
    return [f"table {t} of {safe_url(url)}" for t in dict.fromkeys(tables)]

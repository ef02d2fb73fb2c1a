"""Cost of one SQLite write transaction in the journal modes the product may run with.

The product's SQLite connection (Tortoise + aiosqlite, one connection) runs every
statement outside a transaction as its own commit; this measures what one commit costs
on this machine's disk: rollback journal (SQLite's default), WAL with ``synchronous=FULL``
(Tortoise's default: WAL, fsync at each commit) and WAL with ``synchronous=NORMAL``.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time

MODES = (("DELETE", "FULL"), ("WAL", "FULL"), ("WAL", "NORMAL"))


def commit_cost(n: int = 300) -> dict[str, float]:
    """Milliseconds per single-row INSERT transaction, per (journal, synchronous) mode."""
    out = {}
    for journal, sync in MODES:
        folder = tempfile.mkdtemp(prefix="bench-commit-")
        try:
            db = sqlite3.connect(f"{folder}/x.db", isolation_level=None)
            db.execute(f"PRAGMA journal_mode={journal}")
            db.execute(f"PRAGMA synchronous={sync}")
            db.execute("CREATE TABLE t (a INTEGER)")
            t0 = time.perf_counter()
            for i in range(n):
                db.execute("BEGIN")
                db.execute("INSERT INTO t VALUES (?)", (i,))
                db.execute("COMMIT")
            out[f"journal={journal} synchronous={sync}"] = round(
                (time.perf_counter() - t0) / n * 1000, 3)
            db.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return out

"""SQLite's WAL checkpoints, moved off the connection that serves calls.

By default SQLite checkpoints inside the commit that makes the write-ahead log pass
1,000 pages: that commit copies the log into the database file and syncs it, ~10 ms on
this disk, and every statement queued behind it on the one Tortoise connection waits
(measured: admission latency p99 15 ms with these stalls every ~0.2 s under 100 calls/s,
6.5 ms without; BENCHMARKS.md).  So the product's connection never checkpoints
(``wal_autocheckpoint=0``) and :class:`Checkpointer` does it from its own connection in
its own thread, once a second, in ``PASSIVE`` mode (never waits for, nor blocks, the
writers).  When the last connection closes, SQLite checkpoints what is left.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

EVERY = 1.0  # seconds between checkpoints


class Checkpointer:
    """A daemon thread checkpointing one SQLite database file every :data:`EVERY` s."""

    def __init__(self, path: str, every: float | None = None) -> None:
        self.path = path
        self.every = EVERY if every is None else every
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                        daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                self.checkpoint(conn)
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # logged once per failing spell, tried again later
            if not self._failing:
                log.warning("SQLite checkpoint of %s failed (%s); retrying", self.path, exc)
            self._failing = True
            return
        if self._failing:
            log.info("SQLite checkpoints of %s work again", self.path)
        self._failing = False
        self.runs += 1

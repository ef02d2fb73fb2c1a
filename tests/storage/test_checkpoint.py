"""SQLite's write-ahead log is checkpointed from its own thread, never in a commit of the
connection that serves calls, and it stays small while the product writes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tortoise import connections

from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.storage import checkpoint, db


async def test_the_log_stays_small_while_the_product_writes(config, monkeypatch):
    monkeypatch.setattr(checkpoint, "EVERY", 0.1)
    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await app.open(startup=False)
    try:
        conn = connections.get("default")
        rows = await conn.execute_query_dict("PRAGMA wal_autocheckpoint")
        assert list(rows[0].values()) == [0]  # the product's connection never checkpoints
        wal = Path(config.data_dir) / "coovox.sqlite3-wal"
        await conn.execute_script("CREATE TABLE filler (v TEXT)")
        written = 0
        for _ in range(12):  # ~6 MB in all, with pauses the checkpointer can use
            await conn.execute_many("INSERT INTO filler (v) VALUES (?)",
                                    [[os.urandom(256).hex()] for _ in range(1000)])
            written += 1000 * 512
            await asyncio.sleep(0.15)
        assert db.checkpointer() is not None and db.checkpointer().runs >= 5
        assert wal.stat().st_size < written / 3  # reused from its start after checkpoints
    finally:
        await app.close()
    assert db.checkpointer() is None  # stopped with the database


async def test_postgresql_has_no_checkpointer(tmp_path, pg_url):
    from tests.support.apps import opened

    async with opened(pg_url, tmp_path / "p"):
        assert db.checkpointer() is None

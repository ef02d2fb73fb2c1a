"""``coovox run`` start-up: what it leaves behind for a long-running process."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from coovox import runner
from coovox.context import Coovox
from coovox.plugin_host import PluginHost

ROOT = Path(__file__).resolve().parents[1]


async def test_objects_loaded_at_start_are_kept_out_of_full_collections(config):
    """A full garbage collection must not walk the whole program while calls run: what
    start-up loaded is frozen (the pause it saves is measured in BENCHMARKS.md)."""
    gc.unfreeze()
    coovox = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    web = await runner.start(coovox, host="127.0.0.1", port=0)
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, ORM metadata, templates...
        assert len(gc.get_objects(generation=2)) < frozen
    finally:
        gc.unfreeze()
        await web.cleanup()
        await coovox.close()


IDLE_RUN = """
import asyncio, json, sys
from coovox import cli
from coovox.cli import main

async def probe(coovox, args):
    from coovox import runner
    web = await runner.start(coovox, host="127.0.0.1", port=0)
    await web.cleanup()
    await coovox.close()
    print(json.dumps(sorted(m for m in sys.modules if "." not in m)))

cli.cmd_run = probe
sys.exit(main(["run"]))
"""


def test_an_idle_run_imports_no_export_writer_nor_postgresql_driver(tmp_path):
    """``coovox run`` on SQLite, nothing asked yet: the .xlsx writers, the PostgreSQL
    driver and the benchmark profiler stay unimported (they cost resident memory)."""
    env = {**os.environ, "COOVOX_DATA_DIR": str(tmp_path / "d"), "COOVOX_SECRET_KEY": "x",
           "COOVOX_ARI_URL": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", IDLE_RUN], env=env, cwd=ROOT, timeout=120,
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-2000:]
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "tortoise" in modules and "aiohttp" in modules
    assert not modules & {"openpyxl", "xlsxwriter", "asyncpg", "pyinstrument"}


MIGRATE_APART = """
import sqlite3, sys
from coovox.plugin_host import PluginHost
from coovox.storage.db import migrate_apart
ok = migrate_apart("sqlite://" + sys.argv[1], PluginHost().call_all_plugins("coovox_models"))
tables = {r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "SELECT name FROM sqlite_master WHERE type = 'table'")}
print(ok, "billing_ledger" in tables, "tortoise" in sys.modules)
"""


def test_a_fresh_database_is_migrated_in_a_child_process(tmp_path):
    """The migration runs in a forked child: the schema is there afterwards; the parent
    only ever imported the ORM (it opens the database itself next)."""
    out = subprocess.run([sys.executable, "-c", MIGRATE_APART, str(tmp_path / "c.sqlite3")],
                         cwd=ROOT, timeout=120, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True", "True"]


def test_no_migration_apart_with_threads_running_or_in_memory():
    import threading

    from coovox.storage.db import migrate_apart

    assert not migrate_apart("sqlite://:memory:", [])
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not migrate_apart("sqlite:///nonexistent/x.sqlite3", [])
    finally:
        stop.set()
        t.join()

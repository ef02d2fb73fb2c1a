"""Migration calls/0003 (outbound caller IDs) upgrades a database that has rows: existing
extensions, trunks and dial rules get the defaults (no caller IDs, the extension's caller
ID preferred, the first caller ID, sequential), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from tortoise import connections

from coovox.plugin_host import PluginHost
from coovox.storage import db

NEW = {"calls_extension": ("caller_id1", "caller_id2"), "calls_trunk": ("caller_id", "prefer"),
       "calls_dial_rule": ("caller_id", "call_method")}
ROWS = ["INSERT INTO calls_extension (number, name, enabled, dial_permission) "
        "VALUES ('100', 'Alice', TRUE, 'DialPlan1')",
        "INSERT INTO calls_trunk (name, dial_string, enabled) VALUES ('t', 'X/{number}', TRUE)",
        "INSERT INTO calls_dial_rule (name, prefix, pattern, prepend, trunks) "
        "VALUES ('r', '9', 'X.', '', '[\"t\"]')"]


async def _as_before_0003(url: str, specs) -> None:
    """A database as the release before 0003 left it, with rows."""
    await db.open_db(url, specs)
    try:
        conn = connections.get("default")
        for table, columns in NEW.items():
            for column in columns:
                await conn.execute_script(f'ALTER TABLE {table} DROP COLUMN "{column}"')
        await conn.execute_script(
            "DELETE FROM tortoise_migrations WHERE app = 'calls' AND name = '0003_caller_id'")
        for statement in ROWS:
            await conn.execute_script(statement)
    finally:
        await db.close_db()


async def _upgraded(url: str, specs) -> tuple:
    from coovox.plugins.calls.models import DialRule, Extension, Trunk

    await db.open_db(url, specs)  # applies the pending migration
    try:
        ext, trunk, rule = (await Extension.get(number="100"), await Trunk.get(name="t"),
                            await DialRule.get(name="r"))
        return ((ext.name, ext.caller_id1, ext.caller_id2), (trunk.caller_id, trunk.prefer),
                (rule.caller_id, rule.call_method))
    finally:
        await db.close_db()


EXPECTED = (("Alice", "", ""), ("", "extension"), (1, "sequential"))


async def test_sqlite_rows_get_the_defaults(tmp_path):
    specs = PluginHost().call_all_plugins("coovox_models")
    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    await _as_before_0003(url, specs)
    assert await _upgraded(url, specs) == EXPECTED


@pytest.mark.postgres
async def test_postgres_rows_get_the_defaults(pg_url):
    specs = PluginHost().call_all_plugins("coovox_models")
    await _as_before_0003(pg_url, specs)
    assert await _upgraded(pg_url, specs) == EXPECTED

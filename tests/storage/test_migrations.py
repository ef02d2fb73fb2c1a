"""Committed migrations build the schema on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

import sqlite3

import pytest
from tortoise import connections

from coovox.plugin_host import PluginHost
from coovox.storage import db
from coovox.storage.migrations import pending_model_changes


@pytest.fixture(scope="module")
def specs():
    return PluginHost().call_all_plugins("coovox_models")


def model_tables() -> set[str]:
    from tortoise import Tortoise

    return {model._meta.db_table for app in Tortoise.apps.values() for model in app.values()}


async def applied_migrations() -> list[tuple[str, str]]:
    _, rows = await connections.get("default").execute_query(
        "SELECT app, name FROM tortoise_migrations ORDER BY app, name")
    return [(r["app"], r["name"]) for r in rows]


async def test_sqlite_schema_created_with_wal_and_foreign_keys(tmp_path, specs):
    path = tmp_path / "sub" / "coovox.sqlite3"
    url = f"sqlite://{path}"
    await db.open_db(url, specs)
    try:
        expected = model_tables()
        conn = connections.get("default")
        _, rows = await conn.execute_query("PRAGMA foreign_keys")
        assert rows[0][0] == 1
        _, rows = await conn.execute_query("PRAGMA journal_mode")
        assert rows[0][0].lower() == "wal"
        first = await applied_migrations()
    finally:
        await db.close_db()
    assert {"core_user", "core_plugin_state", "calls_call"} <= expected
    with sqlite3.connect(path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    assert expected <= tables
    assert {label for label, _ in first} == {s.app_label for s in specs}

    # applying again is a no-op: same migrations recorded, data kept
    await db.open_db(url, specs)
    try:
        from coovox.models import PluginState

        await PluginState.create(name="billing", enabled=False)
        assert await applied_migrations() == first
    finally:
        await db.close_db()
    await db.open_db(url, specs)
    try:
        assert await applied_migrations() == first
        assert (await PluginState.get(name="billing")).enabled is False
    finally:
        await db.close_db()


async def test_sqlite_refuses_orphan_rows(tmp_path, specs):
    """Foreign keys are enforced: a token of a user that does not exist is refused."""
    from coovox.models import ApiToken

    await db.open_db(f"sqlite://{tmp_path / 'fk.sqlite3'}", specs)
    try:
        with pytest.raises(Exception, match="(?i)foreign key"):
            await ApiToken.create(user_id=999, token_hash="x" * 64, prefix="cvx_")
    finally:
        await db.close_db()


@pytest.mark.postgres
async def test_postgres_schema_created_and_reapplying_is_noop(pg_url, specs):
    await db.open_db(pg_url, specs)
    try:
        expected = model_tables()
        assert db.current_dialect() == "postgres"
        _, rows = await connections.get("default").execute_query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        tables = {r["table_name"] for r in rows}
        first = await applied_migrations()
        from coovox.models import User

        await User.create(username="pg-user", password_hash="x", role="admin")
    finally:
        await db.close_db()
    assert expected <= tables
    assert {label for label, _ in first} == {s.app_label for s in specs}

    await db.open_db(pg_url, specs)
    try:
        assert await applied_migrations() == first
        assert await User.filter(username="pg-user").exists()
    finally:
        await db.close_db()


@pytest.mark.postgres
async def test_postgres_url_with_wrong_password_is_a_clear_error(pg_server, specs):
    url = pg_server.url("postgres").replace("coovox:coovox@", "coovox:wrong@")
    with pytest.raises(db.DatabaseError) as exc:
        await db.open_db(url, specs)
    assert "wrong" not in str(exc.value)  # the password is masked
    assert "***" in str(exc.value)


async def test_committed_migrations_match_the_models(tmp_path, specs):
    """Fails when someone changed a model and forgot ``coovox db makemigrations``."""
    from tests.support import all_hooks_plugin

    every = [*specs, all_hooks_plugin.coovox_models(None)]  # (the test plugin's app too)
    changes = await pending_model_changes(f"sqlite://{tmp_path / 'x.sqlite3'}", every)
    assert changes == [], (
        f"models changed without a migration: {changes}; regenerate the app's "
        "0001_initial.py with 'coovox db makemigrations <label>'")


def test_added_columns_upgrade_tables_that_have_rows(specs):
    """A NOT NULL column added to an existing table needs a database default, or
    ``coovox db migrate`` fails on any database that has rows ("Cannot add a NOT NULL
    column with default value NULL"): the web log's ``details`` once did."""
    import importlib
    import pkgutil

    from tortoise.fields.base import DB_DEFAULT_NOT_SET
    from tortoise.migrations import operations as ops

    missing = []
    for spec in specs:
        package = importlib.import_module(spec.migrations)
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{spec.migrations}.{info.name}")
            for op in module.Migration.operations:
                if (type(op) is ops.AddField and not op.field.null
                        and op.field.db_default is DB_DEFAULT_NOT_SET):
                    missing.append(f"{spec.app_label}/{info.name}: {op.model_name}.{op.name}")
    assert missing == [], f"NOT NULL columns added without db_default: {missing}"


async def test_web_log_rows_from_before_details_upgrade(tmp_path, specs):
    from coovox.models import WebLog

    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    await db.open_db(url, specs)
    try:  # the database as the release before core/0003 left it, with a row
        conn = connections.get("default")
        table = "core_web_log"
        await conn.execute_script(f'ALTER TABLE {table} DROP COLUMN "details"')
        await conn.execute_script(
            "DELETE FROM tortoise_migrations WHERE app = 'core' "
            "AND name = '0003_web_log_details'")
        await conn.execute_script(
            f"INSERT INTO {table} (at, ip, username, role, action, result) VALUES "
            "('2026-01-01 00:00:00+00:00', '127.0.0.1', 'admin', 'admin', 'old', 'ok')")
    finally:
        await db.close_db()
    await db.open_db(url, specs)  # applies core/0003
    try:
        row = await WebLog.get(action="old")
        assert (row.username, row.details) == ("admin", "")
    finally:
        await db.close_db()

"""Trigram indexes for the call log's keyword filter (see ``coovox.plugins.calllog.keyword``).

SQLite: an FTS5 table with the ``trigram`` tokenizer over ``calls_call`` (external content,
rowid = the call's rowid), filled from the existing rows and kept by triggers (SQLite older
than 3.34 has no trigram tokenizer: a warning, and the filter scans the table).
``calls_call`` has no INTEGER PRIMARY KEY, so a VACUUM may renumber its rowids: after one,
run ``INSERT INTO calls_call_fts(calls_call_fts) VALUES ('rebuild')``.
PostgreSQL: ``pg_trgm`` GIN indexes on the three columns; if the extension cannot be
created the filter still works (a table scan) and a warning is logged.
"""

import logging

from tortoise import migrations
from tortoise.migrations import operations as ops

log = logging.getLogger("coovox.migrations")

COLS = "extension, extension_name, dialed"
NEW = "new.rowid, new.extension, new.extension_name, new.dialed"
OLD = "'delete', old.rowid, old.extension, old.extension_name, old.dialed"

SQLITE_UP = [
    "CREATE VIRTUAL TABLE calls_call_fts USING fts5("
    f"{COLS}, content='calls_call', tokenize='trigram')",
    "INSERT INTO calls_call_fts(calls_call_fts) VALUES ('rebuild')",
    "CREATE TRIGGER calls_call_fts_ai AFTER INSERT ON calls_call BEGIN "
    f"INSERT INTO calls_call_fts(rowid, {COLS}) VALUES ({NEW}); END",
    "CREATE TRIGGER calls_call_fts_ad AFTER DELETE ON calls_call BEGIN "
    f"INSERT INTO calls_call_fts(calls_call_fts, rowid, {COLS}) VALUES ({OLD}); END",
    f"CREATE TRIGGER calls_call_fts_au AFTER UPDATE OF {COLS} ON calls_call BEGIN "
    f"INSERT INTO calls_call_fts(calls_call_fts, rowid, {COLS}) VALUES ({OLD}); "
    f"INSERT INTO calls_call_fts(rowid, {COLS}) VALUES ({NEW}); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS calls_call_fts_au", "DROP TRIGGER IF EXISTS calls_call_fts_ad",
    "DROP TRIGGER IF EXISTS calls_call_fts_ai", "DROP TABLE IF EXISTS calls_call_fts",
]
PG_INDEXES = [f"calls_call_trgm_{c}" for c in ("extension", "extension_name", "dialed")]


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        try:  # FTS5 with the trigram tokenizer: SQLite 3.34 or later
            await client.execute_script(SQLITE_UP[0])
        except Exception as exc:  # noqa: BLE001 - old SQLite: LIKE scans instead
            log.warning("SQLite has no FTS5 trigram tokenizer (%s): keyword searches of "
                        "the call log will scan the table", exc)
            return
        for statement in SQLITE_UP[1:]:
            await client.execute_script(statement)
        return
    await client.execute_script("SAVEPOINT coovox_trgm")
    try:
        await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - not allowed or not installed: no index
        await client.execute_script("ROLLBACK TO SAVEPOINT coovox_trgm")
        log.warning("pg_trgm not available (%s): keyword searches of the call log "
                    "will scan the table", exc)
        return
    await client.execute_script("RELEASE SAVEPOINT coovox_trgm")
    for name, column in zip(PG_INDEXES, ("extension", "extension_name", "dialed"),
                            strict=True):
        await client.execute_script(
            f'CREATE INDEX IF NOT EXISTS {name} ON calls_call USING gin ("{column}" gin_trgm_ops)')


async def backward(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        for statement in SQLITE_DOWN:
            await client.execute_script(statement)
        return
    for name in PG_INDEXES:
        await client.execute_script(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("calls", "0001_initial")]

    initial = False

    operations = [ops.RunPython(forward, backward)]

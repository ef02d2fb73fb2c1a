"""SQLite opens with ``synchronous=NORMAL`` (WAL) unless the URL says otherwise."""

from __future__ import annotations

import pytest
from tortoise import connections

from coovox.plugin_host import PluginHost
from coovox.storage import db

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


@pytest.fixture(scope="module")
def specs():
    return PluginHost().call_all_plugins("coovox_models")


async def opened_synchronous(url: str, specs) -> str:
    await db.open_db(url, specs)
    try:
        _, rows = await connections.get("default").execute_query("PRAGMA synchronous")
        return SYNCHRONOUS[rows[0][0]]
    finally:
        await db.close_db()


async def test_sqlite_commits_without_fsync_by_default(tmp_path, specs):
    assert await opened_synchronous(f"sqlite://{tmp_path / 'a.sqlite3'}", specs) == "NORMAL"


@pytest.mark.parametrize("query", ["?synchronous=FULL", "?busy_timeout=5000&synchronous=FULL",
                                   "?SYNCHRONOUS=FULL"])
async def test_an_explicit_synchronous_in_the_url_wins(tmp_path, specs, query):
    url = f"sqlite://{tmp_path / 'b.sqlite3'}{query}"
    assert await opened_synchronous(url, specs) == "FULL"
    assert db.normalise_url(url).lower().count("synchronous=") == 1


def test_postgres_url_gets_no_sqlite_pragma():
    url = "postgres://u:p@127.0.0.1:5432/coovox"
    assert db.normalise_url(url) == url

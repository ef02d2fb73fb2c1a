"""Fixtures of the web tests: one migrated database copied per test, fast password hashing
(the sign-in helpers are in tests/support/web.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """A SQLite database with every plugin's migrations applied, made once per run."""
    import asyncio

    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost

    folder = tmp_path_factory.mktemp("migrated") / "data"
    config = load_config(environ={}, data_dir=str(folder), secret_key="test-secret")

    async def build():
        app = Coovox(config=config, plugins=PluginHost())
        await app.open(startup=False)
        await app.close()

    asyncio.run(build())
    return folder / "coovox.sqlite3"


@pytest.fixture
def config(tmp_path, migrated_db):
    """The shared ``config`` fixture, starting from a copy of the migrated database (fast)."""
    from coovox.config import load_config

    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(migrated_db, data / "coovox.sqlite3")
    return load_config(environ={}, data_dir=str(data), secret_key="test-secret")


@pytest.fixture(autouse=True)
def fast_password_hash(monkeypatch):
    """Cheap argon2 parameters in web tests (the real ones cost ~0.5 s a hash here)."""
    from coovox import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                         parallelism=1))

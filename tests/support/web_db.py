"""Fast web tests (registered in tests/conftest.py): one migrated SQLite database made per
run (``migrated_db``), copied per test, and cheap password hashing; the web and security
folders' conftests wire them in as their ``config`` and an autouse fixture."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from coovox.config import Config, load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """A SQLite database with every plugin's migrations applied, made once per run."""
    folder = tmp_path_factory.mktemp("migrated") / "data"
    config = load_config(environ={}, data_dir=str(folder), secret_key="test-secret")

    async def build():
        app = Coovox(config=config, plugins=PluginHost())
        await app.open(startup=False)
        await app.close()

    asyncio.run(build())
    return folder / "coovox.sqlite3"


def config_on_copy(migrated_db: Path, tmp_path: Path) -> Config:
    """The shared ``config``, starting from a copy of the migrated database (fast)."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(migrated_db, data / "coovox.sqlite3")
    return load_config(environ={}, data_dir=str(data), secret_key="test-secret")


def cheap_password_hash(monkeypatch) -> None:
    """Cheap argon2 parameters (the real ones cost ~0.5 s a hash here)."""
    from coovox import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                         parallelism=1))

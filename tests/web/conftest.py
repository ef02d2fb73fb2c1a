"""Helpers for web tests: switch the test client to a fresh user of any role."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.conftest import sign_in

USER_PASSWORD = "User-pass-1"
_counter = itertools.count(1)


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


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def become(client, role: str | None, name: str | None = None) -> str | None:
    """Forget the client's cookies and, unless ``role`` is None, sign in as a new user of
    that role (``client.csrf`` is then its CSRF token). Returns the user name."""
    from coovox.users import create_user

    client.session.cookie_jar.clear()
    if role is None:
        client.csrf = None
        return None
    name = name or f"{role}-{next(_counter)}"
    await create_user(name, USER_PASSWORD, role)
    client.csrf = await sign_in(client, name, USER_PASSWORD)
    return name


async def token_for(username: str) -> str:
    from coovox.users import create_token

    return (await create_token(username))[1]

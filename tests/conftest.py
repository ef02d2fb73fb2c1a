"""Fixtures: a configuration in a temp folder, an opened CooVox, a web client, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from coovox.config import Config, load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from tests.support.postgres import PgServer, pg_bin, start_postgres
from tests.support.web import ADMIN_PASSWORD, sign_in

# shared fixtures, the one place tests get them from (no test module imports another's)
pytest_plugins = [
    "tests.support.call_app",  # the app against the ARI double: double, plugins, app
    "tests.support.billing_app",  # billing_app: calls + billing against the double
    "tests.support.billing_fixtures",  # control, meter, billing_api, (bare_)billing_client
    "tests.support.web_db",  # migrated_db (the web and security conftests copy it)
]


# The longest modules (--durations: 40–125 s each) start first, so that with several
# workers (scripts/test.sh runs pytest-xdist, a module whole on one worker) none of them is
# left running alone at the end of the run.
SLOW_FIRST = (
    "tests/reliability/test_lost_asterisk.py",
    "tests/security/test_fuzz_routes.py",
    "tests/real/test_robustness.py",
    "tests/reliability/test_crash.py",
    "tests/real/test_money.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    rank = {module: i for i, module in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def config(tmp_path) -> Config:
    return load_config(environ={}, data_dir=str(tmp_path / "data"), secret_key="test-secret")


@pytest.fixture
async def coovox(config) -> AsyncIterator[Coovox]:
    app = Coovox(config=config, plugins=PluginHost())
    await app.open()
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def client(coovox, aiohttp_client):
    from coovox.web.app import create_app

    return await aiohttp_client(create_app(coovox))


@pytest.fixture
async def admin_user(coovox):
    from coovox.users import create_user

    return await create_user("admin", ADMIN_PASSWORD)


@pytest.fixture
async def admin_token(admin_user) -> str:
    from coovox.users import create_token

    _, token = await create_token("admin")
    return token


@pytest.fixture
async def admin_client(client, admin_user):
    """A web client signed in as ``admin``; ``client.csrf`` holds its CSRF token."""
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    return client


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries missing in CI (scripts/test.sh installs them)")
        pytest.skip("PostgreSQL server binaries not installed")
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.create_db("t_" + uuid.uuid4().hex[:12])

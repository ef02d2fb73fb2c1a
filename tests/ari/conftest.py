"""Fixtures for the ARI connection tests: the ARI double and a scriptable fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from coovox.ari import AriConnection
from coovox.sim import AriDouble
from tests.support.ari import PASSWORD, USER, running_double


@pytest.fixture
async def double() -> AsyncIterator[AriDouble]:
    async with running_double(0.05) as sim:
        yield sim


@pytest.fixture
async def connect(double):
    """``await connect(**kwargs)`` -> a started AriConnection to the double."""
    made: list[AriConnection] = []

    async def make(**kwargs) -> AriConnection:
        kwargs.setdefault("on_event", lambda event: None)
        conn = AriConnection(double.url, kwargs.pop("user", USER),
                             kwargs.pop("password", PASSWORD), "coovox", **kwargs)
        made.append(conn)
        await conn.start()
        return conn

    yield make
    for conn in made:
        await conn.stop()


@pytest.fixture
async def fake_server() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``await fake_server(routes)`` -> base url of an aiohttp app with those routes."""
    runners: list[web.AppRunner] = []

    async def start(routes: list[web.RouteDef]) -> str:
        app = web.Application()
        app.add_routes(routes)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()

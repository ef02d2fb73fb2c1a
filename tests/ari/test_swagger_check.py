"""At connect, the server's swagger is read; the real Asterisk 22 one has all we use."""

from __future__ import annotations

import json
import pathlib

import pytest
from aiohttp import web

from coovox.ari import AriConnection
from coovox.ari.connection import REQUIRED_OPERATIONS, missing_operations, swagger_resources
from tests.support.ari import PASSWORD, USER, wait_for

SERVED = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "ari" / "served"


async def test_real_asterisk_swagger_has_every_operation_we_use(fake_server):
    if not SERVED.is_dir():
        pytest.skip("../shared/ari/served is not available")
    base: list[str] = []

    async def doc(request):
        name = request.match_info["name"]
        path = SERVED / f"{name}.json"
        if not path.is_file():  # served/ holds the six we use; the rest as in the source
            path = SERVED.parent / "api-docs" / f"{name}.json"
        if not path.is_file():
            return web.json_response({"message": "not found"}, status=404)
        data = json.loads(path.read_text())
        data["basePath"] = base[0] + "/ari"
        return web.json_response(data)

    async def events(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    base.append(await fake_server([web.get("/ari/api-docs/{name}.json", doc),
                                   web.get("/ari/events", events)]))
    conn = AriConnection(base[0], USER, PASSWORD, "coovox")
    try:
        await conn.start()
        await conn.wait_connected(5)
        assert conn.swagger_checked and conn.missing_operations == []
    finally:
        await conn.stop()


async def test_missing_operations_are_reported_but_do_not_block(double, connect):
    from coovox.sim import swagger
    saved = swagger.RESOURCES["playbacks"]
    swagger.RESOURCES["playbacks"] = {"apis": [], "models": {}}
    try:
        conn = await connect()
        await conn.wait_connected(3)
        assert conn.missing_operations == ["playbacks.stop"]
    finally:
        swagger.RESOURCES["playbacks"] = saved


async def test_unparsable_swagger_does_not_block_the_connection(fake_server):
    async def listing(request):
        return web.json_response({"apis": "nonsense"})

    async def events(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    url = await fake_server([web.get("/ari/api-docs/resources.json", listing),
                             web.get("/ari/events", events)])
    conn = AriConnection(url, USER, PASSWORD, "coovox")
    try:
        await conn.start()
        await wait_for(lambda: conn.connected, 3)
        assert conn.swagger_checked and conn.missing_operations is None
    finally:
        await conn.stop()


API_DOCS = SERVED.parent / "api-docs"


def test_the_captured_asterisk_swagger_declares_every_operation_we_use():
    """Straight from ../shared/ari/api-docs (Asterisk 22.10.1's rest-api, unchanged)."""
    if not API_DOCS.is_dir():
        pytest.skip("../shared/ari/api-docs is not available")
    names = swagger_resources(json.loads((API_DOCS / "resources.json").read_text()))
    assert set(REQUIRED_OPERATIONS) <= set(names)
    docs = {name: json.loads((API_DOCS / f"{name}.json").read_text())
            for name in REQUIRED_OPERATIONS}
    assert missing_operations(docs) == []
    del docs["playbacks"]["apis"][0]["operations"][:]  # /playbacks/{id}: get, stop
    assert missing_operations(docs) == ["playbacks.stop"]


@pytest.mark.parametrize("listing", [{"apis": "nonsense"}, [], {"apis": [{"no": "path"}]}])
def test_a_listing_that_is_not_swagger_is_a_value_error(listing):
    with pytest.raises(ValueError):
        swagger_resources(listing)


@pytest.mark.parametrize("bad", [False, True])
async def test_a_listed_resource_not_served_is_missing_and_a_bad_one_unknown(fake_server, bad):
    """A declaration answered 404 counts as absent; one that is not swagger makes the check
    unknown (None).  Neither blocks the connection."""
    async def listing(request):
        return web.json_response({"apis": [{"path": "/api-docs/channels.{format}"},
                                           {"path": "/api-docs/bridges.{format}"}]})

    async def doc(request):
        name = request.match_info["name"]
        if name == "bridges" and bad:
            return web.json_response({"apis": [{"operations": "nonsense"}]})
        if name != "channels":
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response({"apis": [{"operations": [
            {"nickname": op} for op in REQUIRED_OPERATIONS["channels"]]}]})

    async def events(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    url = await fake_server([web.get("/ari/api-docs/resources.json", listing),
                             web.get("/ari/api-docs/{name}.json", doc),
                             web.get("/ari/events", events)])
    conn = AriConnection(url, USER, PASSWORD, "coovox")
    try:
        await conn.start()
        await wait_for(lambda: conn.connected, 3)
        assert conn.swagger_checked
        assert conn.missing_operations == (None if bad else [
            "bridges.addChannel", "bridges.create", "bridges.destroy", "bridges.get",
            "bridges.list", "playbacks.stop", "applications.get"])
    finally:
        await conn.stop()

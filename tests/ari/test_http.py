"""The keep-alive HTTP client under ARI's REST calls: framing, reuse, servers that close."""

from __future__ import annotations

import asyncio
import json

import pytest

from coovox.ari import AriError, AriRest


class RawServer:
    """A loopback HTTP server whose replies the test writes byte by byte."""

    def __init__(self, reply) -> None:
        self.reply = reply  # async (request line, writer) -> None
        self.connections = 0
        self.requests: list[str] = []

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next((int(v) for k, _, v in (x.partition(":") for x in lines)
                               if k.lower() == "content-length"), 0)
                if length:
                    await reader.readexactly(length)
                self.requests.append(lines[0])
                if await self.reply(lines[0], writer) == "close":
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


def rest(server: RawServer) -> AriRest:
    return AriRest(f"http://127.0.0.1:{server.port}", "user", "pa:ss word", "coovox",
                   timeout=2)


def ok(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + \
        str(len(data)).encode() + b"\r\n\r\n" + data


async def test_keep_alive_reuses_one_connection_and_sends_basic_auth():
    seen = []

    async def reply(line, writer):
        seen.append(line)
        writer.write(ok({"n": len(seen)}))

    async with RawServer(reply) as server:
        client = rest(server)
        assert [await client.request("GET", "/channels") for _ in range(5)] == [
            {"n": i} for i in range(1, 6)]
        assert server.connections == 1
        await client.close()


async def test_a_response_in_fragments_and_a_chunked_one_are_read_whole():
    async def reply(line, writer):
        if "chunked" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"4\r\n{\"a\"\r\n5;x=1\r\n: 12}\r\n0\r\n\r\n")
            return
        data = ok({"id": "x" * 5000})
        for i in range(0, len(data), 700):  # headers and body split over many packets
            writer.write(data[i:i + 700])
            await writer.drain()
            await asyncio.sleep(0.001)

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/chunked") == {"a": 12}
        assert await client.request("GET", "/big") == {"id": "x" * 5000}
        assert server.connections == 1
        await client.close()


async def test_connection_close_and_a_server_closing_idle_connections():
    async def reply(line, writer):
        if "/close-after" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
            return "close"
        if "/no-length" in line:
            writer.write(b"HTTP/1.1 200 OK\r\n\r\n{\"end\": true}")
            return "close"
        if "/idle-close" in line:
            writer.write(ok({}))
            await writer.drain()
            return "close"  # like Asterisk ending an idle keep-alive session
        writer.write(ok({"fine": True}))

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/close-after") == {}
        assert await client.request("GET", "/no-length") == {"end": True}
        assert await client.request("GET", "/idle-close") == {}
        await asyncio.sleep(0.05)
        assert await client.request("POST", "/next") == {"fine": True}
        assert server.connections == 4
        assert len(server.requests) == 4  # nothing was sent twice
        await client.close()


async def test_concurrent_requests_get_their_own_replies():
    async def reply(line, writer):
        await asyncio.sleep(0.01)
        writer.write(ok({"line": line}))

    async with RawServer(reply) as server:
        client = rest(server)
        results = await asyncio.gather(*(client.request("POST", f"/channels/c{i}/ring")
                                         for i in range(40)))
        assert [r["line"] for r in results] == [
            f"POST /ari/channels/c{i}/ring HTTP/1.1" for i in range(40)]
        again = await client.request("GET", "/x", {"endpoint": "Local/55@pstn", "a": "b c"})
        assert again["line"] == "GET /ari/x?endpoint=Local/55@pstn&a=b%20c HTTP/1.1"
        await client.close()


@pytest.mark.parametrize("garbage", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\n"
                                     b"Content-Length: nope\r\n\r\n"])
async def test_a_bad_response_is_a_clear_ari_error(garbage):
    async def reply(line, writer):
        writer.write(garbage)
        await writer.drain()
        return "close"

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError) as info:
            await client.request("GET", "/channels")
        assert "GET /channels failed" in str(info.value)
        assert "pa:ss" not in str(info.value)
        await client.close()

"""The keep-alive HTTP client under ARI's REST calls, tested as a protocol implementation:
framing (Content-Length, chunked, end of connection, no body), reuse and retries, servers
that close, split, stall or send garbage, limits, and Asterisk's error answers."""

from __future__ import annotations

import asyncio
import json

import pytest

from coovox.ari import AriError, AriNotFound, AriRest
from coovox.ari import http as ari_http


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


def rest(server: RawServer, timeout: float = 2) -> AriRest:
    return AriRest(f"http://127.0.0.1:{server.port}", "user", "pa:ss word", "coovox",
                   timeout=timeout)


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


# --- framing -------------------------------------------------------------------------------


async def _trickle(writer, data: bytes, step: int = 1) -> None:
    for i in range(0, len(data), step):
        writer.write(data[i:i + step])
        await writer.drain()
        await asyncio.sleep(0)


CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;name=value;other\r\n{\"a\r\nA ; ext=\"quoted;\"\r\n\": [1, 2]}\r\n"
           b"0;last\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n")


async def test_head_and_body_arriving_byte_by_byte_are_read_whole():
    async def reply(line, writer):
        await _trickle(writer, CHUNKED if "chunked" in line else ok({"id": "é" * 50}))

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/one") == {"id": "é" * 50}
        assert await client.request("GET", "/chunked") == {"a": [1, 2]}
        assert await client.request("GET", "/two") == {"id": "é" * 50}
        assert server.connections == 1  # extensions and trailers consumed, stream in step
        await client.close()


async def test_no_body_after_204_304_and_head_and_interim_1xx_skipped():
    async def reply(line, writer):
        if "/no-content" in line:  # Asterisk's answer to hangup, dial, addChannel...
            writer.write(b"HTTP/1.1 204 No Content\r\nServer: Asterisk/22.10.1\r\n\r\n")
        elif "/not-modified" in line:
            writer.write(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n")
        elif line.startswith("HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
        elif "/interim" in line:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                         + ok({"final": True}))
        else:
            writer.write(ok({"after": line}))

    async with RawServer(reply) as server:
        client = rest(server)
        for method, path in (("DELETE", "/no-content"), ("GET", "/not-modified"),
                             ("HEAD", "/x"), ("POST", "/interim")):
            first = await client.request(method, path)
            assert first == ({"final": True} if path == "/interim" else None)
            assert await client.request("GET", "/next") == {
                "after": "GET /ari/next HTTP/1.1"}
        assert server.connections == 1
        await client.close()


async def test_a_longer_body_than_declared_is_cut_and_the_connection_dropped():
    async def reply(line, writer):
        if "/extra" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}GARBAGE")
        else:
            writer.write(ok({"fine": True}))

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/extra") == {}
        assert await client.request("GET", "/next") == {"fine": True}
        assert server.connections == 2  # the rest was never read as the next answer
        await client.close()


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\": 1",  # shorter than declared
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":",  # mid-chunk
    b"HTTP/1.1 200 OK\r\nContent-Le",  # mid-head
])
async def test_a_connection_closed_before_the_end_is_an_error_never_a_short_body(answer):
    async def reply(line, writer):
        writer.write(answer)
        await writer.drain()
        return "close"

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError) as info:
            await client.request("GET", "/channels")
        assert info.value.status == 0
        assert "closed before the end of the response" in str(info.value)
        assert len(server.requests) == 1
        await client.close()


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 20 OK\r\n\r\n",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"HTTP/1.1 \xef\xbc\x92\xef\xbc\x90\xef\xbc\x90 OK\r\n\r\n",  # full-width digits
    b"HTTP/1.1 600 Nope\r\n\r\n",
    b"HTTP/2 200 OK\r\n\r\n",
    b"http/1.1 200 OK\r\n\r\n",
    b"HTTP/1.1\r\n\r\n",
    b"\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded: value\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad name : 1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
])
async def test_malformed_answers_are_refused_with_a_clear_error(answer):
    async def reply(line, writer):
        writer.write(answer)
        await writer.drain()
        await asyncio.sleep(5)  # keeps the connection open: the client must not wait

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError) as info:
            async with asyncio.timeout(1):
                await client.request("GET", "/channels")
        assert info.value.status == 0 and "GET /channels failed:" in str(info.value)
        assert "timed out" not in str(info.value)
        await client.close()


async def test_equal_duplicate_lengths_and_transfer_encoding_over_length_are_read():
    async def reply(line, writer):
        if "/dup" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}")
        else:  # both: chunked wins, and the connection is not trusted afterwards
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/dup") == {}
        assert await client.request("GET", "/both") == {}
        assert await client.request("GET", "/dup") == {}
        assert server.connections == 2
        await client.close()


# --- limits --------------------------------------------------------------------------------


async def test_an_oversize_head_is_refused_without_reading_on():
    async def reply(line, writer):
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(2000):  # headers without end, ~100 KB
            writer.write(b"X-Filler: " + b"x" * 40 + b"\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError, match="response head too large"):
            await client.request("GET", "/channels")
        await client.close()


@pytest.mark.parametrize("kind", ["length", "chunked", "until-close"])
async def test_an_oversize_body_is_refused(kind, monkeypatch):
    monkeypatch.setattr(ari_http, "MAX_BODY", 1000)

    async def reply(line, writer):
        if kind == "length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n")
        elif kind == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + (b"258\r\n" + b"x" * 600 + b"\r\n") * 2)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 1500)
        await writer.drain()
        await asyncio.sleep(5)

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError, match="response body too large"):
            await client.request("GET", "/channels")
        await client.close()


# --- reuse, retries, servers that close or stall -------------------------------------------


@pytest.mark.parametrize("method, retried", [("GET", True), ("DELETE", True), ("PUT", True),
                                             ("POST", False)])
async def test_a_kept_alive_connection_closed_unanswered_is_retried_only_if_idempotent(
        method, retried):
    """The server closes a reused connection after reading the request, without a byte of
    answer (an idle timeout racing the request).  GET/PUT/DELETE are sent once more on a new
    connection; a POST (create, dial...) never: the server may have acted on it."""
    async def reply(line, writer):
        if "/victim" in line and sum("/victim" in r for r in server.requests) == 1:
            return "close"
        writer.write(ok({"line": line}))

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/warm") == {"line": "GET /ari/warm HTTP/1.1"}
        if retried:
            assert await client.request(method, "/victim") == {
                "line": f"{method} /ari/victim HTTP/1.1"}
            assert server.requests.count(f"{method} /ari/victim HTTP/1.1") == 2
        else:
            with pytest.raises(AriError, match="closed by the server"):
                await client.request(method, "/victim")
            assert server.requests.count(f"{method} /ari/victim HTTP/1.1") == 1
        assert server.connections == (2 if retried else 1)
        await client.close()


async def test_a_new_connection_closed_unanswered_is_not_retried():
    async def reply(line, writer):
        return "close"

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError, match="closed by the server"):
            await client.request("GET", "/channels")
        assert len(server.requests) == 1
        await client.close()


async def test_http_1_0_without_keep_alive_and_unasked_bytes_drop_the_connection():
    async def reply(line, writer):
        if "/old" in line:
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        elif "/chatty" in line:
            writer.write(ok({}))
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(b"HTTP/1.1 200 OK\r\n")  # nobody asked
        else:
            writer.write(ok({"fine": True}))

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.request("GET", "/old") == {}
        assert await client.request("GET", "/chatty") == {}
        await asyncio.sleep(0.1)
        assert await client.request("GET", "/next") == {"fine": True}
        assert server.connections == 3
        await client.close()


@pytest.mark.parametrize("stall", ["silent", "trickle"])
async def test_a_slow_server_times_out_and_its_late_answer_is_never_read(stall):
    async def reply(line, writer):
        if "/slow" in line:
            data = ok({"late": True})
            if stall == "silent":
                await asyncio.sleep(0.5)
                writer.write(data)
            else:  # a byte every 50 ms: each read is quick, the whole is too slow
                for i in range(len(data)):
                    writer.write(data[i:i + 1])
                    await writer.drain()
                    await asyncio.sleep(0.05)
            return
        writer.write(ok({"line": line}))

    async with RawServer(reply) as server:
        client = rest(server, timeout=0.2)
        await client.request("GET", "/warm")
        with pytest.raises(AriError, match="timed out after 0.2 s") as info:
            await client.request("POST", "/slow")
        assert info.value.status == 0
        assert await client.request("GET", "/next") == {"line": "GET /ari/next HTTP/1.1"}
        assert server.connections == 2
        await client.close()


async def test_a_refused_connection_is_a_clear_ari_error():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = AriRest(f"http://127.0.0.1:{port}", "user", "secret", "coovox", timeout=1)
    with pytest.raises(AriError, match="ConnectionRefusedError") as info:
        await client.request("GET", "/channels")
    assert info.value.status == 0
    await client.close()


# --- Asterisk's error answers ---------------------------------------------------------------

# Status and body as Asterisk 22 sends them (../shared/ari/transcripts, api-docs reasons).
ASTERISK_ERRORS = [
    ("DELETE", "/channels/1795343844.79", 404, "Channel not found", AriNotFound),
    ("DELETE", "/bridges/e12f78d1", 404, "Bridge not found", AriNotFound),
    ("DELETE", "/channels/1795343844.79", 400,
     "The reason and reason_code can't both be specified", AriError),
    ("POST", "/channels/create", 409, "Channel with given unique ID already exists.", AriError),
    ("POST", "/channels/x/answer", 409, "Channel not in a Stasis application", AriError),
    ("POST", "/channels/x/answer", 412, "Channel in invalid state", AriError),
    ("POST", "/channels/x/redirect", 422, "Endpoint is not the same type as the channel",
     AriError),
]


@pytest.mark.parametrize("method, path, status, message, cls", ASTERISK_ERRORS)
async def test_asterisk_error_answers_map_to_the_exceptions_callers_handle(
        method, path, status, message, cls):
    body = json.dumps({"message": message}).encode()

    async def reply(line, writer):
        writer.write(f"HTTP/1.1 {status} Reason\r\nServer: Asterisk/22.10.1\r\nContent-Type: "
                     f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                     + body)

    async with RawServer(reply) as server:
        client = rest(server)
        with pytest.raises(AriError) as info:
            await client.request(method, path)
        assert type(info.value) is cls
        assert info.value.status == status
        assert info.value.message == f"{method} {path}: {message}"
        await client.close()


async def test_gone_resources_are_false_or_none_and_a_text_error_keeps_its_text():
    async def reply(line, writer):
        if "/plain" in line:
            writer.write(b"HTTP/1.1 500 Internal\r\nContent-Length: 5\r\n\r\noops!")
            return
        body = b'{"message": "Channel not found"}'
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body)

    async with RawServer(reply) as server:
        client = rest(server)
        assert await client.channel_hangup("gone") is False
        assert await client.bridge_destroy("gone") is False
        assert await client.playback_stop("gone") is False
        assert await client.channel_get("gone") is None
        with pytest.raises(AriError, match="oops!") as info:
            await client.request("GET", "/plain")
        assert info.value.status == 500
        assert server.connections == 1
        await client.close()

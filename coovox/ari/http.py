"""A small keep-alive HTTP/1.1 client for ARI's REST requests.

A call costs about ten REST requests (ring, create, dial, answer, bridge, hang up...).
aiohttp's client spends ~0.26 ms of CPU on each; this one ~0.14 ms (``bench/rest_client.py``),
which is the larger share of a call's CPU once the database work is batched.  It does
only what ARI needs: one request at a time per connection, a pool of idle connections,
responses framed by ``Content-Length`` or ``chunked``, ``Connection: close`` honoured.
The events websocket stays on aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import time
from dataclasses import dataclass

IDLE_SECONDS = 10.0  # an idle connection older than this is closed, not reused (Asterisk
# closes idle keep-alive sessions after 15 s by default)
MAX_HEAD = 64 * 1024


class HttpError(Exception):
    """The request could not be completed (connection refused, closed, bad response)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One socket; parses one response at a time from what arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.keep_alive = True
        self.received = False  # any byte of the current response

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.received = True
        if self.waiter is not None and not self.waiter.done():
            try:
                response = self._parse()
            except HttpError as exc:
                self.waiter.set_exception(exc)
                return
            if response is not None:
                self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is None or self.waiter.done():
            return
        try:  # a response framed by the end of the connection is complete now
            response = self._parse() if self.buffer else None
        except HttpError as error:
            self.waiter.set_exception(error)
            return
        if response is None:
            self.waiter.set_exception(HttpError("connection closed by the server"))
        else:
            self.waiter.set_result(response)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send(self, data: bytes) -> asyncio.Future[Response]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.received = False
        assert self.transport is not None
        self.transport.write(data)
        return self.waiter

    def _parse(self) -> Response | None:
        """A complete response from the buffer (removed from it), or None to wait."""
        buf = self.buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise HttpError("response headers too large")
            return None
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise HttpError("not an HTTP response")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        close = parts[0] == "HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise HttpError("bad Content-Length") from None
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                token = value.strip().lower()
                close = token == "close" or (close and token != "keep-alive")
        start = end + 4
        if status in (204, 304) or 100 <= status < 200:
            body, used = b"", start
        elif chunked:
            found = _dechunk(buf, start)
            if found is None:
                return None
            body, used = found
        elif length is not None:
            if len(buf) < start + length:
                return None
            body, used = bytes(buf[start:start + length]), start + length
        else:  # framed by the end of the connection: wait for connection_lost
            if not self.closed:
                self.keep_alive = False
                return None
            body, used = bytes(buf[start:]), len(buf)
        del buf[:used]
        self.keep_alive = not close
        return Response(status, body)


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    body = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpError("bad chunk size") from None
        pos = eol + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            while trailer_end > pos:  # skip trailer fields
                pos = trailer_end + 2
                trailer_end = buf.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 2
        if len(buf) < pos + size + 2:
            return None
        body += buf[pos:pos + size]
        pos += size + 2


class HttpPool:
    """Keep-alive connections to one ``host:port``; ``request`` sends one request."""

    def __init__(self, host: str, port: int, *, tls: bool = False,
                 headers: dict[str, str] | None = None, limit: int = 200) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in {
            "Host": f"{host}:{port}", **(headers or {})}.items()).encode("latin-1")
        self._idle: list[tuple[_Connection, float]] = []
        self._slots = asyncio.Semaphore(limit)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        context = ssl_module.create_default_context() if self.tls else None
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port,
                                                   ssl=context)
        except OSError as exc:
            raise HttpError(type(exc).__name__) from None
        return conn

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn, since = self._idle.pop()
            if not conn.closed and now - since < IDLE_SECONDS:
                return conn
            conn.close()
        return None

    async def request(self, method: str, target: str, body: bytes | None = None,
                      content_type: str = "application/json") -> Response:
        """Send ``method target`` and wait for the whole response.  A reused connection
        the server had closed meanwhile (nothing received) is replaced once."""
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if body is not None:
            head += f"Content-Type: {content_type}\r\n".encode("latin-1")
        head += f"Content-Length: {len(body or b'')}\r\n\r\n".encode("latin-1")
        data = head + (body or b"")
        async with self._slots:
            conn = self._take_idle()
            reused = conn is not None
            while True:
                if conn is None:
                    conn = await self._connect()
                try:
                    response = await conn.send(data)
                except HttpError:
                    stale = reused and not conn.received
                    conn.close()
                    if stale:  # closed by the server while idle: one fresh try
                        conn, reused = None, False
                        continue
                    raise
                except BaseException:  # cancelled (a timeout): the answer is unknown
                    conn.close()
                    raise
                break
            if conn.keep_alive and not conn.closed:
                self._idle.append((conn, time.monotonic()))
            else:
                conn.close()
            return response

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[0].close()

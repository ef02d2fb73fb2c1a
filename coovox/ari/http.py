"""A small keep-alive HTTP/1.1 client for ARI's REST requests.

Why not aiohttp's client: ``bench/ariclient.py`` (``bash bench/run.sh --only ariclient``)
measures both side by side on the call path: this client costs half the CPU per request
(60 vs 131 µs for aiohttp tuned, 166 µs for aioari; 64 vs 133 vs 160 µs against a real
Asterisk); through the real Asterisk CooVox's CPU per call is 4.77 ms with it vs 6.06 ms
with aiohttp (target: half of Asterisk's), and admission is slower on aiohttp in every
round.  ``BENCHMARKS.md``, "ARI REST client", has the figures.  The events websocket
stays on aiohttp.

What it does (RFC 9112, the part a client of one ARI server needs):

- one request at a time per connection, a pool of idle connections (``limit`` at once);
  an idle connection older than :data:`IDLE_SECONDS` or closed by the server is dropped;
- responses framed by ``Content-Length``, ``Transfer-Encoding: chunked`` (extensions
  ignored, trailers read and dropped) or the end of the connection; none for 204, 304
  and answers to HEAD; interim 1xx responses skipped;
- ``Connection: close`` (and HTTP/1.0 without keep-alive) honoured: not reused;
- refused with :class:`HttpError` and the connection closed: a malformed status line or
  header, a head over :data:`MAX_HEAD` bytes, a body over :data:`MAX_BODY`, conflicting
  or non-numeric ``Content-Length``, a bad chunk, a connection closed before the end of
  the response, bytes the server sends when no request is waiting;
- retries: a request whose reused connection turns out closed by the server before any
  byte of the answer arrived is sent again once on a new connection **only for an
  idempotent method** (GET, HEAD, PUT, DELETE, OPTIONS).  A POST (create, dial, answer,
  bridge, play...) is never sent twice: the server may have acted on it; the caller gets
  the error (``AriError`` status 0), as for a timeout.  Idle connections are dropped
  after 10 s, before Asterisk's own 15 s, so that race is rare.
- timeouts are the caller's (``asyncio.timeout``): a cancelled request closes its
  connection, so a late answer can never be read as the next request's.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import time
from dataclasses import dataclass

IDLE_SECONDS = 10.0  # an idle connection older than this is closed, not reused (Asterisk
# closes idle keep-alive sessions after 15 s by default)
MAX_HEAD = 64 * 1024  # status line + header fields (and trailers) of one response
MAX_BODY = 32 * 1024 * 1024  # GET /channels with 5,000 channels is ~3 MB
MAX_CHUNK_LINE = 1024  # one chunk-size line, extensions included
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class HttpError(Exception):
    """The request could not be completed (connection refused, closed, bad response)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass
class _Head:
    status: int
    start: int  # offset of the body in the buffer
    length: int | None  # Content-Length, or None
    chunked: bool
    close: bool  # the server closes the connection after this response


def _parse_head(buf: bytearray, end: int) -> _Head:
    """The head ``buf[:end]`` (``end`` = offset of the blank line)."""
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    version = parts[0]
    code = parts[1] if len(parts) > 1 else ""
    if (version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit()
            or not code.isascii() or code[0] not in "12345"):
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
    length: int | None = None
    chunked = other_coding = False
    tokens: set[str] = set()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t" or "\n" in line:
            raise HttpError(f"malformed header line: {line[:60]!r}")
        name = name.lower()
        value = value.strip()
        if name == "content-length":
            if not (value.isascii() and value.isdigit()):
                raise HttpError("bad Content-Length")
            if length is not None and int(value) != length:
                raise HttpError("conflicting Content-Length")
            length = int(value)
        elif name == "transfer-encoding":
            codings = [c.strip().lower() for c in value.split(",") if c.strip()]
            chunked = bool(codings) and codings[-1] == "chunked"
            other_coding = not chunked
        elif name == "connection":
            tokens.update(t.strip().lower() for t in value.split(","))
    close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if chunked or other_coding:
        # Transfer-Encoding overrides Content-Length; such a message is not trusted to
        # leave the connection in a known state (RFC 9112 6.3)
        close = close or length is not None
        length = None
        if other_coding:
            close = True  # framed by the end of the connection
    if length is not None and length > MAX_BODY:
        raise HttpError(f"response body too large ({length} bytes)")
    return _Head(int(code), end + 4, length, chunked, close)


class _Connection(asyncio.Protocol):
    """One socket; parses one response at a time from what arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.keep_alive = True
        self.received = False  # any byte of the current response
        self.head_only = False  # the current request is a HEAD
        self._head: _Head | None = None
        self._chunk_pos = 0  # chunked: where the next chunk-size line starts
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():  # nothing asked: never reuse
            self.close()
            return
        self.buffer += data
        self.received = True
        self._advance(eof=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self._advance(eof=True)

    def _advance(self, eof: bool) -> None:
        assert self.waiter is not None
        try:
            response = self._parse(eof)
        except HttpError as exc:
            self.waiter.set_exception(exc)
            self.close()
            return
        if response is not None:
            self.waiter.set_result(response)
        elif eof:
            self.waiter.set_exception(HttpError(
                "connection closed before the end of the response" if self.received
                else "connection closed by the server"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send(self, data: bytes, head_only: bool = False) -> asyncio.Future[Response]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.received = False
        self.head_only = head_only
        assert self.transport is not None
        self.transport.write(data)
        return self.waiter

    def _parse(self, eof: bool) -> Response | None:
        """The complete final response from the buffer, or None to wait for more."""
        buf = self.buffer
        while self._head is None:
            end = buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise HttpError("response head too large")
                return None
            head = _parse_head(buf, end)
            if 100 <= head.status < 200:
                if head.status == 101:
                    raise HttpError("unexpected 101 Switching Protocols")
                del buf[:head.start]  # interim response (100 Continue...): skip it
                continue
            self._head = head
            self._chunk_pos = head.start
        head = self._head
        start = head.start
        if head.status in (204, 304) or self.head_only:
            used, body = start, b""
        elif head.chunked:
            used = self._dechunk()
            if used is None:
                return None
            body = bytes(self._body)
        elif head.length is not None:
            if len(buf) < start + head.length:
                return None
            used, body = start + head.length, bytes(buf[start:start + head.length])
        else:  # framed by the end of the connection
            if len(buf) - start > MAX_BODY:
                raise HttpError("response body too large")
            if not eof:
                return None
            used, body = len(buf), bytes(buf[start:])
        leftover = len(buf) > used  # more than the response: the stream is not trusted
        del buf[:used]
        self.keep_alive = not (head.close or leftover or eof)
        self._head = None
        self._body = bytearray()
        return Response(head.status, body)

    def _dechunk(self) -> int | None:
        """Reads chunks from ``_chunk_pos``; the offset after the trailers, or None."""
        buf = self.buffer
        pos = self._chunk_pos
        while True:
            eol = buf.find(b"\r\n", pos, pos + MAX_CHUNK_LINE)
            if eol < 0:
                if len(buf) - pos > MAX_CHUNK_LINE:
                    raise HttpError("chunk-size line too long")
                return None
            size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
            if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
                raise HttpError("bad chunk size")
            size = int(size_text, 16)
            if size == 0:
                return self._trailers(eol + 2)
            if len(self._body) + size > MAX_BODY:
                raise HttpError("response body too large")
            if len(buf) < eol + 2 + size + 2:
                return None
            if buf[eol + 2 + size:eol + 4 + size] != b"\r\n":
                raise HttpError("chunk not followed by CRLF")
            self._body += buf[eol + 2:eol + 2 + size]
            pos = self._chunk_pos = eol + 4 + size

    def _trailers(self, pos: int) -> int | None:
        end = self.buffer.find(b"\r\n", pos)
        while end > pos:  # skip trailer fields up to the blank line
            if end - self._chunk_pos > MAX_HEAD:
                raise HttpError("response trailers too large")
            pos = end + 2
            end = self.buffer.find(b"\r\n", pos)
        if end < 0:
            if len(self.buffer) - self._chunk_pos > MAX_HEAD:
                raise HttpError("response trailers too large")
            return None
        return end + 2


class HttpPool:
    """Keep-alive connections to one ``host:port``; ``request`` sends one request."""

    def __init__(self, host: str, port: int, *, tls: bool = False,
                 headers: dict[str, str] | None = None, limit: int = 200) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        host_field = f"[{host}]" if ":" in host else host
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in {
            "Host": f"{host_field}:{port}", **(headers or {})}.items()).encode("latin-1")
        self._idle: list[tuple[_Connection, float]] = []
        self._slots = asyncio.Semaphore(limit)
        self._ssl: ssl_module.SSLContext | None = None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self.tls and self._ssl is None:
            self._ssl = ssl_module.create_default_context()
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port,
                                                   ssl=self._ssl if self.tls else None)
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
        """Send ``method target`` and wait for the whole response (see the module's
        docstring for when a request is sent again)."""
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
                    response = await conn.send(data, method == "HEAD")
                except HttpError:
                    stale = reused and not conn.received
                    conn.close()
                    if stale and method in IDEMPOTENT:  # closed while idle: one fresh try
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

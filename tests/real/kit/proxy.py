"""A TCP relay on 127.0.0.1 that a test can cut: a network outage between CooVox and
Asterisk's HTTP port (ARI's REST requests and the events websocket).

``cut()`` closes every relayed connection at once; until ``restore()`` a new connection
is held (accepted, nothing relayed, as on a link where packets go nowhere: it is relayed
at ``restore()`` if the client still waits) or, with ``cut(hold=False)``, closed as soon
as it is accepted.  CooVox sees its websocket drop and cannot reconnect while the cut
lasts; Asterisk and its calls are untouched (Asterisk only sees the websocket's TCP
connection close).  With ``hold`` CooVox is back as soon as the link is: its reconnect
attempt is waiting, instead of sleeping in its back-off.

Asterisk's own tools cannot keep the app away for a chosen time: ``ari shutdown websocket
session ID`` drops the websocket cleanly, but CooVox is back a fraction of a second later.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.real.kit.ports import HOST, free_port


class TcpProxy:
    """Relays 127.0.0.1:``port`` (default: a free port) to ``target_host:target_port``."""

    def __init__(self, target_port: int, *, target_host: str = HOST,
                 port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.is_cut = False
        self.hold = True
        self.cuts = 0
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._handle, HOST, self.port)
        return self

    def cut(self, *, hold: bool = True) -> None:
        """Drop every relayed connection now; hold new ones until :meth:`restore` (or,
        ``hold=False``, close them at once)."""
        self.is_cut = True
        self.hold = hold
        self._open.clear()
        self.cuts += 1
        for down, up in list(self._conns):
            down.transport.abort()
            up.transport.abort()
        self._conns.clear()

    def restore(self) -> None:
        """Relay new connections again (and those held meanwhile)."""
        self.is_cut = False
        self._open.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut(hold=False)
            self._open.set()  # the held ones see is_cut and are closed
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut and self.hold:
            await self._open.wait()
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self.is_cut:  # cut while connecting
            up_writer.transport.abort()
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._conns.add(pair)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._conns.discard(pair)
            for w in pair:
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until either side ends; then close the writing side (the other pipe ends too)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()

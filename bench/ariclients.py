"""The ARI REST clients ``bench/ariclient.py`` compares, and the switch of the measured
process (``BENCH_ARI_CLIENT``, read by ``bench/appmain.py`` and a ``sitecustomize``).

- ``handwritten``: ``coovox.ari.AriRest`` over ``coovox.ari.http.HttpPool`` (the product's);
- ``aiohttp``: the same ``AriRest`` over :class:`AiohttpTransport`, an
  ``aiohttp.ClientSession`` tuned for one local server (keep-alive, no cookie jar, no
  decompression, fixed headers, pre-encoded URLs, no per-request timeout object);
- ``aiohttp-defaults``: ``AriRest`` over a session with aiohttp's defaults;
- ``aioari``: ``aioari.Client`` (aioswagger11 operations, its own default session,
  results promoted to ``Channel``/``Bridge`` objects), the way its README uses it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import yarl

from coovox.ari.errors import AriError
from coovox.ari.http import HttpError, Response

USER, PASSWORD, APP = "bench", "bench-pass", "coovox"
CLIENT_ENV = "BENCH_ARI_CLIENT"  # read by bench/appmain.py: "aiohttp" swaps the transport


class AiohttpTransport:
    """``coovox.ari.rest.Transport`` over one tuned ``aiohttp.ClientSession``."""

    def __init__(self, host: str, port: int, tls: bool, headers: dict[str, str],
                 *, tuned: bool = True) -> None:
        self.base = f"{'https' if tls else 'http'}://{host}:{port}"
        self.tuned = tuned
        self.headers = dict(headers)
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            if self.tuned:
                connector = aiohttp.TCPConnector(
                    limit=200, limit_per_host=0, keepalive_timeout=10.0,
                    use_dns_cache=True, ttl_dns_cache=None, enable_cleanup_closed=False)
                self.session = aiohttp.ClientSession(
                    connector=connector, headers=self.headers, auto_decompress=False,
                    skip_auto_headers=("User-Agent", "Accept-Encoding"),
                    cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
                    timeout=aiohttp.ClientTimeout(total=None, connect=None,
                                                  sock_read=None, sock_connect=None),
                    raise_for_status=False, read_bufsize=1 << 16)
            else:
                self.session = aiohttp.ClientSession(headers=self.headers)
        return self.session

    async def request(self, method: str, target: str, body: bytes | None = None,
                      content_type: str = "application/json") -> Response:
        session = self._session()
        url = yarl.URL(self.base + target, encoded=True) if self.tuned else self.base + target
        headers = {"Content-Type": content_type} if body is not None else None
        try:
            async with session.request(method, url, data=body, headers=headers) as resp:
                return Response(resp.status, await resp.read())
        except aiohttp.ClientError as exc:
            raise HttpError(type(exc).__name__) from None

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        self.session = None


def aiohttp_factory(host: str, port: int, tls: bool, headers: dict[str, str]) -> AiohttpTransport:
    return AiohttpTransport(host, port, tls, headers)


def aiohttp_defaults_factory(host: str, port: int, tls: bool,
                             headers: dict[str, str]) -> AiohttpTransport:
    return AiohttpTransport(host, port, tls, headers, tuned=False)


def use_client(name: str | None) -> None:
    """Make every ``AriRest`` of this process use client ``name`` (appmain, the bench)."""
    from coovox.ari.rest import AriRest, default_transport

    factories = {None: default_transport, "": default_transport,
                 "handwritten": default_transport,
                 "aiohttp": aiohttp_factory, "aiohttp-defaults": aiohttp_defaults_factory}
    AriRest.transport_factory = staticmethod(factories[name])  # type: ignore[assignment]


# --- the call sequence, per client --------------------------------------------------------


class AriRestCalls:
    """The call path through ``AriRest`` (handwritten / aiohttp / aiohttp-defaults)."""

    def __init__(self, url: str, client: str, user: str = USER, password: str = PASSWORD,
                 real: bool = False) -> None:
        from coovox.ari import AriRest

        self.real = real
        self.extra = 0  # requests sent again (422 before the channel is in Stasis)
        use_client(client)
        self.rest = AriRest(url, user, password, APP)
        self.transport = type(self.rest.pool).__name__  # made now, with that factory
        use_client(None)

    async def call(self, i: int) -> None:
        rest = self.rest
        if self.real:  # a Local channel never dialled: no dialplan, no media, same requests
            chan = await rest.channel_create(f"Local/{i}@coovox-trunk", channel_id=f"b-{i}")
        else:
            chan = await rest.channel_create(f"PJSIP/9{i:07d}5@trunk", channel_id=f"b-{i}",
                                             originator=None)
            await rest.channel_dial(chan["id"], timeout=30)
        bridge = await rest.bridge_create("mixing")
        if self.real:  # no play on a channel never dialled (412)
            await rest.channel_get(chan["id"])
            while True:  # Asterisk puts the channel in Stasis a moment after create (422)
                try:
                    await rest.bridge_add(bridge["id"], [chan["id"]])
                    break
                except AriError as exc:
                    if exc.status != 422:
                        raise
                    self.extra += 1
                    await asyncio.sleep(0.001)
        else:
            await rest.channel_play(chan["id"], "sound:beep")
            await rest.bridge_add(bridge["id"], [chan["id"]])
        await rest.channel_hangup(chan["id"])
        await rest.bridge_destroy(bridge["id"])

    async def close(self) -> None:
        await self.rest.close()


class AioariCalls:
    """The call path through aioari's swagger-generated operations and models."""

    def __init__(self, url: str, user: str = USER, password: str = PASSWORD,
                 real: bool = False) -> None:
        self.url = url
        self.user, self.password, self.real = user, password, real
        self.extra = 0
        self.client: Any = None

    async def start(self) -> None:
        import aioari
        from aioswagger11.http_client import AsynchronousHttpClient, BasicAuthenticator

        http = AsynchronousHttpClient(auth=BasicAuthenticator("127.0.0.1", self.user,
                                                              self.password))
        self.client = aioari.Client(self.url + "/", http)
        await self.client.init()

    async def call(self, i: int) -> None:
        client = self.client
        if self.real:
            chan = await client.channels.create(endpoint=f"Local/{i}@coovox-trunk", app=APP,
                                                channelId=f"a-{i}")
        else:
            chan = await client.channels.create(endpoint=f"PJSIP/9{i:07d}5@trunk", app=APP,
                                                channelId=f"a-{i}")
            await chan.dial(timeout=30)
        bridge = await client.bridges.create(type="mixing")
        if self.real:
            await chan.get()
            while True:
                try:
                    await bridge.addChannel(channel=chan.id)
                    break
                except aiohttp.web_exceptions.HTTPException as exc:
                    if exc.status != 422:
                        raise
                    self.extra += 1
                    await asyncio.sleep(0.001)
        else:
            await chan.play(media="sound:beep")
            await bridge.addChannel(channel=chan.id)
        await chan.hangup()
        await bridge.destroy()

    async def close(self) -> None:
        await self.client.close()

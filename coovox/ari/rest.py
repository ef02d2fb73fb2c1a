"""REST layer for the ARI operations the call path uses (over ``coovox.ari.http``).

Every call has a timeout and raises ``AriError`` (``AriNotFound`` on 404); messages never
contain credentials.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import aiohttp

from coovox.ari.errors import AriError, AriNotFound
from coovox.ari.http import HttpError, HttpPool, Response

DEFAULT_TIMEOUT = 5.0


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic auth (aiohttp's ``BasicAuth`` and
    ``auth=`` are deprecated since aiohttp 3.14)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Transport(Protocol):
    """What :class:`AriRest` needs of an HTTP client: one request, whole response."""

    async def request(self, method: str, target: str, body: bytes | None = None,
                      content_type: str = "application/json") -> Response: ...

    def close(self) -> Awaitable[None] | None: ...


# (host, port, tls, fixed headers) -> Transport; ``bench/ariclient.py`` swaps it to
# compare clients in the same run.
TransportFactory = Callable[[str, int, bool, dict[str, str]], Transport]


def default_transport(host: str, port: int, tls: bool, headers: dict[str, str]) -> Transport:
    return HttpPool(host, port, tls=tls, headers=headers)


def public_url(url: str) -> str:
    """``url`` without any user:password part."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")


def _q(value: str) -> str:
    return quote(str(value), safe="")


def _params(**kwargs: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        out[key] = str(value)
    return out


class AriRest:
    """REST client bound to ``<url>/ari`` with Basic auth and a per-request timeout.

    Requests go through :class:`coovox.ari.http.HttpPool` (keep-alive, cheap per request);
    the aiohttp ``session`` serves the events websocket.  ``transport_factory`` makes the
    pool (a class attribute, so a benchmark can compare clients)."""

    transport_factory: TransportFactory = staticmethod(default_transport)  # type: ignore[assignment]

    def __init__(self, url: str, user: str, password: str, app: str,
                 *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base = public_url(url) + "/ari"
        self.app = app
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        parts = urlsplit(self.base)
        tls = parts.scheme == "https"
        self._authorization = basic_auth(user, password)
        self._prefix = parts.path
        self._pool_args = (parts.hostname or "localhost", parts.port or (443 if tls else 80),
                           tls, {"Authorization": self._authorization,
                                 "Accept": "application/json"})
        self._pool: Transport | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": self._authorization},
                connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30))
        return self._session

    @property
    def pool(self) -> Transport:
        if self._pool is None:
            self._pool = self.transport_factory(*self._pool_args)
        return self._pool

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        pool, self._pool = self._pool, None
        if pool is not None:
            closing = pool.close()
            if closing is not None:
                await closing

    async def request(self, method: str, path: str, params: dict[str, str] | None = None,
                      body: Any = None, *, timeout: float | None = None) -> Any:
        """Send one request; returns parsed JSON (``None`` for 204)."""
        target = quote(self._prefix + path, safe="/%")
        if params:
            target += "?" + urlencode(params, quote_via=quote, safe="/@:,")
        payload = json.dumps(body).encode() if body is not None else None
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                response = await self.pool.request(method, target, payload)
        except TimeoutError:
            raise AriError(0, f"{method} {path} timed out after {limit:g} s") from None
        except HttpError as exc:
            raise AriError(0, f"{method} {path} failed: {exc}") from None
        status = response.status
        text = response.body.decode("utf-8", "replace")
        data: Any = None
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        if status >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            message = message or text[:200] or f"HTTP {status}"
            cls = AriNotFound if status == 404 else AriError
            raise cls(status, f"{method} {path}: {message}")
        return data

    # --- channels ---------------------------------------------------------------------------

    async def channel_create(self, endpoint: str, app: str | None = None,
                             app_args: str | list[str] | None = None,
                             originator: str | None = None,
                             variables: dict[str, str] | None = None,
                             formats: str | None = None,
                             channel_id: str | None = None) -> dict:
        """POST /channels/create: the channel enters Stasis at once (StasisStart, Down).
        ``channel_id``: the id the channel gets (chosen by the app, so it can be saved
        before the channel exists)."""
        params = _params(endpoint=endpoint, app=app or self.app, appArgs=app_args,
                         originator=originator, formats=formats, channelId=channel_id)
        body = {"variables": variables} if variables else None
        return await self.request("POST", "/channels/create", params, body)

    async def channel_dial(self, channel_id: str, caller: str | None = None,
                           timeout: int | float | None = None) -> None:
        params = _params(caller=caller, timeout=None if timeout is None else int(timeout))
        await self.request("POST", f"/channels/{_q(channel_id)}/dial", params)

    async def channel_answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/answer")

    async def channel_ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/ring")

    async def channel_ring_stop(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{_q(channel_id)}/ring")

    async def channel_hangup(self, channel_id: str, reason: str | None = None,
                             reason_code: int | None = None) -> bool:
        """DELETE the channel; False when it was already gone (404)."""
        if reason is not None and reason_code is not None:
            raise ValueError("channel_hangup: give reason or reason_code, not both")
        try:
            await self.request("DELETE", f"/channels/{_q(channel_id)}",
                               _params(reason=reason, reason_code=reason_code))
        except AriNotFound:
            return False
        return True

    async def channel_play(self, channel_id: str, media: str,
                           playback_id: str | None = None) -> dict:
        params = _params(media=media, playbackId=playback_id)
        return await self.request("POST", f"/channels/{_q(channel_id)}/play", params)

    async def channel_get(self, channel_id: str) -> dict | None:
        """The channel snapshot, or None when it does not exist."""
        try:
            return await self.request("GET", f"/channels/{_q(channel_id)}")
        except AriNotFound:
            return None

    async def channels_list(self) -> list:
        return await self.request("GET", "/channels") or []

    async def channel_set_var(self, channel_id: str, variable: str, value: str) -> None:
        await self.request("POST", f"/channels/{_q(channel_id)}/variable",
                           _params(variable=variable, value=value))

    # --- playbacks --------------------------------------------------------------------------

    async def playback_stop(self, playback_id: str) -> bool:
        """Stop a playback; False when it had already finished (404)."""
        try:
            await self.request("DELETE", f"/playbacks/{_q(playback_id)}")
        except AriNotFound:
            return False
        return True

    # --- bridges ----------------------------------------------------------------------------

    async def bridge_create(self, type: str = "mixing", name: str | None = None) -> dict:  # noqa: A002
        return await self.request("POST", "/bridges", _params(type=type, name=name))

    async def bridge_add(self, bridge_id: str, channel_ids: str | list[str]) -> None:
        await self.request("POST", f"/bridges/{_q(bridge_id)}/addChannel",
                           _params(channel=channel_ids))

    async def bridge_destroy(self, bridge_id: str) -> bool:
        """DELETE the bridge; False when it was already gone (404)."""
        try:
            await self.request("DELETE", f"/bridges/{_q(bridge_id)}")
        except AriNotFound:
            return False
        return True

    async def bridges_list(self) -> list:
        return await self.request("GET", "/bridges") or []

    async def bridge_get(self, bridge_id: str) -> dict | None:
        try:
            return await self.request("GET", f"/bridges/{_q(bridge_id)}")
        except AriNotFound:
            return None

    # --- applications -----------------------------------------------------------------------

    async def application_get(self) -> dict:
        """GET /applications/{app}: ``channel_ids``/``bridge_ids`` the app is subscribed to."""
        return await self.request("GET", f"/applications/{_q(self.app)}")

    async def application_filter(self, disallowed: list[str]) -> dict:
        """PUT /applications/{app}/eventFilter: Asterisk stops sending the app these event
        types (the allowed list is left as it is)."""
        return await self.request("PUT", f"/applications/{_q(self.app)}/eventFilter",
                                  body={"disallowed": [{"type": t} for t in disallowed]})

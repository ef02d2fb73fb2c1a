"""The ARI connection: a reconnecting event websocket plus the REST methods."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from coovox.ari.errors import AriError, AriNotFound
from coovox.ari.rest import DEFAULT_TIMEOUT, AriRest, public_url
from coovox.ari.router import EventRouter, Handler, KeyFn

log = logging.getLogger(__name__)

# Events the app never uses.  Asterisk sends ~36 of them per bridged PJSIP call (mostly
# ChannelVarset: RTPAUDIOQOS*, BRIDGEPEER...), two in three of a call's messages: after each
# connect the app asks Asterisk not to send them (the app's event filter), and drops any
# that still come (an older Asterisk, or sent before the filter was set).
NOISE_EVENTS = frozenset({"ChannelVarset", "ChannelDialplan", "ChannelConnectedLine"})
# Events that must carry a channel snapshot to be usable.
CHANNEL_EVENTS = frozenset({
    "StasisStart", "StasisEnd", "ChannelStateChange", "ChannelHangupRequest",
    "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge", "ChannelDtmfReceived",
    "ChannelCreated", "ChannelCallerId", "ChannelHold", "ChannelUnhold",
    "ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelUserevent",
})
# Operations of the server's swagger this connection relies on (checked at connect).
REQUIRED_OPERATIONS = {
    "channels": {"create", "dial", "answer", "ring", "ringStop", "hangup", "play", "get", "list"},
    "bridges": {"create", "addChannel", "destroy", "list", "get"},
    "playbacks": {"stop"},
    "applications": {"get"},
}

Callback = Callable[..., Awaitable[None] | None]
STILL_RETRYING_AFTER = 60.0  # seconds of failed retries before one "still retrying" line


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def swagger_resources(listing: Any) -> list[str]:
    """Resource names of a swagger 1.1 ``resources.json`` (``/api-docs/channels.{format}``
    -> ``channels``); ``ValueError`` when it is not one."""
    apis = listing.get("apis") if isinstance(listing, dict) else None
    if not isinstance(apis, list):
        raise ValueError("resources.json has no 'apis' list")
    names = []
    for api in apis:
        path = api.get("path") if isinstance(api, dict) else None
        if not isinstance(path, str):
            raise ValueError("an api of resources.json has no 'path'")
        names.append(path.rsplit("/", 1)[-1].split(".", 1)[0])
    return names


def missing_operations(declarations: dict[str, Any]) -> list[str]:
    """``resource.nickname`` of :data:`REQUIRED_OPERATIONS` the swagger 1.1 API
    declarations (by resource name) do not declare; ``ValueError`` on a malformed one."""
    missing = []
    for resource, wanted in REQUIRED_OPERATIONS.items():
        have: set[str] = set()
        doc = declarations.get(resource)
        if doc is not None:
            apis = doc.get("apis") if isinstance(doc, dict) else None
            if not isinstance(apis, list):
                raise ValueError(f"{resource}.json has no 'apis' list")
            for api in apis:
                operations = api.get("operations") if isinstance(api, dict) else None
                if not isinstance(operations, list):
                    raise ValueError(f"an api of {resource}.json has no 'operations' list")
                have.update(op.get("nickname") for op in operations if isinstance(op, dict))
        missing += [f"{resource}.{op}" for op in sorted(wanted - have)]
    return missing


def parse_event(raw: str | bytes) -> dict | None:
    """A usable event dict, or None for malformed or noise events (logged at debug)."""
    try:
        event = json.loads(raw)
    except (ValueError, TypeError):
        log.warning("ARI: ignoring a websocket message that is not JSON")
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        log.warning("ARI: ignoring an event without 'type'")
        return None
    kind = event["type"]
    if kind in NOISE_EVENTS:
        return None
    if kind in CHANNEL_EVENTS:
        channel = event.get("channel")
        if not isinstance(channel, dict) or not isinstance(channel.get("id"), str):
            log.warning("ARI: ignoring %s without a valid 'channel'", kind)
            return None
    elif kind == "Dial":
        peer = event.get("peer")
        if not isinstance(peer, dict) or not isinstance(peer.get("id"), str):
            log.warning("ARI: ignoring Dial without a valid 'peer'")
            return None
    return event


class AriConnection(AriRest):
    """Connects to Asterisk ARI and keeps the Stasis app's websocket up.

    ``on_event(event)`` runs in the ``EventRouter`` (serial per ``event_key(event)``);
    ``on_connect()`` runs (as a task) after each successful websocket connect,
    ``on_disconnect(error: str | None)`` after each loss. Callbacks may be sync or async.
    """

    def __init__(self, url: str, user: str, password: str, app: str, *,
                 on_event: Handler | None = None,
                 on_connect: Callback | None = None,
                 on_disconnect: Callback | None = None,
                 event_key: KeyFn | None = None,
                 timeout: float = DEFAULT_TIMEOUT,
                 heartbeat: float = 10.0,
                 backoff_initial: float = 0.2,
                 backoff_max: float = 5.0,
                 check_swagger: bool = True,
                 filter_noise: bool = True) -> None:
        super().__init__(url, user, password, app, timeout=timeout)
        self.url = public_url(url)
        self._password = password
        self.router = EventRouter(on_event or (lambda event: None), event_key)
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.heartbeat = heartbeat
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.check_swagger = check_swagger
        self.still_retrying_after = STILL_RETRYING_AFTER
        self.filter_noise = filter_noise
        self.connected = False
        self.connected_since: str | None = None
        self.last_error: str | None = None
        self.reconnects = 0
        self.connects = 0
        self.swagger_checked = False
        self.missing_operations: list[str] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._connected_event = asyncio.Event()
        self._callback_tasks: set[asyncio.Task] = set()

    # --- public -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """State for the web UI and /healthz; never contains credentials."""
        return {"connected": self.connected, "connected_since": self.connected_since,
                "last_error": self.last_error, "reconnects": self.reconnects,
                "url": self.url, "app": self.app}

    async def start(self) -> None:
        """Start the reconnect loop in the background (returns at once)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ari-connection")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the websocket is up."""
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    async def stop(self) -> None:
        """Close the websocket, stop reconnecting, cancel pending handlers."""
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for task in list(self._callback_tasks):
            task.cancel()
        await asyncio.gather(*self._callback_tasks, return_exceptions=True)
        await self.router.close()
        await self.close()
        self.connected = False
        self._connected_event.clear()

    # --- internals --------------------------------------------------------------------------

    def _safe(self, text: str) -> str:
        """Remove the password from any text that may end up in logs or status."""
        if self._password:
            text = text.replace(self._password, "***")
            text = text.replace(quote(self._password, safe=""), "***")
        return text

    async def _run(self) -> None:
        delay = self.backoff_initial
        down_since: float | None = None  # loop time of the first failure of this outage
        told: set[str] = set()  # errors of this outage already logged
        still_told = False
        while not self._stopping:
            started = asyncio.get_running_loop().time()
            error: str | None = None
            try:
                await self._session_once()
            except asyncio.CancelledError:
                raise
            except AriError as exc:
                error = exc.message
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except Exception as exc:  # never let the loop die
                log.exception("ARI connection loop error")
                error = type(exc).__name__
            if error:
                self.last_error = self._safe(error)
            was_connected = self.connected
            self.connected = False
            self._connected_event.clear()
            if self._stopping:
                break
            now = asyncio.get_running_loop().time()
            if was_connected:
                log.warning("ARI websocket to %s lost: %s; reconnecting", self.url,
                            self.last_error)
                self._fire(self.on_disconnect, self.last_error)
                down_since, told, still_told = now, {self.last_error or ""}, False
            elif down_since is None or (self.last_error or "") not in told:
                # only changes are logged: the first failure and a new kind of error
                if down_since is None:
                    down_since, still_told = now, False
                told.add(self.last_error or "")
                log.warning("ARI: not connected to %s (%s); retrying every %g s",
                            self.url, self.last_error, self.backoff_max)
            elif not still_told and now - down_since >= self.still_retrying_after:
                still_told = True
                log.info("ARI: still not connected to %s after %d s (%s); still retrying "
                         "(no more messages until the state changes)", self.url,
                         now - down_since, self.last_error)
            # A connection that lived a while resets the backoff: first retry is fast.
            if now - started > 10 or was_connected:
                delay = self.backoff_initial
            wait = delay * random.uniform(0.9, 1.1)
            log.debug("ARI: reconnecting to %s in %.1f s (%s)", self.url, wait, self.last_error)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.backoff_max)

    async def _session_once(self) -> None:
        if self.check_swagger and not self.swagger_checked:
            await self._check_swagger()
        ws_url = self.url.replace("http", "ws", 1) + "/ari/events"
        params = {"app": self.app, "subscribeAll": "false"}
        try:
            async with asyncio.timeout(self.timeout):
                ws = await self.session.ws_connect(
                    ws_url, params=params, heartbeat=self.heartbeat,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self.timeout),
                    autoping=True)
        except TimeoutError:
            raise AriError(0, f"websocket connect timed out after {self.timeout:g} s") from None
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise AriError(401, "authentication failed (check ari_user/ari_password)") from None
            raise AriError(exc.status, f"websocket handshake failed: HTTP {exc.status}") from None
        self._ws = ws
        try:
            self.connected = True
            self.connected_since = _now_iso()
            self.last_error = None
            self.connects += 1
            if self.connects > 1:
                self.reconnects += 1
            self._connected_event.set()
            log.info("ARI websocket connected to %s (app %s)", self.url, self.app)
            if self.filter_noise:
                self._fire(self._filter_noise_events)
            self._fire(self.on_connect)
            await self._receive(ws)
        finally:
            self._ws = None
            await ws.close()

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        submit = self.router.submit
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                event = parse_event(msg.data)
                if event is not None:
                    submit(event)
            elif msg.type == aiohttp.WSMsgType.ERROR:
                raise AriError(0, f"websocket error: {type(ws.exception()).__name__}")
        code = ws.close_code
        if not self._stopping:
            raise AriError(0, f"websocket closed (code {code})")

    async def _check_swagger(self) -> None:
        """Read the server's swagger 1.1 (``resources.json`` and the declarations of the
        resources we use); warn about operations we use it lacks.

        Unreachable server or bad credentials raise ``AriError`` (retried); a swagger that
        cannot be read as swagger 1.1 only logs a warning, it never blocks the connection.
        """
        listing = await self.request("GET", "/api-docs/resources.json")
        try:
            names = swagger_resources(listing)
            declarations: dict[str, Any] = {}
            for name in sorted(set(names) & set(REQUIRED_OPERATIONS)):
                try:
                    declarations[name] = await self.request(
                        "GET", f"/api-docs/{quote(name, safe='')}.json")
                except AriNotFound:  # listed but not served: its operations are missing
                    pass
            missing = missing_operations(declarations)
        except ValueError as exc:
            log.warning("ARI swagger of %s not understood (%s); going on", self.url, exc)
            self.missing_operations = None  # unknown
            self.swagger_checked = True
            return
        if missing:
            log.warning("ARI server %s lacks operations: %s", self.url, ", ".join(missing))
        self.missing_operations = missing
        self.swagger_checked = True

    async def _filter_noise_events(self) -> None:
        """Ask Asterisk not to send :data:`NOISE_EVENTS` to the app (ARI's event filter,
        Asterisk 13.26 / 16.3 and later); only the disallowed list is set."""
        try:
            await self.application_filter(sorted(NOISE_EVENTS))
        except AriError as exc:
            log.info("ARI server %s does not filter the app's events (%s): they are dropped "
                     "on arrival", self.url, exc)

    def _fire(self, callback: Callback | None, *args: Any) -> None:
        if callback is None:
            return

        async def run() -> None:
            try:
                result = callback(*args)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ARI connection callback failed")

        task = asyncio.get_running_loop().create_task(run())
        self._callback_tasks.add(task)
        task.add_done_callback(self._callback_tasks.discard)

"""``AriDouble``: an aiohttp server on 127.0.0.1 that speaks ARI like Asterisk 22."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from aiohttp import WSMsgType, web

from coovox.sim.engine import SimEngine
from coovox.sim.errors import SimError
from coovox.sim.state import FarEnd, SimBridge, SimChannel

log = logging.getLogger(__name__)


class SimRequest(NamedTuple):
    """One ARI request received: ``at`` is the loop's monotonic time of arrival."""

    method: str
    path: str
    query: dict[str, str]
    at: float


class SentEvent(NamedTuple):
    at: float
    event: dict[str, Any]


class _Socket:
    """One app websocket with its ordered send queue."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.writer: asyncio.Task | None = None

    async def write(self) -> None:
        while True:
            data = await self.queue.get()
            try:
                if data is None:
                    return
                if not self.ws.closed:
                    await self.ws.send_str(data)
            except Exception:  # a dying socket must not block flush()
                log.debug("sim: websocket send failed", exc_info=True)
            finally:
                self.queue.task_done()


class AriDouble:
    """The ARI double. See the package docstring for the control API."""

    def __init__(self, app: str = "coovox", user: str = "coovox",
                 password: str = "coovox-secret", *, time_scale: float = 1.0,
                 sound_duration: float = 0.5, record_events: bool = True) -> None:
        self.app = app
        self.user = user
        self.password = password
        self.engine = SimEngine(app, self._emit, time_scale=time_scale,
                                sound_duration=sound_duration)
        self.record_events = record_events  # False: no sent/dropped event log (long benchmarks)
        self.requests: list[SimRequest] = []
        self.sent_events: list[SentEvent] = []
        self.dropped_events: list[SentEvent] = []
        self.url = ""
        self.host = "127.0.0.1"
        self.port = 0
        self._sockets: list[_Socket] = []
        self._refuse_until = 0.0
        self._runner: web.AppRunner | None = None
        self._waiters: set[asyncio.Future] = set()

    # --- lifecycle --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        from coovox.sim.control import add_control_routes
        from coovox.sim.http_api import add_routes

        app = web.Application(middlewares=[self._middleware])
        add_routes(app, self)
        add_control_routes(app, self)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None,
                                     handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host, self.port = host, self._runner.addresses[0][1]
        self.url = f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self.engine.reset()
        await self._close_sockets()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- control API ------------------------------------------------------------------------

    @property
    def channels(self) -> dict[str, SimChannel]:
        return self.engine.channels

    @property
    def bridges(self) -> dict[str, SimBridge]:
        return self.engine.bridges

    @property
    def time_scale(self) -> float:
        """Factor applied to default far-end timings, dial timeouts and sound lengths."""
        return self.engine.time_scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        self.engine.time_scale = value

    @property
    def stasis_entry_delay(self) -> float:
        """Upper bound (s) of the random time a created channel takes to enter Stasis."""
        return self.engine.stasis_entry_delay

    @stasis_entry_delay.setter
    def stasis_entry_delay(self, value: float) -> None:
        self.engine.stasis_entry_delay = value

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    def far_end(self, number: str, behaviour: FarEnd) -> None:
        """Script the far end reached when the app dials ``number``."""
        self.engine.far_ends[number] = behaviour

    async def place_call(self, extension: str, number: str, caller_name: str = "") -> str:
        """A phone dials: returns the id of the caller channel that entered Stasis."""
        phone = self.engine.place_call(extension, number, caller_name)
        await self.flush()
        return phone.other.id if phone.other else phone.id

    async def phone_hangup(self, caller_channel_id: str, cause: int = 16) -> None:
        self.engine.phone_hangup(caller_channel_id, cause)
        await self.flush()

    async def far_hangup(self, out_channel_id: str, cause: int = 16) -> None:
        self.engine.far_hangup(out_channel_id, cause)
        await self.flush()

    async def send_dtmf(self, caller_channel_id: str, digits: str,
                        duration_ms: int = 100) -> None:
        self.engine.send_dtmf(caller_channel_id, digits, duration_ms)
        await self.flush()

    async def drop_websocket(self, down_for: float = 0) -> None:
        """Close the app's websockets; refuse new ones for ``down_for`` seconds."""
        self._refuse_until = asyncio.get_running_loop().time() + down_for
        await self._close_sockets()

    async def restart(self) -> None:
        """Asterisk restarts: all channels/bridges gone, websockets closed, nobody told."""
        self.engine.reset()
        await self._close_sockets()

    async def shutdown(self, linger: float = 0.3) -> None:
        """``core stop now``: unlike a crash (:meth:`restart`) Asterisk hangs up every
        channel and the app gets those events; requests are still answered for ``linger``
        seconds, then the websockets close and everything is gone."""
        self.engine.shutdown()
        await self.flush()
        await asyncio.sleep(linger)
        await self.restart()

    async def wait_request(self, method: str, path_regex: str, timeout: float = 5.0,
                           *, start: int = 0) -> SimRequest:
        """First request (index >= ``start``) matching ``method`` and ``path_regex``."""
        pattern = re.compile(path_regex)
        pos = start

        def find() -> SimRequest | None:
            nonlocal pos
            while pos < len(self.requests):
                req = self.requests[pos]
                pos += 1
                if req.method == method.upper() and pattern.search(req.path):
                    return req
            return None

        return await self._wait_until(find, timeout)

    async def wait_event(self, kind: str, timeout: float = 5.0, *, start: int = 0,
                         **match: Any) -> dict[str, Any]:
        """First sent event (index >= ``start``) of type ``kind`` whose fields match."""

        def ok(event: dict[str, Any]) -> bool:
            if event["type"] != kind:
                return False
            for key, value in match.items():
                if key == "channel_id":
                    if (event.get("channel") or event.get("peer") or {}).get("id") != value:
                        return False
                elif event.get(key) != value:
                    return False
            return True

        pos = start

        def find() -> dict[str, Any] | None:
            nonlocal pos
            while pos < len(self.sent_events):
                event = self.sent_events[pos].event
                pos += 1
                if ok(event):
                    return event
            return None

        return await self._wait_until(find, timeout)

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await self._wait_until(lambda: self.connected, timeout)

    # --- events -----------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        now = asyncio.get_running_loop().time()
        if not self._sockets:
            if self.record_events:
                self.dropped_events.append(SentEvent(now, event))
            return
        data = json.dumps(event)
        if self.record_events:
            self.sent_events.append(SentEvent(now, event))
        for sock in self._sockets:
            sock.queue.put_nowait(data)
        self._notify()

    async def flush(self) -> None:
        """Wait until every queued event has been written to the websockets."""
        for sock in list(self._sockets):
            try:
                await asyncio.wait_for(sock.queue.join(), 2.0)
            except TimeoutError:
                log.warning("sim: websocket send queue did not drain")

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _wait_until(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change); returns it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = predicate()
            if found:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("the ARI double did not see it in time")
            waiter = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)

    async def _close_sockets(self) -> None:
        sockets, self._sockets = list(self._sockets), []
        for sock in sockets:
            sock.queue.put_nowait(None)
            await sock.ws.close()
        self.engine.connected = False
        self.engine.check_app()
        self._notify()

    # --- HTTP plumbing ----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expected = f"{self.user}:{self.password}"
        if request.query.get("api_key") == expected:
            return True
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                return base64.b64decode(header[6:]).decode() == expected
            except (ValueError, UnicodeDecodeError):
                return False
        return False

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/ari"):
            query = {k: v for k, v in request.query.items() if k != "api_key"}
            self.requests.append(SimRequest(request.method, request.path, query,
                                            asyncio.get_running_loop().time()))
            self._notify()
            if not self._authorized(request):
                return web.json_response({"message": "Authentication required"}, status=401,
                                         headers={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'})
        try:
            return await handler(request)
        except SimError as exc:
            return web.json_response({"message": exc.message}, status=exc.status)

    async def events_websocket(self, request: web.Request) -> web.StreamResponse:
        apps = [a for a in request.query.get("app", "").split(",") if a]
        if not apps:
            raise SimError(400, "app: parameter required")
        if self.app not in apps:
            raise SimError(400, f"Stasis app '{apps[0]}' is not served by this double")
        if asyncio.get_running_loop().time() < self._refuse_until:
            raise SimError(503, "Service Unavailable")
        ws = web.WebSocketResponse(protocols=("ari",), autoping=True, timeout=1.0)
        await ws.prepare(request)
        sock = _Socket(ws)
        sock.writer = asyncio.get_running_loop().create_task(sock.write())
        self._sockets.append(sock)
        self.engine.connected = True
        self.engine.app_registered = True
        self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            if sock in self._sockets:
                self._sockets.remove(sock)
                sock.queue.put_nowait(None)
            if not self._sockets:
                self.engine.connected = False
                self.engine.check_app()
            self._notify()
        return ws

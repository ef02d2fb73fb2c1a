"""HTTP control endpoints ``/_sim/...`` for driving the double from another process."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from aiohttp import web

from coovox.sim.errors import SimError
from coovox.sim.state import FarEnd

if TYPE_CHECKING:
    from coovox.sim.double import AriDouble

FAR_END_FIELDS = {f.name for f in dataclasses.fields(FarEnd)}


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise SimError(400, "body must be JSON") from None
    if not isinstance(data, dict):
        raise SimError(400, "body must be a JSON object")
    return data


def _field(data: dict[str, Any], name: str, kind: type = str, default: Any = ...) -> Any:
    if name not in data:
        if default is ...:
            raise SimError(400, f"{name}: required")
        return default
    value = data[name]
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SimError(400, f"{name}: must be {kind.__name__}") from None


def _far_end(data: dict[str, Any]) -> FarEnd:
    """A FarEnd from JSON, each field checked."""
    values: dict[str, Any] = {}
    for name in ("answer_after", "hangup_after"):
        value = data.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise SimError(400, f"{name}: must be a number of seconds >= 0 or null")
            values[name] = float(value)
    for name in ("ring_forever", "busy", "congestion"):
        if name in data:
            if not isinstance(data[name], bool):
                raise SimError(400, f"{name}: must be true or false")
            values[name] = data[name]
    if "cause" in data:
        cause = data["cause"]
        if isinstance(cause, bool) or not isinstance(cause, int) or not 0 < cause < 128:
            raise SimError(400, "cause: must be a Q.850 cause 1..127")
        values["cause"] = cause
    return FarEnd(**values)


def add_control_routes(app: web.Application, double: AriDouble) -> None:
    async def call(request: web.Request) -> web.Response:
        data = await _body(request)
        channel_id = await double.place_call(_field(data, "extension"), _field(data, "number"),
                                             _field(data, "caller_name", str, ""))
        return web.json_response({"channel_id": channel_id})

    async def hangup(request: web.Request) -> web.Response:
        data = await _body(request)
        await double.phone_hangup(_field(data, "channel_id"), _field(data, "cause", int, 16))
        return web.json_response({"ok": True})

    async def far_hangup(request: web.Request) -> web.Response:
        data = await _body(request)
        await double.far_hangup(_field(data, "channel_id"), _field(data, "cause", int, 16))
        return web.json_response({"ok": True})

    async def dtmf(request: web.Request) -> web.Response:
        data = await _body(request)
        await double.send_dtmf(_field(data, "channel_id"), _field(data, "digits"))
        return web.json_response({"ok": True})

    async def far_end(request: web.Request) -> web.Response:
        data = await _body(request)
        number = _field(data, "number")
        unknown = set(data) - FAR_END_FIELDS - {"number"}
        if unknown:
            raise SimError(400, f"unknown far-end field(s): {', '.join(sorted(unknown))}")
        double.far_end(number, _far_end(data))
        return web.json_response({"ok": True})

    async def drop(request: web.Request) -> web.Response:
        data = await _body(request)
        await double.drop_websocket(_field(data, "down_for", float, 0.0))
        return web.json_response({"ok": True})

    async def restart(request: web.Request) -> web.Response:
        await double.restart()
        return web.json_response({"ok": True})

    async def requests(request: web.Request) -> web.Response:
        return web.json_response([r._asdict() for r in double.requests])

    async def events(request: web.Request) -> web.Response:
        return web.json_response([e._asdict() for e in double.sent_events])

    async def state(request: web.Request) -> web.Response:
        return web.json_response({
            "connected": double.connected, "app_registered": double.engine.app_registered,
            "channels": [c.snapshot() for c in double.channels.values()],
            "bridges": [b.snapshot() for b in double.bridges.values()]})

    r = app.router
    r.add_post("/_sim/call", call)
    r.add_post("/_sim/hangup", hangup)
    r.add_post("/_sim/far_hangup", far_hangup)
    r.add_post("/_sim/dtmf", dtmf)
    r.add_post("/_sim/far_end", far_end)
    r.add_post("/_sim/drop", drop)
    r.add_post("/_sim/restart", restart)
    r.add_get("/_sim/requests", requests)
    r.add_get("/_sim/events", events)
    r.add_get("/_sim/state", state)

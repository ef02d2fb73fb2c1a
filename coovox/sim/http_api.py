"""ARI REST routes of the double (``/ari/...``), mapped onto ``SimEngine``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from coovox.sim import swagger
from coovox.sim.errors import SimError

if TYPE_CHECKING:
    from coovox.sim.double import AriDouble


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _multi(request: web.Request, name: str) -> list[str]:
    values: list[str] = []
    for value in request.query.getall(name, []):
        values += [v for v in value.split(",") if v]
    return values


async def _variables(request: web.Request) -> dict[str, str] | None:
    if not request.can_read_body:
        return None
    try:
        body = json.loads(await request.text() or "null")
    except ValueError:
        raise SimError(400, "Request body is not valid JSON") from None
    if body is None:
        return None
    if not isinstance(body, dict):
        raise SimError(400, "Request body must be a JSON object")
    variables = body.get("variables", {})
    if not isinstance(variables, dict):
        raise SimError(400, "variables must be an object")
    return {str(k): str(v) for k, v in variables.items()}


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name)
    if not value:
        raise SimError(400, f"{name}: parameter required")
    return value


def add_routes(app: web.Application, double: AriDouble) -> None:
    """Register the ARI routes on ``app``."""
    eng = double.engine
    q = lambda request, name: request.query.get(name)  # noqa: E731
    cid = lambda request: request.match_info["channel_id"]  # noqa: E731

    async def resources(request: web.Request) -> web.Response:
        return _json(swagger.resource_listing(double.url + "/ari"))

    async def api_doc(request: web.Request) -> web.Response:
        doc = swagger.api_declaration(request.match_info["name"], double.url + "/ari")
        if doc is None:
            raise SimError(404, "Resource not found")
        return _json(doc)

    async def channels_list(request: web.Request) -> web.Response:
        return _json([c.snapshot() for c in eng.channels.values()])

    async def originate(request: web.Request) -> web.Response:
        """Only what the reference harness does: a phone call via Local/<num>@from-internal."""
        endpoint = _required(request, "endpoint")
        tech, number, context = _parse(endpoint)
        if tech.lower() != "local" or context != "from-internal":
            raise SimError(400, "The double only originates Local/<number>@from-internal")
        name, ext = _caller_id(q(request, "callerId") or "")
        phone = eng.place_call(ext, number, name)
        await double.flush()
        return _json(phone.snapshot())

    async def create(request: web.Request) -> web.Response:
        variables = await _variables(request)
        snapshot = eng.create(_required(request, "endpoint"), _required(request, "app"),
                              q(request, "appArgs"), q(request, "originator"),
                              q(request, "formats"), variables,
                              q(request, "channelId"), q(request, "otherChannelId"))
        return _json(snapshot)

    async def channel_get(request: web.Request) -> web.Response:
        return _json(eng.channel(cid(request)).snapshot())

    async def hangup(request: web.Request) -> web.Response:
        eng.hangup(cid(request), q(request, "reason"), q(request, "reason_code"))
        await double.flush()
        return _no_content()

    async def answer(request: web.Request) -> web.Response:
        eng.answer(cid(request))
        await double.flush()
        return _no_content()

    async def ring(request: web.Request) -> web.Response:
        eng.ring(cid(request), request.method == "POST")
        return _no_content()

    async def play(request: web.Request) -> web.Response:
        media = _multi(request, "media")
        playback = eng.play(cid(request), ",".join(media), q(request, "playbackId"))
        return _json(playback, status=201)

    async def variable_get(request: web.Request) -> web.Response:
        return _json({"value": eng.get_var(cid(request), _required(request, "variable"))})

    async def variable_set(request: web.Request) -> web.Response:
        eng.set_var(cid(request), _required(request, "variable"), q(request, "value") or "")
        await double.flush()
        return _no_content()

    async def dial(request: web.Request) -> web.Response:
        eng.dial(cid(request), q(request, "caller"), q(request, "timeout"))
        return _no_content()

    async def playback_get(request: web.Request) -> web.Response:
        return _json(eng.playback_get(request.match_info["playback_id"]))

    async def playback_stop(request: web.Request) -> web.Response:
        eng.playback_stop(request.match_info["playback_id"])
        await double.flush()
        return _no_content()

    async def bridges_list(request: web.Request) -> web.Response:
        return _json([b.snapshot() for b in eng.bridges.values()])

    async def bridge_create(request: web.Request) -> web.Response:
        return _json(eng.bridge_create(q(request, "type"), q(request, "bridgeId"),
                                       q(request, "name")))

    async def bridge_get(request: web.Request) -> web.Response:
        return _json(eng.bridge(request.match_info["bridge_id"]).snapshot())

    async def bridge_destroy(request: web.Request) -> web.Response:
        eng.bridge_destroy(request.match_info["bridge_id"])
        await double.flush()
        return _no_content()

    async def bridge_add(request: web.Request) -> web.Response:
        channels = _multi(request, "channel")
        if not channels:
            raise SimError(400, "channel: parameter required")
        eng.bridge_add(request.match_info["bridge_id"], channels)
        await double.flush()
        return _no_content()

    async def bridge_remove(request: web.Request) -> web.Response:
        channels = _multi(request, "channel")
        if not channels:
            raise SimError(400, "channel: parameter required")
        eng.bridge_remove(request.match_info["bridge_id"], channels)
        await double.flush()
        return _no_content()

    async def applications(request: web.Request) -> web.Response:
        return _json([eng.app_snapshot()] if eng.app_registered else [])

    async def application(request: web.Request) -> web.Response:
        if request.match_info["name"] != eng.app or not eng.app_registered:
            raise SimError(404, "Application not found")
        return _json(eng.app_snapshot())

    async def application_filter(request: web.Request) -> web.Response:
        if request.match_info["name"] != eng.app or not eng.app_registered:
            raise SimError(404, "Application not found")
        try:
            body = json.loads(await request.text() or "null")
        except ValueError:
            raise SimError(400, "Request body is not valid JSON") from None
        eng.set_event_filter(body)
        return _json(eng.app_snapshot())

    async def info(request: web.Request) -> web.Response:
        return _json({"system": {"version": "22.10.1-coovox-sim",
                                 "entity_id": "02:fc:00:00:00:01"}})

    async def ping(request: web.Request) -> web.Response:
        from coovox.sim.state import ASTERISK_ID, ari_time
        return _json({"asterisk_id": ASTERISK_ID, "ping": "pong", "timestamp": ari_time()})

    r = app.router
    r.add_get("/ari/api-docs/resources.json", resources)
    r.add_get("/ari/api-docs/{name}.json", api_doc)
    r.add_get("/ari/events", double.events_websocket)
    r.add_get("/ari/channels", channels_list)
    r.add_post("/ari/channels", originate)
    r.add_post("/ari/channels/create", create)
    r.add_get("/ari/channels/{channel_id}", channel_get)
    r.add_delete("/ari/channels/{channel_id}", hangup)
    r.add_post("/ari/channels/{channel_id}/answer", answer)
    r.add_post("/ari/channels/{channel_id}/ring", ring)
    r.add_delete("/ari/channels/{channel_id}/ring", ring)
    r.add_post("/ari/channels/{channel_id}/play", play)
    r.add_get("/ari/channels/{channel_id}/variable", variable_get)
    r.add_post("/ari/channels/{channel_id}/variable", variable_set)
    r.add_post("/ari/channels/{channel_id}/dial", dial)
    r.add_get("/ari/playbacks/{playback_id}", playback_get)
    r.add_delete("/ari/playbacks/{playback_id}", playback_stop)
    r.add_get("/ari/bridges", bridges_list)
    r.add_post("/ari/bridges", bridge_create)
    r.add_get("/ari/bridges/{bridge_id}", bridge_get)
    r.add_delete("/ari/bridges/{bridge_id}", bridge_destroy)
    r.add_post("/ari/bridges/{bridge_id}/addChannel", bridge_add)
    r.add_post("/ari/bridges/{bridge_id}/removeChannel", bridge_remove)
    r.add_get("/ari/applications", applications)
    r.add_get("/ari/applications/{name}", application)
    r.add_put("/ari/applications/{name}/eventFilter", application_filter)
    r.add_get("/ari/asterisk/info", info)
    r.add_get("/ari/asterisk/ping", ping)


def _parse(endpoint: str) -> tuple[str, str, str]:
    from coovox.sim.engine import parse_endpoint
    return parse_endpoint(endpoint)


def _caller_id(text: str) -> tuple[str, str]:
    """``"Ext 100" <100>`` -> (``Ext 100``, ``100``)."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"'), number.strip()
    return "", text

"""The double's own swagger 1.1 description: only the ARI subset it implements.

Written for the double (names follow ARI 10 / Asterisk 22 so aioari can load it); the
conformance test checks every operation and parameter against the real api-docs.
"""

from __future__ import annotations

import copy
from typing import Any

API_VERSION = "10.0.0"
RESOURCE_VERSION = "2.0.0"


def _p(name: str, kind: str = "query", data: str = "string", required: bool = False,
       multiple: bool = False, description: str = "") -> dict[str, Any]:
    param = {"name": name, "description": description or name, "paramType": kind,
             "required": required or kind == "path", "allowMultiple": multiple,
             "dataType": data}
    return param


def _op(method: str, nickname: str, response: str, params: list[dict] | None = None,
        errors: list[tuple[int, str]] | None = None, **extra: Any) -> dict[str, Any]:
    op = {"httpMethod": method, "summary": nickname, "nickname": nickname,
          "responseClass": response, "parameters": params or [],
          "errorResponses": [{"code": c, "reason": r} for c, r in (errors or [])]}
    op.update(extra)
    return op


def _api(path: str, *operations: dict) -> dict[str, Any]:
    return {"path": path, "description": path, "operations": list(operations)}


def _model(model_id: str, **props: str | tuple[str, bool]) -> dict[str, Any]:
    properties = {}
    for name, spec in props.items():
        kind, required = spec if isinstance(spec, tuple) else (spec, False)
        properties[name] = {"type": kind, "required": required, "description": name}
    return {"id": model_id, "description": model_id, "properties": properties}


CHANNEL_ID = _p("channelId", "path")
BRIDGE_ID = _p("bridgeId", "path")
NOT_FOUND = (404, "Not found")

CHANNEL_MODELS = {
    "CallerID": _model("CallerID", name=("string", True), number=("string", True)),
    "DialplanCEP": _model("DialplanCEP", context=("string", True), exten=("string", True),
                          priority=("long", True), app_name=("string", True),
                          app_data=("string", True)),
    "Channel": _model("Channel", id=("string", True), name=("string", True),
                      state=("string", True), protocol_id=("string", True),
                      caller=("CallerID", True), connected=("CallerID", True),
                      accountcode=("string", True), dialplan=("DialplanCEP", True),
                      creationtime=("Date", True), language=("string", True)),
    "Variable": _model("Variable", value=("string", True)),
}
BRIDGE_MODEL = {"Bridge": _model(
    "Bridge", id=("string", True), technology=("string", True), bridge_type=("string", True),
    bridge_class=("string", True), creator=("string", True), name=("string", True),
    channels=("List[string]", True), creationtime=("Date", True), video_mode="string")}
PLAYBACK_MODEL = {"Playback": _model(
    "Playback", id=("string", True), media_uri=("string", True), target_uri=("string", True),
    language="string", state=("string", True))}

RESOURCES: dict[str, dict[str, Any]] = {
    "asterisk": {
        "apis": [
            _api("/asterisk/info", _op("GET", "getInfo", "AsteriskInfo",
                                       [_p("only", multiple=True)])),
            _api("/asterisk/ping", _op("GET", "ping", "AsteriskPing")),
        ],
        "models": {"AsteriskInfo": _model("AsteriskInfo", system="object"),
                   "AsteriskPing": _model("AsteriskPing", asterisk_id=("string", True),
                                          ping=("string", True), timestamp=("string", True))},
    },
    "channels": {
        "apis": [
            _api("/channels",
                 _op("GET", "list", "List[Channel]"),
                 _op("POST", "originate", "Channel", [
                     _p("endpoint", required=True), _p("extension"), _p("context"),
                     _p("priority", data="long"), _p("app"), _p("appArgs"), _p("callerId"),
                     _p("timeout", data="int"), _p("variables", "body", "containers"),
                     _p("originator"), _p("formats")], [(400, "Invalid parameters")])),
            _api("/channels/create",
                 _op("POST", "create", "Channel", [
                     _p("endpoint", required=True), _p("app", required=True), _p("appArgs"),
                     _p("channelId"), _p("otherChannelId"), _p("originator"), _p("formats"),
                     _p("variables", "body", "containers")], [(409, "Channel exists")])),
            _api("/channels/{channelId}",
                 _op("GET", "get", "Channel", [CHANNEL_ID], [NOT_FOUND]),
                 _op("DELETE", "hangup", "void", [CHANNEL_ID, _p("reason_code"), _p("reason")],
                     [(400, "Invalid reason for hangup provided"), NOT_FOUND])),
            _api("/channels/{channelId}/answer",
                 _op("POST", "answer", "void", [CHANNEL_ID], [NOT_FOUND])),
            _api("/channels/{channelId}/ring",
                 _op("POST", "ring", "void", [CHANNEL_ID], [NOT_FOUND]),
                 _op("DELETE", "ringStop", "void", [CHANNEL_ID], [NOT_FOUND])),
            _api("/channels/{channelId}/play",
                 _op("POST", "play", "Playback", [
                     CHANNEL_ID, _p("media", required=True, multiple=True), _p("lang"),
                     _p("playbackId")], [NOT_FOUND])),
            _api("/channels/{channelId}/variable",
                 _op("GET", "getChannelVar", "Variable",
                     [CHANNEL_ID, _p("variable", required=True)], [NOT_FOUND]),
                 _op("POST", "setChannelVar", "void",
                     [CHANNEL_ID, _p("variable", required=True), _p("value")], [NOT_FOUND])),
            _api("/channels/{channelId}/dial",
                 _op("POST", "dial", "void",
                     [CHANNEL_ID, _p("caller"), _p("timeout", data="int")],
                     [NOT_FOUND, (409, "Channel cannot be dialed")])),
        ],
        "models": dict(CHANNEL_MODELS, **PLAYBACK_MODEL),
    },
    "bridges": {
        "apis": [
            _api("/bridges",
                 _op("GET", "list", "List[Bridge]"),
                 _op("POST", "create", "Bridge", [_p("type"), _p("bridgeId"), _p("name")])),
            _api("/bridges/{bridgeId}",
                 _op("GET", "get", "Bridge", [BRIDGE_ID], [NOT_FOUND]),
                 _op("DELETE", "destroy", "void", [BRIDGE_ID], [NOT_FOUND])),
            _api("/bridges/{bridgeId}/addChannel",
                 _op("POST", "addChannel", "void",
                     [BRIDGE_ID, _p("channel", required=True, multiple=True)],
                     [NOT_FOUND, (422, "Channel not in Stasis")])),
            _api("/bridges/{bridgeId}/removeChannel",
                 _op("POST", "removeChannel", "void",
                     [BRIDGE_ID, _p("channel", required=True, multiple=True)],
                     [NOT_FOUND, (422, "Channel not in this bridge")])),
        ],
        "models": BRIDGE_MODEL,
    },
    "playbacks": {
        "apis": [
            _api("/playbacks/{playbackId}",
                 _op("GET", "get", "Playback", [_p("playbackId", "path")], [NOT_FOUND]),
                 _op("DELETE", "stop", "void", [_p("playbackId", "path")], [NOT_FOUND])),
        ],
        "models": PLAYBACK_MODEL,
    },
    "applications": {
        "apis": [
            _api("/applications", _op("GET", "list", "List[Application]")),
            _api("/applications/{applicationName}",
                 _op("GET", "get", "Application", [_p("applicationName", "path")],
                     [NOT_FOUND])),
            _api("/applications/{applicationName}/eventFilter",
                 _op("PUT", "filter", "Application",
                     [_p("applicationName", "path"), _p("filter", "body", "object")],
                     [(400, "Bad request."), NOT_FOUND])),
        ],
        "models": {"Application": _model(
            "Application", name=("string", True), channel_ids=("List[string]", True),
            bridge_ids=("List[string]", True), endpoint_ids=("List[string]", True),
            device_names=("List[string]", True),
            events_allowed=("List[object]", True), events_disallowed=("List[object]", True))},
    },
    "events": {
        "apis": [
            _api("/events", _op("GET", "eventWebsocket", "Message",
                                [_p("app", required=True, multiple=True),
                                 _p("subscribeAll", data="boolean")],
                                upgrade="websocket", websocketProtocol="ari")),
        ],
        "models": {
            "Message": _model("Message", type=("string", True), asterisk_id="string"),
            "Event": _model("Event", application=("string", True), timestamp=("Date", True)),
            "StasisStart": _model("StasisStart", args=("List[string]", True),
                                  channel=("Channel", True)),
            "StasisEnd": _model("StasisEnd", channel=("Channel", True)),
            "ChannelStateChange": _model("ChannelStateChange", channel=("Channel", True)),
            "ChannelHangupRequest": _model("ChannelHangupRequest", cause="int", soft="boolean",
                                           channel=("Channel", True)),
            "ChannelDestroyed": _model("ChannelDestroyed", cause=("int", True),
                                       cause_txt=("string", True), channel=("Channel", True)),
            "ChannelVarset": _model("ChannelVarset", variable=("string", True),
                                    value=("string", True), channel="Channel"),
            "ChannelDialplan": _model("ChannelDialplan", channel=("Channel", True),
                                      dialplan_app=("string", True),
                                      dialplan_app_data=("string", True)),
            "ChannelConnectedLine": _model("ChannelConnectedLine", channel=("Channel", True)),
            "ChannelCallerId": _model("ChannelCallerId", caller_presentation=("int", True),
                                      caller_presentation_txt=("string", True),
                                      channel=("Channel", True)),
            "ChannelDtmfReceived": _model("ChannelDtmfReceived", digit=("string", True),
                                          duration_ms=("int", True), channel=("Channel", True)),
            "ChannelEnteredBridge": _model("ChannelEnteredBridge", bridge=("Bridge", True),
                                           channel="Channel"),
            "ChannelLeftBridge": _model("ChannelLeftBridge", bridge=("Bridge", True),
                                        channel=("Channel", True)),
            "BridgeDestroyed": _model("BridgeDestroyed", bridge=("Bridge", True)),
            "Dial": _model("Dial", peer=("Channel", True), forward="string",
                           dialstring="string", dialstatus=("string", True)),
            "PlaybackStarted": _model("PlaybackStarted", playback=("Playback", True)),
            "PlaybackFinished": _model("PlaybackFinished", playback=("Playback", True)),
            "PlaybackContinuing": _model("PlaybackContinuing", playback=("Playback", True)),
        },
    },
}


def resource_listing(base_path: str) -> dict[str, Any]:
    """``resources.json`` with ``basePath`` = ``<base url>/ari``."""
    return {"apiVersion": API_VERSION, "swaggerVersion": "1.1", "basePath": base_path,
            "apis": [{"path": f"/api-docs/{name}.{{format}}", "description": f"{name} resources"}
                     for name in RESOURCES]}


def api_declaration(name: str, base_path: str) -> dict[str, Any] | None:
    """One resource file (``channels.json`` ...), or None if not implemented."""
    resource = RESOURCES.get(name)
    if resource is None:
        return None
    return {"apiVersion": RESOURCE_VERSION, "swaggerVersion": "1.1", "basePath": base_path,
            "resourcePath": f"/api-docs/{name}.{{format}}",
            "produces": ["application/json"], "consumes": ["application/json"],
            "apis": copy.deepcopy(resource["apis"]), "models": copy.deepcopy(resource["models"])}

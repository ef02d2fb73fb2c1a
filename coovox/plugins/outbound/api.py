"""JSON API of the outbound configuration: extensions, trunks, dial rules, permissions, PIN sets."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coovox.hooktypes import ADMIN, OPERATOR, Route
from coovox.plugins.outbound import bulk
from coovox.plugins.outbound import services as svc
from coovox.plugins.outbound.lists import LIST_SPECS
from coovox.plugins.outbound.services import ConfigError, Kind
from coovox.web.errors import ApiError, read_json
from coovox.web.pagination import ListSpec

CALLER_ID = "^(\\+?[0-9]{3,20})?$"

# path segment, kind, JSON schema of the fields (for the OpenAPI document)
RESOURCES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("extensions", "extension", {
        "number": {"type": "string", "pattern": "^[0-9]{1,32}$"},
        "name": {"type": "string"}, "enabled": {"type": "boolean"},
        "dial_permission": {"type": "string", "default": "DialPlan1"},
        "caller_id1": {"type": "string", "pattern": CALLER_ID,
                       "description": "first outbound caller ID (used by default)"},
        "caller_id2": {"type": "string", "pattern": CALLER_ID,
                       "description": "second outbound caller ID (dial rules may choose it)"}}),
    ("trunks", "trunk", {
        "name": {"type": "string"},
        "dial_string": {"type": "string", "example": "PJSIP/{number}@carrier"},
        "enabled": {"type": "boolean"}, "max_calls": {"type": "integer", "nullable": True},
        "caller_id": {"type": "string", "pattern": CALLER_ID,
                      "description": "the trunk's outbound caller ID"},
        "prefer": {"type": "string", "enum": ["extension", "trunk"], "default": "extension",
                   "description": "whose caller ID goes first: the extension's or the trunk's"}}),
    ("dial-rules", "dial rule", {
        "name": {"type": "string"}, "prefix": {"type": "string"},
        "pattern": {"type": "string", "example": "X."}, "prepend": {"type": "string"},
        "trunks": {"type": "array", "items": {"type": "string"}},
        "time_limit": {"type": "integer", "minimum": 60, "maximum": 3600, "nullable": True},
        "pin_set": {"type": "string", "nullable": True},
        "condition": {"type": "object", "nullable": True, "properties": {
            "days": {"type": "array", "items": {"type": "integer"}},
            "start": {"type": "string"}, "end": {"type": "string"}}},
        "caller_id": {"type": "integer", "enum": [1, 2], "default": 1,
                      "description": "which of the extension's caller IDs the calls show"},
        "call_method": {"type": "string", "enum": ["sequential", "round_robin"],
                        "default": "sequential",
                        "description": "sequential: the trunks in order, the next when one "
                                       "fails; round_robin: each call starts at the next "
                                       "trunk, then fails over in order"}}),
    ("dial-permissions", "dial permission", {
        "name": {"type": "string"},
        "dial_rules": {"type": "array", "items": {"type": "string"}}}),
    ("pin-sets", "PIN set", {
        "name": {"type": "string"}, "pins": {"type": "array", "items": {"type": "string"}}}),
)


def _api_error(exc: ConfigError) -> ApiError:
    return ApiError(exc.status, exc.message, exc.field)


def _list_handler(kind: Kind, spec: ListSpec):
    async def handler(request: web.Request) -> web.Response:
        lq = spec.parse(request.query, strict=True)
        page = await spec.fetch(kind.model.all(), lq, strict=True)
        return web.json_response(page.as_json(lambda o: svc.serialize(kind, o)))
    return handler


def _create_handler(kind: Kind):
    async def handler(request: web.Request) -> web.Response:
        data = await read_json(request)
        try:
            obj = await svc.create(kind, data)
        except ConfigError as exc:
            raise _api_error(exc) from None
        return web.json_response(svc.serialize(kind, obj), status=201)
    return handler


def _item_handler(kind: Kind, method: str):
    async def handler(request: web.Request) -> web.Response:
        key = request.match_info[kind.key]
        try:
            if method == "GET":
                obj = await svc.get(kind, key)
            elif method == "PATCH":
                obj = await svc.update(kind, key, await read_json(request))
            else:
                await svc.delete(kind, key)
                return web.Response(status=204)
        except ConfigError as exc:
            raise _api_error(exc) from None
        return web.json_response(svc.serialize(kind, obj))
    return handler


def _openapi(segment: str, kind: Kind, spec: ListSpec, schema: dict[str, Any],
             action: str) -> dict[str, Any]:
    tag = segment
    body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": schema}}}}
    key_param = {"name": kind.key, "in": "path", "required": True, "schema": {"type": "string"},
                 "description": f"the {kind.name}'s {kind.key}"}
    if action == "list":
        params = [{"name": n, "in": "query", "schema": {"type": "integer"}}
                  for n in ("page", "per_page")]
        params.append({"name": "sort", "in": "query", "schema": {"type": "string"},
                       "description": "one of " + ", ".join(spec.sortable) + "; '-' = descending"})
        params += [{"name": f, "in": "query", "schema": {"type": "string"}} for f in spec.filters]
        return {"summary": f"List {kind.name}s (paginated: items, total)", "tags": [tag],
                "parameters": params}
    if action == "create":
        return {"summary": f"Add a {kind.name}", "tags": [tag], "requestBody": body,
                "responses": {"201": {"description": "created"},
                              "409": {"description": "duplicate"}}}
    if action == "get":
        return {"summary": f"One {kind.name}", "tags": [tag], "parameters": [key_param]}
    if action == "patch":
        return {"summary": f"Change a {kind.name} (only the fields sent)", "tags": [tag],
                "parameters": [key_param], "requestBody": body}
    return {"summary": f"Delete a {kind.name} (409 when something uses it)", "tags": [tag],
            "parameters": [key_param], "responses": {"204": {"description": "deleted"}}}


def _routes_of(segment: str, kind: Kind, spec: ListSpec, schema: dict[str, Any]) -> list[Route]:
    base = f"/api/v1/{segment}"
    item = base + "/{" + kind.key + "}"
    rname = "api_" + segment.replace("-", "_")

    def route(method: str, path: str, handler, name: str, action: str) -> Route:
        return Route(method, path, handler, name, roles=roles_of(segment, action), api=True,
                     openapi=_openapi(segment, kind, spec, schema, action))

    return [
        route("GET", base, _list_handler(kind, spec), rname, "list"),
        route("POST", base, _create_handler(kind), rname + "_create", "create"),
        route("GET", item, _item_handler(kind, "GET"), rname + "_item", "get"),
        route("PATCH", item, _item_handler(kind, "PATCH"), rname + "_patch", "patch"),
        route("DELETE", item, _item_handler(kind, "DELETE"), rname + "_delete", "delete"),
    ]


def roles_of(segment: str, action: str) -> tuple[str, ...]:
    """Who may use an action: the operator lists, reads, adds and edits extensions as its
    pages do (guide 004), never deletes; everything else is the administrator's."""
    if segment == "extensions" and action != "delete":
        return (ADMIN, OPERATOR)
    return (ADMIN,)


async def api_bulk_add(request: web.Request) -> web.Response:
    """Add extensions in bulk (all or none)."""
    try:
        added = await bulk.bulk_add(await read_json(request))
    except ConfigError as exc:
        raise _api_error(exc) from None
    return web.json_response({"created": len(added), "numbers": added}, status=201)


BULK_SCHEMA: dict[str, Any] = {
    "start": {"type": "string", "pattern": "^[0-9]{1,32}$", "example": "1050"},
    "count": {"type": "integer", "minimum": 1, "maximum": bulk.MAX_COUNT, "example": 10},
    "caller_id1_start": {"type": "string", "pattern": CALLER_ID, "example": "67293500"},
    "caller_id1_method": {"type": "string", "enum": list(bulk.METHODS),
                          "default": bulk.INCREMENT},
    "caller_id2_start": {"type": "string", "pattern": CALLER_ID},
    "caller_id2_method": {"type": "string", "enum": list(bulk.METHODS),
                          "default": bulk.INCREMENT},
    "dial_permission": {"type": "string", "default": "DialPlan1"},
    "enabled": {"type": "boolean", "default": True}}


def routes() -> list[Route]:
    out: list[Route] = []
    for segment, kind_name, schema in RESOURCES:
        out += _routes_of(segment, svc.KINDS[kind_name], LIST_SPECS[kind_name], schema)
    out.append(Route("POST", "/api/v1/extensions/bulk", api_bulk_add, "api_extensions_bulk",
                     roles=roles_of("extensions", "create"), api=True, openapi={
                         "summary": "Add extensions in bulk: numbers from start, caller IDs "
                                    "one more each or the same (all or none; 409 when one "
                                    "exists)",
                         "tags": ["extensions"], "requestBody": {
                             "required": True, "content": {"application/json": {"schema": {
                                 "type": "object", "properties": BULK_SCHEMA}}}},
                         "responses": {"201": {"description": "created"},
                                       "409": {"description": "an extension exists"}}}))
    return out

"""JSON API of the outbound configuration: extensions, trunks, dial rules, permissions, PIN sets."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coovox.hooktypes import ADMIN, OPERATOR, Route
from coovox.plugins.outbound import bulk, schemas
from coovox.plugins.outbound import services as svc
from coovox.plugins.outbound.lists import LIST_SPECS
from coovox.plugins.outbound.services import ConfigError, Kind
from coovox.web.errors import ApiError, read_json
from coovox.web.pagination import ListSpec
from coovox.web.schema import Error

# path segment and kind of each resource
RESOURCES: tuple[tuple[str, str], ...] = (
    ("extensions", "extension"), ("trunks", "trunk"), ("dial-rules", "dial rule"),
    ("dial-permissions", "dial permission"), ("pin-sets", "PIN set"))


def _api_error(exc: ConfigError) -> ApiError:
    return ApiError(getattr(exc, "api_status", exc.status), exc.message, exc.field)


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


def _routes_of(segment: str, kind: Kind, spec: ListSpec) -> list[Route]:
    base = f"/api/v1/{segment}"
    item = base + "/{" + kind.key + "}"
    rname = "api_" + segment.replace("-", "_")
    create, patch, row, page = schemas.MODELS[kind.name]
    tags = [segment]

    def route(method: str, path: str, handler, name: str, action: str, summary: str,
              **models: Any) -> Route:
        return Route(method, path, handler, name, roles=roles_of(segment, action), api=True,
                     openapi={"summary": summary, "tags": tags}, **models)

    return [
        route("GET", base, _list_handler(kind, spec), rname, "list",
              f"List {kind.name}s (paginated: items, total)",
              query=schemas.query_of(kind.name, spec), responses={200: page}),
        route("POST", base, _create_handler(kind), rname + "_create", "create",
              f"Add a {kind.name}", body=create, responses={201: row, 409: Error}),
        route("GET", item, _item_handler(kind, "GET"), rname + "_item", "get",
              f"One {kind.name}", responses={200: row, 404: Error}),
        route("PATCH", item, _item_handler(kind, "PATCH"), rname + "_patch", "patch",
              f"Change a {kind.name} (only the fields sent)", body=patch,
              responses={200: row, 404: Error, 409: Error}),
        route("DELETE", item, _item_handler(kind, "DELETE"), rname + "_delete", "delete",
              f"Delete a {kind.name} (409 when something uses it)",
              responses={204: None, 404: Error, 409: Error}),
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


def routes() -> list[Route]:
    out: list[Route] = []
    for segment, kind_name in RESOURCES:
        out += _routes_of(segment, svc.KINDS[kind_name], LIST_SPECS[kind_name])
    out.append(Route("POST", "/api/v1/extensions/bulk", api_bulk_add, "api_extensions_bulk",
                     roles=roles_of("extensions", "create"), api=True,
                     body=schemas.BulkAdd, responses={201: schemas.BulkAdded, 409: Error},
                     openapi={
                         "summary": "Add extensions in bulk: numbers from start, caller IDs "
                                    "one more each or the same (all or none; 409 when one "
                                    "exists)", "tags": ["extensions"]}))
    return out

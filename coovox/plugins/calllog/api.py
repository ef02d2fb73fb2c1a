"""JSON API of the call log: ``/api/v1/calls`` (+ CSV/XLSX export) and ``/api/v1/calls/live``
(the queries are in :mod:`coovox.plugins.calllog.queries`)."""

from __future__ import annotations

from aiohttp import web

from coovox.exports import check_format
from coovox.hooktypes import ADMIN, BILLING, OPERATOR, Route
from coovox.plugins.calllog.export import export_calls
from coovox.plugins.calllog.queries import (
    CALL_LIST,
    STATUSES,
    filtered_calls,
    live_calls,
    rows_with_fields,
)
from coovox.storage import prepared
from coovox.web.keys import COOVOX_KEY
from coovox.web.pagination import prepare_and_count


async def api_calls(request: web.Request) -> web.StreamResponse:
    coovox = request.app[COOVOX_KEY]
    fmt = check_format(request.query.get("format"))
    lq = CALL_LIST.parse(request.query, strict=True)
    base = filtered_calls(request.query, coovox.config.timezone)
    if fmt is None:
        page = await CALL_LIST.fetch(base, lq, strict=True)
        items = await rows_with_fields(coovox, page.items)
        return web.json_response({"items": items, "total": page.total, "page": page.page,
                                  "per_page": page.per_page,
                                  **({"total_estimated": True} if page.estimated else {})})
    with prepared.collecting() as found:
        qs = CALL_LIST.order(CALL_LIST.filter(base, lq, strict=True), lq)
    await prepare_and_count(found)  # lets a keyword choose its plan once for every chunk
    return await export_calls(request, coovox, fmt, qs, CALL_LIST.sortable[lq.sort], lq.desc)


async def api_live(request: web.Request) -> web.Response:
    items = await live_calls(request.app[COOVOX_KEY])
    return web.json_response({"items": items, "total": len(items)})


_FILTER_PARAMS = [
    {"name": "from", "in": "query", "schema": {"type": "string"},
     "description": "start: YYYY-MM-DD (PBX time zone) or ISO 8601 time"},
    {"name": "to", "in": "query", "schema": {"type": "string"},
     "description": "end: YYYY-MM-DD (whole day included) or ISO 8601 time"},
    {"name": "keyword", "in": "query", "schema": {"type": "string"},
     "description": "extension number or name, or number dialled (contains)"},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
    {"name": "trunk", "in": "query", "schema": {"type": "string"}},
    {"name": "pin", "in": "query", "schema": {"type": "string"}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "xlsx"]},
     "description": "download ALL matching rows instead of one JSON page"},
]


def routes() -> list[Route]:
    return [
        Route("GET", "/api/v1/calls", api_calls, "api_calls", roles=(ADMIN, BILLING, OPERATOR),
              api=True,
              openapi={"summary": "The call log, newest first", "tags": ["calls"],
                       "parameters": _FILTER_PARAMS}),
        Route("GET", "/api/v1/calls/live", api_live, "api_calls_live", roles=(ADMIN, OPERATOR),
              api=True, openapi={"summary": "Calls in progress with running talk time",
                                 "tags": ["calls"]}),
    ]

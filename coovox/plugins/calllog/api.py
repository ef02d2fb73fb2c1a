"""JSON API of the call log: ``/api/v1/calls`` (+ CSV/XLSX export) and ``/api/v1/calls/live``
(the queries are in :mod:`coovox.plugins.calllog.queries`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

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
from coovox.web.schema import DAY, ApiModel, Downloadable, Listing, PageQuery


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


INSTANT = (DAY[:-1] + r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
           r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])?)?$")
Instant = Annotated[str, Field(max_length=40, pattern=INSTANT,
                               examples=["2026-01-28", "2026-01-28T08:00:00+08:00"])]


class CallsQuery(PageQuery):
    from_: Instant | None = Field(None, alias="from", description="start: YYYY-MM-DD (PBX "
                                  "time zone) or an ISO 8601 time")
    to: Instant | None = Field(None, description="end: YYYY-MM-DD (whole day included) or "
                               "an ISO 8601 time")
    keyword: str | None = Field(None, max_length=64, description="extension number or name, "
                                "or number dialled (contains)")
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    trunk: str | None = Field(None, max_length=64)
    pin: str | None = Field(None, max_length=64)
    sort: Literal["started_at", "-started_at"] | None = None
    format: Literal["csv", "xlsx"] | None = Field(
        None, description="download ALL matching rows instead of one JSON page")


class CallList(Listing[dict[str, Any]]):
    pass


class LiveCalls(ApiModel):
    items: list[dict[str, Any]]
    total: int


def routes() -> list[Route]:
    return [
        Route("GET", "/api/v1/calls", api_calls, "api_calls", roles=(ADMIN, BILLING, OPERATOR),
              api=True, query=CallsQuery, responses={200: Downloadable(CallList)},
              openapi={"summary": "The call log, newest first", "tags": ["calls"]}),
        Route("GET", "/api/v1/calls/live", api_live, "api_calls_live", roles=(ADMIN, OPERATOR),
              api=True, responses={200: LiveCalls},
              openapi={"summary": "Calls in progress with running talk time",
                       "tags": ["calls"]}),
    ]

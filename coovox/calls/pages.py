"""Administrator pages of the outbound configuration, call log and live calls (routes, menu)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from coovox.calls import pages_bulk, pages_calls, pages_config, pages_csv
from coovox.calls.pages_config import SPECS, PageSpec
from coovox.hooktypes import ADMIN, OPERATOR, MenuItem, Route

OUTBOUND = "Outbound"
REPORTS = "Reports"


def _bound(fn: Callable[[web.Request, PageSpec], Awaitable[web.StreamResponse]],
           spec: PageSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await fn(request, spec)
    handler.__name__ = f"{fn.__name__}_{spec.route}"
    handler.__doc__ = fn.__doc__
    return handler


def routes() -> list[Route]:
    admin = (ADMIN,)
    staff = (ADMIN, OPERATOR)  # the operator: extensions (no delete, no import), call log,
    # live calls (no hang-up)
    out = [
        Route("GET", "/calls/extensions/export.csv", pages_csv.export_csv,
              "calls_extensions_export", roles=staff),
        Route("POST", "/calls/extensions/import", pages_csv.import_csv,
              "calls_extensions_import", roles=admin, max_body=20 * 1024 * 1024),
        Route("GET", "/calls/extensions/bulk", pages_bulk.bulk_form, "calls_extensions_bulk",
              roles=staff),
        Route("POST", "/calls/extensions/bulk", pages_bulk.bulk_post,
              "calls_extensions_bulk_post", roles=staff),
        Route("GET", "/calls/log", pages_calls.call_log_page, "calls_log", roles=staff),
        Route("GET", "/calls/live", pages_calls.live_page, "calls_live", roles=staff),
        Route("GET", "/calls/live/events", pages_calls.live_events, "calls_live_events",
              roles=staff),
        Route("POST", "/calls/live/{id}/hangup", pages_calls.live_hangup, "calls_live_hangup",
              roles=admin),
    ]
    for spec in SPECS:
        base = f"/calls/{spec.segment}"
        who = staff if spec.segment == "extensions" else admin
        out += [
            Route("GET", base, _bound(pages_config.list_page, spec), spec.route, roles=who),
            Route("GET", base + "/new", _bound(pages_config.new_form, spec),
                  spec.route + "_new", roles=who),
            Route("POST", base + "/new", _bound(pages_config.create, spec),
                  spec.route + "_create", roles=who),
            Route("GET", base + "/{key}/edit", _bound(pages_config.edit_form, spec),
                  spec.route + "_edit", roles=who),
            Route("POST", base + "/{key}/edit", _bound(pages_config.update, spec),
                  spec.route + "_update", roles=who),
            Route("POST", base + "/{key}/delete", _bound(pages_config.delete, spec),
                  spec.route + "_delete", roles=admin),
        ]
    return out


def menu_items() -> list[MenuItem]:
    items = [MenuItem(spec.title, spec.route,
                      roles=(ADMIN, OPERATOR) if spec.segment == "extensions" else (ADMIN,),
                      section=OUTBOUND, order=10 + i * 10) for i, spec in enumerate(SPECS)]
    items += [
        MenuItem("Call log", "calls_log", roles=(ADMIN, OPERATOR), section=REPORTS, order=10),
        MenuItem("Live calls", "calls_live", roles=(ADMIN, OPERATOR), section=REPORTS,
                 order=20),
    ]
    return items

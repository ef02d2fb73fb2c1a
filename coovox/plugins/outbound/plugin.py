"""The built-in ``outbound`` plugin: extensions, trunks, dial rules, permissions, PIN sets
(wiring only: routes, menu, templates, translations)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ADMIN, OPERATOR, MenuItem, Route
from coovox.plugins.outbound import api, pages, pages_bulk, pages_csv
from coovox.plugins.outbound.pages import SPECS, PageSpec

HERE = Path(__file__).parent
OUTBOUND = "Outbound"


def _bound(fn: Callable[[web.Request, PageSpec], Awaitable[web.StreamResponse]],
           spec: PageSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await fn(request, spec)
    handler.__name__ = f"{fn.__name__}_{spec.route}"
    handler.__doc__ = fn.__doc__
    return handler


def page_routes() -> list[Route]:
    """The administrator pages (the operator: extensions, no delete, no import)."""
    admin = (ADMIN,)
    staff = (ADMIN, OPERATOR)
    out = [
        Route("GET", "/calls/extensions/export.csv", pages_csv.export_csv,
              "calls_extensions_export", roles=staff),
        Route("POST", "/calls/extensions/import", pages_csv.import_csv,
              "calls_extensions_import", roles=admin, max_body=20 * 1024 * 1024),
        Route("GET", "/calls/extensions/bulk", pages_bulk.bulk_form, "calls_extensions_bulk",
              roles=staff),
        Route("POST", "/calls/extensions/bulk", pages_bulk.bulk_post,
              "calls_extensions_bulk_post", roles=staff),
    ]
    for spec in SPECS:
        base = f"/calls/{spec.segment}"
        who = staff if spec.segment == "extensions" else admin
        out += [
            Route("GET", base, _bound(pages.list_page, spec), spec.route, roles=who),
            Route("GET", base + "/new", _bound(pages.new_form, spec),
                  spec.route + "_new", roles=who),
            Route("POST", base + "/new", _bound(pages.create, spec),
                  spec.route + "_create", roles=who),
            Route("GET", base + "/{key}/edit", _bound(pages.edit_form, spec),
                  spec.route + "_edit", roles=who),
            Route("POST", base + "/{key}/edit", _bound(pages.update, spec),
                  spec.route + "_update", roles=who),
            Route("POST", base + "/{key}/delete", _bound(pages.delete, spec),
                  spec.route + "_delete", roles=admin),
        ]
    return out


@hookimpl
async def coovox_startup(coovox) -> None:
    from coovox.plugins.outbound import services

    await services.ensure_defaults()  # the default dial permission DialPlan1


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return [*api.routes(), *page_routes()]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [MenuItem(spec.title, spec.route,
                     roles=(ADMIN, OPERATOR) if spec.segment == "extensions" else (ADMIN,),
                     section=OUTBOUND, order=10 + i * 10) for i, spec in enumerate(SPECS)]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]

"""The built-in ``calllog`` plugin: the call log, its exports and live calls (wiring only)."""

from __future__ import annotations

from pathlib import Path

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ADMIN, OPERATOR, MenuItem, Route, StaticDir
from coovox.plugins.calllog import api, pages

HERE = Path(__file__).parent
REPORTS = "Reports"


def page_routes() -> list[Route]:
    staff = (ADMIN, OPERATOR)  # the operator: call log, live calls (no hang-up)
    return [
        Route("GET", "/calls/log", pages.call_log_page, "calls_log", roles=staff),
        Route("GET", "/calls/live", pages.live_page, "calls_live", roles=staff),
        Route("GET", "/calls/live/events", pages.live_events, "calls_live_events",
              roles=staff),
        Route("POST", "/calls/live/{id}/hangup", pages.live_hangup, "calls_live_hangup",
              roles=(ADMIN,)),
    ]


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return [*page_routes(), *api.routes()]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [
        MenuItem("Call log", "calls_log", roles=(ADMIN, OPERATOR), section=REPORTS, order=10),
        MenuItem("Live calls", "calls_live", roles=(ADMIN, OPERATOR), section=REPORTS,
                 order=20),
    ]


@hookimpl
def coovox_static_dirs() -> list[StaticDir]:
    return [StaticDir("calls", HERE / "static")]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]

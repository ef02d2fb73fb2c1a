"""The built-in ``calls`` plugin: outbound configuration, call control, call log (wiring)."""

from __future__ import annotations

from pathlib import Path

from coovox.calls import config_api, pages
from coovox.hookspecs import hookimpl
from coovox.hooktypes import MenuItem, ModelSpec, Route

HERE = Path(__file__).parent


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("calls", "coovox.calls.models", "coovox.calls.migrations")


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return [*config_api.routes(), *pages.routes()]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [*pages.menu_items()]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]

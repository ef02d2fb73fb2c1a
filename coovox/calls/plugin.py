"""The built-in ``calls`` plugin: outbound configuration, call control, call log (wiring)."""

from __future__ import annotations

from pathlib import Path

from coovox.calls import config_api, log_api, pages
from coovox.hookspecs import hookimpl
from coovox.hooktypes import MenuItem, ModelSpec, Route, StaticDir

HERE = Path(__file__).parent


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("calls", "coovox.calls.models", "coovox.calls.migrations")


@hookimpl
async def coovox_startup(coovox) -> None:
    from coovox.calls import config_services
    from coovox.calls.stasis import CallController

    await config_services.ensure_defaults()  # the default dial permission DialPlan1
    controller = CallController(coovox)
    coovox.services["calls"] = controller
    coovox.services["ari"] = controller.ari
    coovox.services["ari_status"] = controller.status
    # calls are taken once every plugin has started (returns at once; connects in the
    # background)
    coovox.when_started(controller.start)


@hookimpl
async def coovox_shutdown(coovox) -> None:
    controller = coovox.services.pop("calls", None)
    if controller is not None:
        await controller.stop()


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return [*config_api.routes(), *pages.routes(), *log_api.routes()]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [*pages.menu_items()]


@hookimpl
def coovox_static_dirs() -> list[StaticDir]:
    return [StaticDir("calls", HERE / "static")]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]


@hookimpl
def coovox_cli_commands(subparsers) -> None:
    from coovox.calls import simulate

    simulate.add_command(subparsers)

"""The built-in ``calls`` plugin: call control through ARI and the call record (wiring only).

It owns the Tortoise app ``calls`` (the call record and, for the table names and migration
history, the outbound configuration models of :mod:`coovox.plugins.outbound.models`).
"""

from __future__ import annotations

from pathlib import Path

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ModelSpec

HERE = Path(__file__).parent


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("calls", "coovox.plugins.calls.models", "coovox.plugins.calls.migrations")


@hookimpl
async def coovox_startup(coovox) -> None:
    from coovox.plugins.calls.stasis import CallController

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
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]


@hookimpl
def coovox_cli_commands(subparsers) -> None:
    from coovox.plugins.calls import simulate

    simulate.add_command(subparsers)

"""Low balance: a webhook when a balance falls below a threshold, also during a call.

The threshold is set per extension or for all of them.

Wiring only: the work is in ``services.py`` and ``views.py``.
"""

from __future__ import annotations

from pathlib import Path

from coovox.api import ADMIN, Coovox, Event, MenuItem, ModelSpec, Route, hookimpl
from coovox_low_balance import services, views

HERE = Path(__file__).parent
SERVICE = "low_balance"  # key in coovox.services


@hookimpl
def coovox_models(coovox: Coovox) -> ModelSpec:
    return ModelSpec("low_balance", "coovox_low_balance.models", "coovox_low_balance.migrations")


@hookimpl
def coovox_startup(coovox: Coovox) -> None:
    coovox.services[SERVICE] = services.Watcher(lambda: coovox.services.get("billing"),
                                                coovox.now)


@hookimpl
async def coovox_shutdown(coovox: Coovox) -> None:
    watcher = coovox.services.pop(SERVICE, None)
    if watcher is not None:
        await watcher.drain()


@hookimpl
async def coovox_event(coovox: Coovox, event: Event) -> None:
    watcher = coovox.services.get(SERVICE)
    if watcher is not None:
        await watcher.hear(event)


@hookimpl
def coovox_routes(coovox: Coovox) -> list[Route]:
    return views.routes()


@hookimpl
def coovox_menu_items(coovox: Coovox) -> list[MenuItem]:
    return [MenuItem("Low Balance", "low_balance_page", roles=(ADMIN,), section="Addons",
                     order=65)]


@hookimpl
def coovox_template_dirs(coovox: Coovox) -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs(coovox: Coovox) -> list[Path]:
    return [HERE / "locale"]

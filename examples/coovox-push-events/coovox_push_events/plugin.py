"""Push events (PBX manual §6.1.2): POST call events as JSON to a configured URL.

Wiring only: the work is in ``services.py`` and ``views.py``.
"""

from __future__ import annotations

from pathlib import Path

from coovox.api import ADMIN, MenuItem, ModelSpec, Route, hookimpl
from coovox_push_events import services, views

HERE = Path(__file__).parent
SERVICE = "push_events"  # key in coovox.services


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("push_events", "coovox_push_events.models", "coovox_push_events.migrations")


@hookimpl
def coovox_startup(coovox) -> None:
    coovox.services[SERVICE] = services.Pusher(coovox.now)


@hookimpl
async def coovox_shutdown(coovox) -> None:
    pusher = coovox.services.pop(SERVICE, None)
    if pusher is not None:
        await pusher.drain()


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    return views.routes()


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [MenuItem("Push Events", "push_events_settings", roles=(ADMIN,), section="Addons",
                     order=60)]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]


@hookimpl
def coovox_call_answered(coovox, call, resumed: bool) -> None:
    pusher = coovox.services.get(SERVICE)
    if pusher is not None and not resumed:
        pusher.submit(services.call_answered_event(call, coovox.now()))


@hookimpl
def coovox_call_ended(coovox, record) -> None:
    pusher = coovox.services.get(SERVICE)
    if pusher is not None:
        pusher.submit(services.call_end_event(record, coovox.now()))

"""Push events (PBX manual §6.1.2): POST call events as JSON to a configured URL.

Wiring only: the work is in ``services.py`` and ``views.py``.
"""

from __future__ import annotations

from pathlib import Path

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ADMIN, MenuItem, ModelSpec, Route
from coovox_push_events import services, views

HERE = Path(__file__).parent
SERVICE = "push_events"  # key in coovox.services


class _Running:
    """The running CooVox and its pusher (hooks on the call path receive no context)."""

    coovox = None
    pusher: services.Pusher | None = None


RUNNING = _Running()


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("push_events", "coovox_push_events.models", "coovox_push_events.migrations")


@hookimpl
def coovox_startup(coovox) -> None:
    RUNNING.coovox = coovox
    RUNNING.pusher = services.Pusher(coovox.now)
    coovox.services[SERVICE] = RUNNING.pusher


@hookimpl
async def coovox_shutdown(coovox) -> None:
    pusher, RUNNING.pusher = RUNNING.pusher, None
    coovox.services.pop(SERVICE, None)
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
def coovox_call_answered(call, control, decision, resumed: bool) -> None:
    if RUNNING.pusher is not None and not resumed:
        RUNNING.pusher.submit(services.call_answered_event(call, RUNNING.coovox.now()))


@hookimpl
def coovox_call_ended(call, record) -> None:
    if RUNNING.pusher is not None:
        RUNNING.pusher.submit(services.call_end_event(record, RUNNING.coovox.now()))

"""Prometheus metrics at /metrics, fed by CooVox's events.

Wiring only: the metrics are in ``metrics.py``, the page and the endpoint in ``views.py``.
"""

from __future__ import annotations

from pathlib import Path

from coovox.api import ADMIN, Coovox, Event, MenuItem, Route, hookimpl
from coovox_prometheus import views
from coovox_prometheus.metrics import Metrics

HERE = Path(__file__).parent
SERVICE = "prometheus"  # key in coovox.services


@hookimpl
async def coovox_startup(coovox: Coovox) -> None:
    metrics = Metrics(coovox)
    coovox.services[SERVICE] = metrics
    metrics.start()


@hookimpl
async def coovox_shutdown(coovox: Coovox) -> None:
    metrics = coovox.services.pop(SERVICE, None)
    if metrics is not None:
        await metrics.stop()


@hookimpl
def coovox_event(coovox: Coovox, event: Event) -> None:
    metrics = coovox.services.get(SERVICE)
    if metrics is not None:
        metrics.hear(event)


@hookimpl
def coovox_routes(coovox: Coovox) -> list[Route]:
    return views.routes()


@hookimpl
def coovox_menu_items(coovox: Coovox) -> list[MenuItem]:
    return [MenuItem("Metrics", "prometheus_page", roles=(ADMIN,), section="Addons",
                     order=70)]


@hookimpl
def coovox_template_dirs(coovox: Coovox) -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs(coovox: Coovox) -> list[Path]:
    return [HERE / "locale"]

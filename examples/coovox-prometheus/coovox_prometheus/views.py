"""``GET /metrics`` (Prometheus' text format) and the Addons → Metrics page."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from coovox.api import ADMIN, COOVOX_KEY, ApiError, Route

SERVICE = "prometheus"
SCRAPE_CONFIG = """scrape_configs:
  - job_name: coovox_pbx
    metrics_path: /metrics
    authorization:
      credentials: "<API_TOKEN>"
    static_configs:
      - targets: ["%s"]"""


def _metrics(request: web.Request):
    metrics = request.app[COOVOX_KEY].services.get(SERVICE)
    if metrics is None:
        raise ApiError(503, "the metrics are not started yet")
    return metrics


async def metrics_text(request: web.Request) -> web.Response:
    """The scrape endpoint: administrators, with a session or an API token."""
    body = _metrics(request).text()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def metrics_page(request: web.Request) -> web.Response:
    """The metrics as a table, and how to point Prometheus at them."""
    metrics = request.app[COOVOX_KEY].services.get(SERVICE)
    rows = []
    if metrics is not None:
        for family in text_string_to_metric_families(metrics.text().decode()):
            for sample in family.samples:
                labels = ", ".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                rows.append((sample.name, labels, sample.value, family.documentation))
    return aiohttp_jinja2.render_template("prometheus/page.html", request, {
        "rows": rows, "scrape_config": SCRAPE_CONFIG % request.host})


def routes() -> list[Route]:
    return [
        Route("GET", "/metrics", metrics_text, "prometheus_metrics", roles=(ADMIN,), api=True,
              openapi={"summary": "Metrics in Prometheus' text format",
                       "tags": ["prometheus"]}),
        Route("GET", "/addons/prometheus", metrics_page, "prometheus_page", roles=(ADMIN,)),
    ]

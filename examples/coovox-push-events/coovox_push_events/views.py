"""Addons → Push Events: the settings page and its JSON API (administrators)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from coovox.api import ApiError, Route, read_json, safe_url
from coovox.api import gettext as _
from coovox_push_events import services

PAGE = "/addons/push-events"
LABELS = {"enabled": "Push", "url": "URL", "events": "Events"}  # the manual's field names


async def _render(request: web.Request, settings: services.PushSettings, *, status: int = 200,
                  error: str = "", error_field: str = "") -> web.Response:
    context = {
        "settings": settings,
        "events": services.EVENTS,
        "failures": await services.recent_failures(),
        "saved": request.query.get("saved") == "1",
        "error": error,
        "error_field": error_field,
        "safe_url": safe_url,
    }
    return aiohttp_jinja2.render_template("push_events/settings.html", request, context,
                                          status=status)


async def settings_page(request: web.Request) -> web.Response:
    return await _render(request, await services.load_settings())


async def settings_save(request: web.Request) -> web.Response:
    form = await request.post()
    data = {"enabled": form.get("enabled", ""), "url": str(form.get("url", "")),
            "events": [str(e) for e in form.getall("events", [])]}
    try:
        settings = services.validate(data)
    except services.SettingsError as exc:
        shown = services.PushSettings(data["enabled"] in ("1", "on"), data["url"],
                                      tuple(e for e in data["events"] if e in services.EVENTS))
        return await _render(request, shown, status=400, error_field=exc.field,
                             error=f"{_(LABELS[exc.field])}: {_(str(exc))}")
    await services.save_settings(settings)
    raise web.HTTPFound(PAGE + "?saved=1")


def _failure_json(f: Any) -> dict[str, Any]:
    return {"id": f.id, "at": f.at.isoformat(), "event": f.event, "call_id": f.call_id,
            "url": f.url, "attempts": f.attempts, "error": f.error}


async def api_settings(request: web.Request) -> web.Response:
    return web.json_response((await services.load_settings()).as_dict())


async def api_settings_put(request: web.Request) -> web.Response:
    data = await read_json(request)
    try:
        settings = services.validate(data)
    except services.SettingsError as exc:
        raise ApiError(400, str(exc), exc.field) from None
    await services.save_settings(settings)
    return web.json_response(settings.as_dict())


async def api_failures(request: web.Request) -> web.Response:
    items = [_failure_json(f) for f in await services.recent_failures(100)]
    return web.json_response({"items": items, "total": len(items)})


URL = "^(|https?://[A-Za-z0-9.-]*[A-Za-z0-9][A-Za-z0-9.-]*(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/[!-~]*)?)$"
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "description": "push on/off"},
        "url": {"type": "string", "maxLength": 500, "pattern": URL,
                "description": "http(s) URL; empty: nothing is pushed"},
        "events": {"type": "array", "items": {"type": "string", "enum": list(services.EVENTS)}},
    },
}


def routes() -> list[Route]:
    tags = ["push-events"]
    return [
        Route("GET", PAGE, settings_page, "push_events_settings"),
        Route("POST", PAGE, settings_save, "push_events_settings_post"),
        Route("GET", "/api/v1/push-events/settings", api_settings, "push_events_api_settings",
              api=True, openapi={"summary": "Push event settings", "tags": tags}),
        Route("PUT", "/api/v1/push-events/settings", api_settings_put,
              "push_events_api_settings_put", api=True,
              openapi={"summary": "Change the push event settings", "tags": tags,
                       "requestBody": {"required": True, "content": {
                           "application/json": {"schema": SETTINGS_SCHEMA}}}}),
        Route("GET", "/api/v1/push-events/failures", api_failures, "push_events_api_failures",
              api=True, openapi={"summary": "Recent failed deliveries (newest first)",
                                 "tags": tags}),
    ]

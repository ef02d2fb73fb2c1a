"""Addons → Low Balance: settings and deliveries (page and JSON API, administrators)."""

from __future__ import annotations

from typing import Annotated

import aiohttp_jinja2
from aiohttp import web
from pydantic import Field

from coovox.api import COOVOX_KEY, ApiError, ApiModel, Route, read_json, safe_url, translate
from coovox_low_balance import services

PAGE = "/addons/low-balance"
SERVICE = "low_balance"
LABELS = {"url": "Webhook address", "threshold": "Threshold",
          "per_extension": "Thresholds of single extensions"}  # field names on the page


def _forget(request: web.Request) -> None:
    watcher = request.app[COOVOX_KEY].services.get(SERVICE)
    if watcher is not None:
        watcher.forget_settings()


async def _render(request: web.Request, settings: services.Settings, *, status: int = 200,
                  error: str = "", error_field: str = "", form: dict | None = None
                  ) -> web.Response:
    lines = "\n".join(f"{k} = {v}" for k, v in sorted(settings.per_extension.items()))
    return aiohttp_jinja2.render_template("low_balance/page.html", request, {
        "settings": settings, "per_extension": (form or {}).get("per_extension", lines),
        "deliveries": await services.recent_deliveries(), "safe_url": safe_url,
        "saved": request.query.get("saved") == "1", "error": error,
        "error_field": error_field}, status=status)


async def page(request: web.Request) -> web.Response:
    return await _render(request, await services.load_settings())


async def page_save(request: web.Request) -> web.Response:
    form = await request.post()
    data = {k: str(form.get(k, "")) for k in ("url", "threshold", "per_extension")}
    try:
        settings = services.parse_settings(data)
    except services.SettingsError as exc:
        return await _render(request, await services.load_settings(), status=400,
                             error=translate(exc.message, LABELS), error_field=exc.field, form=data)
    await services.save_settings(settings)
    _forget(request)
    raise web.HTTPFound(f"{PAGE}?saved=1")


async def api_get(request: web.Request) -> web.Response:
    return web.json_response((await services.load_settings()).as_dict())


async def api_put(request: web.Request) -> web.Response:
    try:
        settings = services.parse_settings(await read_json(request))
    except services.SettingsError as exc:
        raise ApiError(400, str(exc.message), exc.field) from None
    await services.save_settings(settings)
    _forget(request)
    return web.json_response(settings.as_dict())


async def api_deliveries(request: web.Request) -> web.Response:
    rows = await services.recent_deliveries()
    return web.json_response({"items": [
        {"id": r.id, "at": r.at.isoformat(), "extension": r.extension, "balance": r.balance,
         "threshold": r.threshold, "trigger": r.trigger, "url": safe_url(r.url),
         "status": r.status, "attempts": r.attempts, "error": r.error} for r in rows],
        "total": len(rows)})


URL = "^(|https?://[A-Za-z0-9.-]*[A-Za-z0-9][A-Za-z0-9.-]*(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(/[!-~]*)?)$"
Amount = Annotated[str, Field(pattern=r"^-?[0-9]{1,10}(\.[0-9]{1,4})?$")] | Annotated[
    int, Field(ge=-9_999_999_999, le=9_999_999_999)]


class SettingsBody(ApiModel):
    """What ``PUT /api/v1/low-balance/settings`` accepts (checked before the handler)."""

    url: str = Field("", max_length=500, pattern=URL,
                     description="http(s) address of the webhook; empty: none")
    threshold: Amount | None = Field(None, description="alert below this balance")
    per_extension: dict[Annotated[str, Field(pattern=r"^[0-9A-Za-z*#+_-]{1,32}$")], Amount] = \
        Field({}, description="an extension's own threshold",
              json_schema_extra={"additionalProperties": False})


def routes() -> list[Route]:
    tags = ["low-balance"]
    return [
        Route("GET", PAGE, page, "low_balance_page"),
        Route("POST", PAGE, page_save, "low_balance_page_post"),
        Route("GET", "/api/v1/low-balance/settings", api_get, "low_balance_settings",
              api=True, openapi={"summary": "Low-balance webhook settings", "tags": tags}),
        Route("PUT", "/api/v1/low-balance/settings", api_put, "low_balance_settings_put",
              api=True, body=SettingsBody, responses={200: None}, openapi={"summary": "Change the low-balance webhook settings",
                                 "tags": tags}),
        Route("GET", "/api/v1/low-balance/deliveries", api_deliveries,
              "low_balance_deliveries", api=True,
              openapi={"summary": "The latest low-balance webhooks", "tags": tags}),
    ]

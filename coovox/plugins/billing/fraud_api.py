"""The fraud guard's JSON API (``/api/v1/billing/fraud...``), administrators only."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coovox.hooktypes import ADMIN, Route
from coovox.plugins.billing import fraud
from coovox.plugins.billing import schemas as s
from coovox.plugins.billing.api import TAGS, api_errors, now, tz_of, who
from coovox.web.errors import read_json
from coovox.web.schema import Error

ROLES = (ADMIN,)


async def _trips(request: web.Request) -> dict[str, Any]:
    rows, total = await fraud.open_trips()
    return {"items": [fraud.trip_json(r, tz_of(request)) for r in rows], "total": total}


@api_errors
async def get_guard(request: web.Request) -> web.Response:
    return web.json_response({**await fraud.settings_json(),
                              "extensions": await fraud.overrides(),
                              "trips": await _trips(request)})


@api_errors
async def patch_guard(request: web.Request) -> web.Response:
    return web.json_response(await fraud.update_global(await read_json(request)))


@api_errors
async def put_extension(request: web.Request) -> web.Response:
    return web.json_response(await fraud.set_extension(request.match_info["extension"],
                                                       await read_json(request)))


@api_errors
async def delete_extension(request: web.Request) -> web.Response:
    ext = request.match_info["extension"]
    await fraud.remove_extension(ext)
    return web.json_response({"extension": ext, "limits": {}})


@api_errors
async def list_trips(request: web.Request) -> web.Response:
    return web.json_response(await _trips(request))


@api_errors
async def post_unlock(request: web.Request) -> web.Response:
    ext = request.match_info["extension"]
    cleared = await fraud.unlock(ext, who(request), now(request))
    return web.json_response({"extension": ext, "status": "unlocked", "cleared": cleared})


def routes() -> list[Route]:
    base = "/api/v1/billing/fraud"

    def r(method: str, path: str, handler, name: str, summary: str, **models: Any) -> Route:
        return Route(method, base + path, handler, name, roles=ROLES, api=True,
                     openapi={"summary": summary, "tags": TAGS}, **models)

    return [
        r("GET", "", get_guard, "api_billing_fraud",
          "The fraud guard: on/off, default limits, extensions' own limits, open trips",
          responses={200: s.GuardState}),
        r("PATCH", "", patch_guard, "api_billing_fraud_patch",
          "Switch the fraud guard (guard) and change default limits", body=s.GuardPatch,
          responses={200: s.Guard}),
        r("PUT", "/extensions/{extension}", put_extension, "api_billing_fraud_extension",
          "Set an extension's own limits (the keys given; the rest follow the defaults)",
          body=s.Limits, responses={200: s.ExtensionLimits, 404: Error}),
        r("DELETE", "/extensions/{extension}", delete_extension,
          "api_billing_fraud_extension_delete", "The extension follows the defaults again",
          responses={200: s.ExtensionLimits, 404: Error}),
        r("GET", "/trips", list_trips, "api_billing_fraud_trips",
          "Trips not cleared yet (newest first)", responses={200: s.TripList}),
        r("POST", "/extensions/{extension}/unlock", post_unlock, "api_billing_fraud_unlock",
          "Unlock an extension the guard stopped and clear its trips",
          responses={200: s.Unlocked, 404: Error}),
    ]

"""The built-in ``licensing`` plugin (wiring only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ADMIN, MenuItem, Route, Subparsers
from coovox.plugins.licensing.reset import add_command
from coovox.plugins.licensing.services import Licensing
from coovox.plugins.licensing.store import LicenceStore
from coovox.plugins.licensing.views import FeatureState, LicensingViews
from coovox.web.schema import Error

HERE = Path(__file__).parent
SERVICE_KEY = "licensing"


def service_for(coovox: Any) -> Licensing:
    """The licensing service of ``coovox`` (made once, published in ``coovox.services``)."""
    service = coovox.services.get(SERVICE_KEY)
    if service is None:
        store = LicenceStore(coovox.config.licence_path)
        service = Licensing(store, coovox.now, coovox.config.licence_public_keys)
        service.on_change = lambda feature: coovox.publish(
            "licence.changed", SERVICE_KEY, feature=feature,
            usable=bool(service.status(feature)["usable"]))
        coovox.services[SERVICE_KEY] = service
    return service


def _service(coovox: Any) -> Licensing | None:
    """The started service of this CooVox (None before start-up or after shut-down)."""
    return coovox.services.get(SERVICE_KEY) if coovox is not None else None


@hookimpl
def coovox_startup(coovox) -> None:
    service_for(coovox).start()


@hookimpl
def coovox_shutdown(coovox) -> None:
    coovox.services.pop(SERVICE_KEY, None)


@hookimpl
def coovox_feature_licence(coovox, feature: str) -> dict[str, Any] | None:
    service = _service(coovox)
    return service.status(feature) if service else None


@hookimpl
def coovox_feature_activate(coovox, feature: str, active: bool) -> str | None:
    service = _service(coovox)
    if service is None:
        return "licensing is not started" if active else None
    return service.activate(feature, active)


@hookimpl
def coovox_sign_in_refusal(coovox, username: str, role: str) -> str | None:
    service = _service(coovox)
    return service.sign_in_refusal(role) if service else None


@hookimpl
def coovox_cli_commands(subparsers: Subparsers) -> None:
    add_command(subparsers)


# a licence file is at most 64 KiB (signing.MAX_LICENCE_BYTES); room for the form around it
UPLOAD_MAX_BODY = 80 * 1024


@hookimpl
def coovox_routes(coovox) -> list[Route]:
    v = LicensingViews(service_for(coovox))
    base = "/api/v1/licensing/features/{feature}"
    tags = ["licensing"]
    request_file = {"description": "the licence request file (a download)", "content": {
        "application/json": {"schema": {"type": "object"}}}}
    return [
        Route("GET", base, v.api_feature, "api_licensing_feature", roles=(ADMIN,), api=True,
              responses={200: FeatureState, 404: Error},
              openapi={"summary": "Licence state of a feature (trial, expiry, device)",
                       "tags": tags}),
        Route("GET", base + "/request", v.api_request, "api_licensing_request", roles=(ADMIN,),
              api=True, responses={200: request_file, 404: Error},
              openapi={"summary": "Download the licence request file (billing.ac)",
                       "tags": tags}),
        Route("PUT", base + "/licence", v.api_upload, "api_licensing_licence", roles=(ADMIN,),
              api=True, max_body=UPLOAD_MAX_BODY, responses={200: FeatureState, 404: Error},
              openapi={
                  "summary": "Upload a licence file; 400 names the failed check",
                  "tags": tags,
                  "requestBody": {"required": True, "content": {
                      "application/octet-stream": {"schema": {"type": "string",
                                                              "format": "binary"}}}}}),
        Route("GET", "/licensing/{feature}/request", v.page_request, "licensing_request",
              roles=(ADMIN,)),
        Route("POST", "/licensing/{feature}/licence", v.page_upload, "licensing_upload",
              roles=(ADMIN,), max_body=UPLOAD_MAX_BODY),
        Route("GET", "/addons/licensing", v.page_addons, "licensing_addons", roles=(ADMIN,)),
    ]


@hookimpl
def coovox_menu_items() -> list[MenuItem]:
    return [MenuItem("Licensing", "licensing_addons", section="Addons", order=90)]


@hookimpl
def coovox_template_dirs() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def coovox_locale_dirs() -> list[Path]:
    return [HERE / "locale"]

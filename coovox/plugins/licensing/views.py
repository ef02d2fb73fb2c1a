"""HTTP handlers of the licensing plugin: feature state, request file, licence upload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from yarl import URL

from coovox.plugins.licensing import signing
from coovox.plugins.licensing.services import Licensing, valid_feature
from coovox.plugins.licensing.store import StoreError
from coovox.web.errors import ApiError
from coovox.web.i18n import gettext as _
from coovox.web.schema import ApiModel


class FeatureState(ApiModel):
    """A feature's licence state (trial, expiry, device...; times ISO 8601)."""


def json_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state dict with times as ISO 8601 strings."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in state.items()}


def _feature(request: web.Request, *, api: bool) -> str:
    feature = request.match_info["feature"]
    if not valid_feature(feature):
        if api:
            raise ApiError(404, f"no feature named {feature!r}", "feature")
        raise web.HTTPNotFound()
    return feature


def _safe_next(value: str | None, default: str) -> str:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return default


class LicensingViews:
    """Handlers bound to one :class:`Licensing` service."""

    def __init__(self, service: Licensing):
        self.service = service

    def _request_response(self, feature: str) -> web.Response:
        return web.Response(
            body=self.service.request_file(feature), content_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{feature}.ac"'})

    # --- API -------------------------------------------------------------------------------

    async def api_feature(self, request: web.Request) -> web.Response:
        return web.json_response(json_state(self.service.status(_feature(request, api=True))))

    async def api_request(self, request: web.Request) -> web.Response:
        return self._request_response(_feature(request, api=True))

    async def api_upload(self, request: web.Request) -> web.Response:
        feature = _feature(request, api=True)
        if request.content_length and request.content_length > signing.MAX_LICENCE_BYTES:
            raise ApiError(400, "malformed licence file: larger than 64 KiB", "licence",
                           code=signing.MALFORMED)
        data = await request.read()
        if not data.strip():
            raise ApiError(400, "the body must be the licence file; it was empty", "licence")
        try:
            state = self.service.install_licence(feature, data)
        except signing.LicenceError as exc:
            raise ApiError(400, str(exc), "licence", code=exc.check) from None
        except StoreError as exc:
            raise ApiError(500, str(exc), code="store") from None
        return web.json_response(json_state(state))

    # --- pages -----------------------------------------------------------------------------

    async def page_request(self, request: web.Request) -> web.Response:
        return self._request_response(_feature(request, api=False))

    async def page_upload(self, request: web.Request) -> web.Response:
        feature = _feature(request, api=False)
        form = await request.post()
        target = _safe_next(str(form.get("next", "")), "/addons/licensing")
        upload = form.get("licence")
        result = "accepted"
        if not hasattr(upload, "file"):
            result = "missing"
        else:
            data = upload.file.read(signing.MAX_LICENCE_BYTES + 1)  # type: ignore[union-attr]
            try:
                self.service.install_licence(feature, data)
            except signing.LicenceError as exc:
                result = exc.check
            except StoreError:
                result = "store"
        location = URL(target).update_query(licence=result, feature=feature)
        raise web.HTTPFound(str(location))

    async def page_addons(self, request: web.Request) -> web.Response:
        features = [(f, self.service.status(f)) for f in self.service.features()]
        return aiohttp_jinja2.render_template(
            "licensing/addons.html", request,
            {"features": features, "title": _("Licensing")})


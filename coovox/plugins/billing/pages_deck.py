"""Rate deck pages (billing users and administrators): deck list, lookup, one deck with
its versions, import with a preview (dry run) before applying, export."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from coovox.hooktypes import BILLING, Route
from coovox.messages import Msg
from coovox.plugins.billing import deck_services
from coovox.plugins.billing.api import now, tz_of, who
from coovox.plugins.billing.deck_api import MAX_FILE, meter
from coovox.plugins.billing.pages import back, flash, form_data, render
from coovox.plugins.billing.validation import BillingError, flag
from coovox.plugins.outbound.models import Extension
from coovox.web.i18n import error_text
from coovox.web.i18n import gettext as _
from coovox.web.keys import COOVOX_KEY

ROLES = (BILLING,)
UPLOAD_AGE = 3600  # seconds an uploaded file waits for "Apply" after its preview
TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _uploads(request: web.Request) -> Path:
    path = Path(request.app[COOVOX_KEY].config.data_dir) / "deck-uploads"
    path.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - UPLOAD_AGE
    for old in path.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass
    return path


async def _extensions() -> list[dict[str, Any]]:
    return await Extension.all().order_by("number").values("number", "name")


async def decks_page(request: web.Request, ctx: dict[str, Any] | None = None,
                     status: int = 200) -> web.Response:
    q = request.query
    lookup: dict[str, Any] | None = None
    lookup_error = ""
    if q.get("extension") or q.get("dialed"):
        try:
            lookup = await deck_services.lookup(meter(request), q.get("extension", ""),
                                                q.get("dialed", ""), now(request))
        except BillingError as exc:
            lookup_error = error_text(exc.message, exc.field)
    return await render(request, "billing/decks.html", {
        "decks": await deck_services.list_decks(now(request), tz_of(request)),
        "extensions": await _extensions(), "lookup": lookup, "lookup_error": lookup_error,
        "q": {"extension": q.get("extension", ""), "dialed": q.get("dialed", "")},
        "form": {"name": "", "extensions": "all"}, "error": "", **(ctx or {})}, status)


def _deck_input(data: dict[str, Any]) -> dict[str, Any]:
    out = {"name": data.get("name", ""), "remark": data.get("remark", "")}
    out["extensions"] = "all" if data.get("all_extensions") else (data.get("extensions") or [])
    if "active" in data or "name" in data:
        out["active"] = data.get("active", "off")
    return out


async def deck_create(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    fields = _deck_input(data)
    fields["active"] = "on"
    try:
        deck = await deck_services.create_deck(fields)
    except BillingError as exc:
        return await decks_page(request, {"form": fields,
                                          "error": error_text(exc.message, exc.field)}, 400)
    await flash(request, "ok", _("Rate deck saved."))
    raise web.HTTPSeeOther(str(request.app.router["billing_deck"].url_for(id=str(deck.id))))


async def deck_page(request: web.Request, ctx: dict[str, Any] | None = None,
                    status: int = 200) -> web.Response:
    try:
        deck = await deck_services.deck_detail(request.match_info["id"], now(request),
                                               tz_of(request))
    except BillingError:
        raise web.HTTPNotFound() from None
    versions = await deck_services.versions(deck["id"], now(request), tz_of(request))
    return await render(request, "billing/deck.html", {
        "deck": deck, "versions": versions, "extensions": await _extensions(),
        "layouts": deck_services.deck_import.LAYOUTS, "preview": None, "error": "",
        "import_form": {"layout": "coovox", "effective_from": ""}, **(ctx or {})}, status)


async def deck_save(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    try:
        await deck_services.update_deck(request.match_info["id"], _deck_input(data))
    except BillingError as exc:
        if exc.status == 404:
            raise web.HTTPNotFound() from None
        await flash(request, "error", error_text(exc.message, exc.field))
    else:
        await flash(request, "ok", _("Rate deck saved."))
    raise web.HTTPSeeOther(str(request.app.router["billing_deck"].url_for(
        id=request.match_info["id"])))


async def deck_delete(request: web.Request) -> web.StreamResponse:
    try:
        await deck_services.delete_deck(request.match_info["id"])
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message))
    else:
        await flash(request, "ok", _("Rate deck deleted."))
    raise back(request, "billing_decks")


async def deck_import(request: web.Request) -> web.StreamResponse:
    """Preview (a dry run of the uploaded file, kept for "Apply") or apply a preview."""
    deck_id = request.match_info["id"]
    form = await request.post()
    layout = str(form.get("layout") or "coovox")
    effective = str(form.get("effective_from") or "")
    token = str(form.get("token") or "")
    uploads = _uploads(request)
    ctx: dict[str, Any] = {"import_form": {"layout": layout, "effective_from": effective}}
    apply = False
    try:
        apply = flag(str(form.get("apply") or "false"), "apply")
        if token:
            if not set(token) <= TOKEN_CHARS or len(token) > 80:
                raise BillingError(Msg("the preview expired: upload the file again"), "file")
            matches = list(uploads.glob(token + ".*"))
            if not matches:
                raise BillingError(Msg("the preview expired: upload the file again"), "file")
            path = matches[0]
            kind = path.suffix[1:]
            name = str(form.get("filename") or "")[:255]
        else:
            upload = form.get("file")
            if not hasattr(upload, "file") or not getattr(upload, "filename", ""):
                raise BillingError(Msg("choose a file to import"), "file")
            kind = deck_services.file_kind(upload.filename, upload.content_type)
            token = secrets.token_urlsafe(16)
            path = uploads / f"{token}.{kind}"
            with open(path, "wb") as out:
                shutil.copyfileobj(upload.file, out, 65536)
            name = upload.filename[:255]
        result = await deck_services.import_file(
            deck_id, path, kind, layout=layout, apply=apply, effective_from=effective,
            tz=tz_of(request), now=now(request), by=who(request), source=name)
    except BillingError as exc:
        if exc.status == 404:
            raise web.HTTPNotFound() from None
        ctx["error"] = error_text(exc.message, exc.field)
        return await deck_page(request, ctx, 400)
    if apply:
        path.unlink(missing_ok=True)
        await flash(request, "ok", _("Imported %(n)s rates: version %(v)s.",
                                     n=result["rows"], v=result["version"]))
        raise web.HTTPSeeOther(str(request.app.router["billing_deck"].url_for(id=deck_id)))
    ctx.update(preview=result, token=token, filename=name)
    return await deck_page(request, ctx)


def routes() -> list[Route]:
    def r(method: str, path: str, handler, name: str, **kw: Any) -> Route:
        return Route(method, path, handler, name, roles=ROLES, **kw)

    return [
        r("GET", "/billing/decks", decks_page, "billing_decks"),
        r("POST", "/billing/decks", deck_create, "billing_deck_create"),
        r("GET", "/billing/decks/{id:\\d+}", deck_page, "billing_deck"),
        r("POST", "/billing/decks/{id:\\d+}", deck_save, "billing_deck_save"),
        r("POST", "/billing/decks/{id:\\d+}/delete", deck_delete, "billing_deck_delete"),
        r("POST", "/billing/decks/{id:\\d+}/import", deck_import, "billing_deck_import",
          max_body=MAX_FILE),
    ]

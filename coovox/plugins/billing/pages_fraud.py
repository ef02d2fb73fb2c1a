"""Addons → Billing → Fraud guard (administrators): the switch and default limits, each
extension's own limits, the trips not cleared, and one click to unlock."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coovox.hooktypes import ADMIN, MenuItem, Route
from coovox.plugins.billing import fraud
from coovox.plugins.billing import fraud_rules as rules
from coovox.plugins.billing.api import now, tz_of, who
from coovox.plugins.billing.pages import flash, form_data, pop_flashes
from coovox.plugins.billing.validation import BillingError
from coovox.plugins.outbound.pages import DAYS
from coovox.web.i18n import error_text
from coovox.web.i18n import gettext as _

ROLES = (ADMIN,)
TEXT_KEYS = ("calls_per_hour", "concurrent_calls", "spend_hour", "spend_day",
             "blocked_prefixes", "allowed_prefixes", "international_prefixes",
             "trip_attempts", "trip_minutes", "action")
ZERO_WHEN_EMPTY = ("calls_per_hour", "concurrent_calls", "trip_attempts")
BACK = {"home": "home", "fraud": "billing_fraud"}


def limits_of_form(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The form's fields as the API's limits (pure).  ``partial`` (an extension's own
    limits): an empty field or "default" choice follows the defaults (left out); in the
    defaults an empty count is 0 and an empty spend or list none (no limit)."""
    out: dict[str, Any] = {}
    for key in TEXT_KEYS:
        value = data.get(key, "")
        value = value[-1] if isinstance(value, list) else value
        if str(value).strip() == "":
            if partial or key in ("trip_minutes", "action"):
                continue  # the default's (or the present) value
            value = 0 if key in ZERO_WHEN_EMPTY else ""
        out[key] = value
    allow = data.get("allow_mode", "")
    if not partial:
        out["allow_mode"] = allow or "off"
    elif allow in ("on", "off"):
        out["allow_mode"] = allow
    days = data.get("office_days") or []
    days = days if isinstance(days, list) else [days]
    start, end = str(data.get("office_start") or ""), str(data.get("office_end") or "")
    if data.get("office_on"):
        out["office_hours"] = {"days": [int(d) if str(d).isdigit() else d for d in days],
                               "start": start[:5], "end": end[:5]}
    elif not partial:
        out["office_hours"] = None
    return out


async def fraud_page(request: web.Request) -> web.Response:
    import aiohttp_jinja2

    rows, total = await fraud.open_trips()
    settings = await fraud.settings_json()
    return aiohttp_jinja2.render_template("billing/fraud.html", request, {
        "guard": settings["guard"], "d": settings["defaults"],
        "extensions": sorted((await fraud.overrides()).items()),
        "trips": [fraud.trip_json(r, tz_of(request)) for r in rows], "trips_total": total,
        "actions": rules.ACTIONS, "action_labels": rules.ACTION_LABELS,
        "labels": rules.LABELS, "days": DAYS, "flashes": await pop_flashes(request)})


async def _saved(request: web.Request, work) -> web.HTTPSeeOther:
    try:
        await work()
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message, exc.field))
    else:
        await flash(request, "ok", _("Settings saved."))
    return web.HTTPSeeOther(str(request.app.router["billing_fraud"].url_for()))


async def fraud_post(request: web.Request) -> web.StreamResponse:
    data = await _form(request)
    body = {"guard": data.get("guard", "off"), **limits_of_form(data, partial=False)}
    raise await _saved(request, lambda: fraud.update_global(body))


async def extension_post(request: web.Request) -> web.StreamResponse:
    data = await _form(request)
    raise await _saved(request, lambda: fraud.set_extension(
        data.get("extension", ""), limits_of_form(data, partial=True)))


async def extension_remove(request: web.Request) -> web.StreamResponse:
    data = await _form(request)
    raise await _saved(request, lambda: fraud.remove_extension(data.get("extension", "")))


async def unlock_post(request: web.Request) -> web.StreamResponse:
    data = await _form(request)
    back = BACK.get(str(data.get("back") or ""), "billing_fraud")
    ext = data.get("extension", "")
    try:
        await fraud.unlock(ext, who(request), now(request))
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message, exc.field))
    else:  # (the overview shows no messages: its list of trips says it)
        if back == "billing_fraud":
            await flash(request, "ok", _("Extension %(extension)s unlocked.", extension=ext))
    raise web.HTTPSeeOther(str(request.app.router[back].url_for()))


async def _form(request: web.Request) -> dict[str, Any]:
    data = await form_data(request)
    form = await request.post()
    data["office_days"] = form.getall("office_days", [])
    return data


def routes() -> list[Route]:
    def r(method: str, path: str, handler, name: str) -> Route:
        return Route(method, path, handler, name, roles=ROLES)

    return [
        r("GET", "/addons/billing/fraud", fraud_page, "billing_fraud"),
        r("POST", "/addons/billing/fraud", fraud_post, "billing_fraud_post"),
        r("POST", "/addons/billing/fraud/extension", extension_post, "billing_fraud_extension"),
        r("POST", "/addons/billing/fraud/extension/remove", extension_remove,
          "billing_fraud_extension_remove"),
        r("POST", "/addons/billing/fraud/unlock", unlock_post, "billing_fraud_unlock"),
    ]


def menu_items() -> list[MenuItem]:
    return [MenuItem("Fraud guard", "billing_fraud", roles=ROLES, section="Addons", order=11)]

"""Billing user pages: Extensions, Rate, Recharge History, Call Log, Statistics, Settings."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from coovox.exports import check_format, export_response
from coovox.hooktypes import BILLING, MenuItem, Route
from coovox.plugins.billing import notify, reports, services
from coovox.plugins.billing.api import (
    CALL_COLUMNS,
    PAGING,
    RECHARGE_COLUMNS,
    STATS_COLUMNS,
    now,
    tz_of,
    who,
)
from coovox.plugins.billing.models import Rate
from coovox.plugins.billing.validation import CURRENCIES, BillingError, BillingErrors
from coovox.plugins.outbound.models import Extension
from coovox.web.errors import ApiError
from coovox.web.formats import MAX_DECIMALS, currency_decimals
from coovox.web.i18n import error_text
from coovox.web.i18n import gettext as _
from coovox.web.keys import COOVOX_KEY
from coovox.web.pagination import Page

ROLES = (BILLING,)
FLASH = "billing_flash"


async def flash(request: web.Request, kind: str, text: str) -> None:
    session = await get_session(request)
    session[FLASH] = [*session.get(FLASH, []), [kind, text]]


async def pop_flashes(request: web.Request) -> list[list[str]]:
    session = await get_session(request)
    return session.pop(FLASH, [])


async def render(request: web.Request, template: str, ctx: dict[str, Any],
                 status: int = 200) -> web.Response:
    settings = await services.get_settings()
    base = {"flashes": await pop_flashes(request), "currency": settings["currency_symbol"],
            "billing_settings": settings, "decimals": settings["money_decimals"],
            "banners": [] if settings["active"] else [("warn", "billing-off", _(
                "Billing is switched off: calls go out without being billed or refused for "
                "money. Balances, rates and history are kept. An administrator switches it "
                "on in Addons → Billing → Settings."))]}
    return aiohttp_jinja2.render_template(template, request, {**base, **ctx}, status=status)


def back(request: web.Request, name: str, query: str = "") -> web.HTTPSeeOther:
    url = str(request.app.router[name].url_for())
    return web.HTTPSeeOther(url + (("?" + query) if query else ""))


async def form_data(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    data: dict[str, Any] = {}
    for key in set(form.keys()):
        values = form.getall(key)
        data[key] = values if key in ("extensions", "apply") else values[-1]
    return data


def _lenient(request: web.Request):
    from coovox.plugins.billing.api import group_query

    lq = PAGING.parse(group_query(request.query))
    return lq, dict(lq.filters)


def page_of(items: list[Any], total: int, lq, request: web.Request) -> Page:
    return Page(items, total, lq, path=request.path)


async def fetch_page(lq, fetch) -> tuple[list[Any], int]:
    """``fetch(offset, limit)`` for the page asked; a page past the end (``?page=999``)
    is the last page, as on every other list."""
    items, total = await fetch(lq.offset, lq.per_page)
    last = max(1, -(-total // lq.per_page))
    if lq.page > last:
        lq.page = last
        items, total = await fetch(lq.offset, lq.per_page)
    return items, total


# --- extensions ------------------------------------------------------------------------------


async def extensions_page(request: web.Request, error: str = "", status: int = 200):
    lq, filters = _lenient(request)
    try:
        items, total = await fetch_page(
            lq, lambda o, n: services.list_accounts(filters, o, n))
    except BillingError as exc:
        lq.errors[exc.field or "number"] = exc.message
        items, total = await fetch_page(lq, lambda o, n: services.list_accounts({}, o, n))
    return await render(request, "billing/extensions.html", {
        "page": page_of(items, total, lq, request), "error": error}, status)


async def _apply(request: web.Request, action) -> web.StreamResponse:
    data = await form_data(request)
    try:
        text = await action(data)
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message, exc.field))
    else:
        await flash(request, "ok", text)
    raise back(request, "billing_extensions", str(data.get("back_query") or ""))


async def recharge_post(request: web.Request) -> web.StreamResponse:
    async def action(data: dict[str, Any]) -> str:
        exts = data.get("extensions") or []
        rows = await services.recharge(exts, data.get("amount", ""), who(request), now(request))
        notify.balances_moved(request.app[COOVOX_KEY], rows)
        return _("Recharged %(n)s extension(s).", n=len(rows))
    return await _apply(request, action)


async def correction_post(request: web.Request) -> web.StreamResponse:
    async def action(data: dict[str, Any]) -> str:
        row = await services.correct(str(data.get("extension", "")), data.get("amount", ""),
                                     str(data.get("reason", "")), who(request), now(request))
        notify.balances_moved(request.app[COOVOX_KEY], [row])
        return _("Correction saved.")
    return await _apply(request, action)


async def edit_post(request: web.Request) -> web.StreamResponse:
    async def action(data: dict[str, Any]) -> str:
        ext = str(data.get("extension", ""))
        fields = {k: data.get(k) for k in ("credit", "status", "payment_type")}
        fields["enabled"] = data.get("enabled", "off")
        await services.update_accounts([ext], services.account_changes(fields))
        return _("Saved extension %(ext)s.", ext=ext)
    return await _apply(request, action)


async def bulk_post(request: web.Request) -> web.StreamResponse:
    async def action(data: dict[str, Any]) -> str:
        exts = data.get("extensions") or []
        fields = {k: v for k, v in data.items()
                  if k in ("enabled", "credit", "status", "payment_type", "apply")}
        fields.setdefault("apply", [])
        n = await services.update_accounts(exts, services.bulk_changes(fields))
        return _("Saved %(n)s extension(s).", n=n)
    return await _apply(request, action)


# --- rates -----------------------------------------------------------------------------------


async def rates_page(request: web.Request) -> web.Response:
    lq, _f = _lenient(request)
    qs = Rate.all().order_by("id")

    async def fetch(offset: int, limit: int) -> tuple[list[Any], int]:
        rows = [services.rate_json(r) for r in await qs.offset(offset).limit(limit)]
        return rows, await qs.count()

    rows, total = await fetch_page(lq, fetch)
    return await render(request, "billing/rates.html",
                        {"page": page_of(rows, total, lq, request)})


async def _rate_form(request: web.Request, rate: dict[str, Any],
                     errors: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    """The rate form; ``errors`` (field -> message) are ALL shown, each at its input."""
    exts = await Extension.all().order_by("number").values("number", "name")
    return await render(request, "billing/rate_form.html", {
        "rate": rate, "errors": errors or {}, "extensions": exts}, status)


DEFAULT_RATE = {"id": None, "active": True, "remark": "", "prefix": "", "length": 0,
                "initial_cost": "0.0000", "initial_time": 0, "rate": "", "unit": 60,
                "start_time": "00:00:00", "end_time": "00:00:00", "extensions": []}


async def rate_new(request: web.Request) -> web.Response:
    return await _rate_form(request, dict(DEFAULT_RATE))


async def rate_edit(request: web.Request) -> web.Response:
    try:
        rate = await services.get_rate(request.match_info["id"])
    except BillingError:
        raise web.HTTPNotFound() from None
    return await _rate_form(request, services.rate_json(rate))


def _rate_input(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: data.get(k, "") for k in ("remark", "prefix", "length", "initial_cost",
                                        "initial_time", "rate", "unit", "start_time",
                                        "end_time")}
    out["active"] = data.get("active", "off")
    out["extensions"] = "all" if data.get("all_extensions") else (data.get("extensions") or [])
    return out


async def rate_save(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    rid = request.match_info.get("id")
    fields = _rate_input(data)
    try:
        if rid:
            await services.update_rate(rid, fields)
        else:
            await services.create_rate(fields)
    except BillingError as exc:
        if exc.status == 404:
            raise web.HTTPNotFound() from None
        shown = {**DEFAULT_RATE, **fields, "id": rid}
        errors = exc.errors if isinstance(exc, BillingErrors) else {
            exc.field or "_form": exc.message}
        return await _rate_form(request, shown, errors, 400)
    await flash(request, "ok", _("Rate saved."))
    raise back(request, "billing_rates")


async def rate_delete(request: web.Request) -> web.StreamResponse:
    try:
        await services.delete_rate(request.match_info["id"])
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message))
    else:
        await flash(request, "ok", _("Rate deleted."))
    raise back(request, "billing_rates")


async def rate_toggle(request: web.Request) -> web.StreamResponse:
    try:
        rate = await services.get_rate(request.match_info["id"])
        await services.update_rate(rate.id, {"active": not rate.active})
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message))
    raise back(request, "billing_rates")


# --- reports ---------------------------------------------------------------------------------


async def _report(request: web.Request, template: str, basename: str, columns, fetch,
                  chunks, extra=None) -> web.StreamResponse:
    lq, filters = _lenient(request)
    try:
        fmt = check_format(request.query.get("format"))
    except ApiError as exc:
        raise web.HTTPBadRequest(text=exc.message) from None
    try:
        if fmt:
            await fetch(filters, 0, 1)  # validates the filters before streaming
            return await export_response(request, fmt, basename, columns, chunks(filters))
        items, total = await fetch_page(lq, lambda o, n: fetch(filters, o, n))
    except BillingError as exc:
        lq.errors[exc.field or "from"] = exc.message
        filters = {}
        items, total = [], 0
    more = await extra(items) if extra is not None else {}
    return await render(request, template, {"page": page_of(items, total, lq, request), **more})


async def recharges_page(request: web.Request) -> web.StreamResponse:
    tz = tz_of(request)
    return await _report(
        request, "billing/recharges.html", "recharges", RECHARGE_COLUMNS,
        lambda f, o, n: reports.recharges(f, tz, o, n),
        lambda f: reports.recharge_chunks(f, tz))


async def calls_page(request: web.Request) -> web.StreamResponse:
    tz = tz_of(request)
    return await _report(
        request, "billing/calls.html", "calls", CALL_COLUMNS,
        lambda f, o, n: reports.call_log(f, tz, o, n), lambda f: reports.call_chunks(f, tz))


async def statistics_page(request: web.Request) -> web.StreamResponse:
    async def charts(items: list[dict[str, Any]]) -> dict[str, Any]:
        decimals = (await services.get_settings())["money_decimals"]
        return {"charts": reports.statistics_charts(items, decimals),
                "group_choices": await reports.group_choices()}

    return await _report(request, "billing/statistics.html", "statistics", STATS_COLUMNS,
                         reports.statistics, reports.statistics_chunks, charts)


# --- settings --------------------------------------------------------------------------------


async def settings_page(request: web.Request) -> web.Response:
    settings = await services.get_settings()
    decimals = {code: currency_decimals(code, settings["decimals"]) for code in CURRENCIES}
    return await render(request, "billing/settings.html", {
        "currencies": CURRENCIES, "max_decimals": MAX_DECIMALS, "decimals_of": decimals})


async def settings_post(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    fields: dict[str, Any] = {"currency": data.get("currency", "")}
    if "warning_seconds" in data:
        fields["warning_seconds"] = data["warning_seconds"]
    if "debit_interval" in data:
        fields["debit_interval"] = data["debit_interval"]
    fields["block_unrated"] = data.get("block_unrated", "off")
    # the decimals shown were those of "decimals_for": they apply only to that currency
    # (a changed currency keeps its own, unless the page's script showed its own)
    if "decimals" in data and data.get("decimals_for", fields["currency"]) == fields["currency"]:
        fields["decimals"] = data["decimals"]
    try:
        await services.update_settings(fields)
    except BillingError as exc:
        await flash(request, "error", error_text(exc.message, exc.field))
    else:
        notify.settings_saved(request.app[COOVOX_KEY], fields, who(request))
        await flash(request, "ok", _("Settings saved."))
    raise back(request, "billing_settings")


def routes() -> list[Route]:
    def r(method: str, path: str, handler, name: str) -> Route:
        return Route(method, path, handler, name, roles=ROLES)

    return [
        r("GET", "/billing/extensions", extensions_page, "billing_extensions"),
        r("POST", "/billing/extensions/recharge", recharge_post, "billing_recharge"),
        r("POST", "/billing/extensions/correction", correction_post, "billing_correction"),
        r("POST", "/billing/extensions/edit", edit_post, "billing_edit"),
        r("POST", "/billing/extensions/bulk-edit", bulk_post, "billing_bulk_edit"),
        r("GET", "/billing/rates", rates_page, "billing_rates"),
        r("GET", "/billing/rates/new", rate_new, "billing_rate_new"),
        r("POST", "/billing/rates/new", rate_save, "billing_rate_create"),
        r("GET", "/billing/rates/{id:\\d+}", rate_edit, "billing_rate_edit"),
        r("POST", "/billing/rates/{id:\\d+}", rate_save, "billing_rate_save"),
        r("POST", "/billing/rates/{id:\\d+}/delete", rate_delete, "billing_rate_delete"),
        r("POST", "/billing/rates/{id:\\d+}/toggle", rate_toggle, "billing_rate_toggle"),
        r("GET", "/billing/recharges", recharges_page, "billing_recharges"),
        r("GET", "/billing/calls", calls_page, "billing_calls"),
        r("GET", "/billing/statistics", statistics_page, "billing_statistics"),
        r("GET", "/billing/settings", settings_page, "billing_settings"),
        r("POST", "/billing/settings", settings_post, "billing_settings_post"),
    ]


def menu_items() -> list[MenuItem]:
    items = [("Extensions", "billing_extensions"), ("Rate", "billing_rates"),
             ("Recharge History", "billing_recharges"), ("Call Log", "billing_calls"),
             ("Statistics", "billing_statistics"), ("Settings", "billing_settings")]
    return [MenuItem(label, route, roles=ROLES, section="Billing", order=10 + i)
            for i, (label, route) in enumerate(items)]

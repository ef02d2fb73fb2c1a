"""The billing JSON API (``/api/v1/billing/...``, api.md), roles billing and admin."""

from __future__ import annotations

import functools
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from coovox.exports import MONEY, NUMBER, TIME, WORD, Column, check_format, export_response
from coovox.hooktypes import BILLING, Route
from coovox.messages import Field, Msg
from coovox.plugins.billing import notify, reports, services
from coovox.plugins.billing import schemas as s
from coovox.plugins.billing.validation import BillingError
from coovox.web.errors import ApiError, read_json
from coovox.web.keys import COOVOX_KEY
from coovox.web.pagination import ListSpec
from coovox.web.schema import ID_PARAMETER, Downloadable, Error
from coovox.web.security import current_user

ROLES = (BILLING,)
TAGS = ["billing"]
PAGING = ListSpec(sortable={"default": "pk"}, default_sort="default",
                  filters={k: (lambda qs, v: qs) for k in (
                      "number", "status", "payment_type", "enabled", "from", "to", "keyword",
                      "extension", "extensions", "by", "type")})


def group_query(query: Any) -> Any:
    """The query with the repeated ``extensions`` (a multi-select sends one per choice)
    joined into one comma-separated value: ``extensions=100,101``."""
    from multidict import MultiDict

    chosen = [v for v in query.getall("extensions", []) if v.strip()]
    if len(chosen) < 2:
        return query
    out = MultiDict((k, v) for k, v in query.items() if k != "extensions")
    out["extensions"] = ",".join(chosen)
    return out

CALL_COLUMNS = [Column("started_at", "Start Time", TIME), Column("caller", "Call From"),
                Column("dialed", "Call To"), Column("talk", "Duration"),
                Column("talk_time", "Talk time (s)", NUMBER), Column("trunk", "Trunk Name"),
                Column("cost", "Cost", MONEY), Column("status", "Status", WORD),
                Column("reason", "Reason", WORD)]
RECHARGE_COLUMNS = [Column("at", "Time", TIME), Column("who", "Extension"),
                    Column("pre_balance", "Pre-balance", MONEY),
                    Column("amount", "Recharge Amount", MONEY),
                    Column("post_balance", "Post-balance", MONEY), Column("by", "By"),
                    Column("reason", "Reason"), Column("type", "Type", WORD)]
STATS_COLUMNS = [Column("period", "Date"), Column("extension", "Extension"),
                 Column("calls", "Calls", NUMBER), Column("talk", "Total Call Time"),
                 Column("average", "Average Call Time"), Column("cost", "Total Cost", MONEY)]


def api_errors(handler):
    """Turn BillingError into the api.md error shape."""
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BillingError as exc:
            raise ApiError(exc.api_status, exc.message, exc.field) from None
    return wrapped


def tz_of(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[COOVOX_KEY].config.timezone)


def who(request: web.Request) -> str:
    user = current_user(request)
    return user.username if user else ""


def now(request: web.Request):
    return request.app[COOVOX_KEY].now()


def _page(request: web.Request):
    lq = PAGING.parse(group_query(request.query), strict=True)
    return lq, dict(lq.filters)


def listing(items: list[dict[str, Any]], total: int, lq) -> web.Response:
    return web.json_response({"items": items, "total": total, "page": lq.page,
                              "per_page": lq.per_page})


# --- settings --------------------------------------------------------------------------------


@api_errors
async def get_settings(request: web.Request) -> web.Response:
    return web.json_response(await services.get_settings())


@api_errors
async def patch_settings(request: web.Request) -> web.Response:
    data = await read_json(request)
    coovox = request.app[COOVOX_KEY]
    if "active" in data and current_user(request).role != "admin":
        raise ApiError(403, "only an administrator may activate or deactivate billing", "active")
    settings = await services.update_settings(data, coovox.plugins)
    notify.settings_saved(coovox, data, who(request))
    return web.json_response(settings)


# --- accounts --------------------------------------------------------------------------------


@api_errors
async def list_accounts(request: web.Request) -> web.Response:
    lq, filters = _page(request)
    items, total = await services.list_accounts(filters, lq.offset, lq.per_page)
    return listing(items, total, lq)


@api_errors
async def get_account(request: web.Request) -> web.Response:
    return web.json_response(await services.get_account(request.match_info["extension"]))


@api_errors
async def patch_account(request: web.Request) -> web.Response:
    ext = request.match_info["extension"]
    changes = services.account_changes(await read_json(request))
    await services.get_account(ext)
    await services.update_accounts([ext], changes)
    return web.json_response(await services.get_account(ext))


@api_errors
async def bulk_edit(request: web.Request) -> web.Response:
    data = await read_json(request)
    exts = data.get("extensions")
    if not isinstance(exts, list) or not exts:
        raise BillingError(Msg("%(field)s must be a non-empty list", field=Field("extensions")),
                           "extensions")
    fields = {k: v for k, v in data.items() if k != "extensions"}
    changed = await services.update_accounts([str(e) for e in exts],
                                             services.bulk_changes(fields))
    return web.json_response({"updated": changed})


# --- recharges -------------------------------------------------------------------------------


@api_errors
async def list_recharges(request: web.Request) -> web.StreamResponse:
    fmt = check_format(request.query.get("format"))
    lq, filters = _page(request)
    if fmt:
        reports.day_range(filters, tz_of(request))  # validate before streaming
        return await export_response(request, fmt, "recharges", RECHARGE_COLUMNS,
                                     reports.recharge_chunks(filters, tz_of(request)))
    items, total = await reports.recharges(filters, tz_of(request), lq.offset, lq.per_page)
    return listing(items, total, lq)


@api_errors
async def post_recharge(request: web.Request) -> web.Response:
    data = await read_json(request)
    if "amount" not in data:
        raise BillingError(Msg("%(field)s is required", field=Field("amount")), "amount")
    exts = data.get("extensions")
    if exts is None and "extension" in data:
        exts = [data["extension"]]
    rows = await services.recharge(exts if exts is not None else [], data["amount"],
                                   who(request), now(request))
    notify.balances_moved(request.app[COOVOX_KEY], rows)
    return web.json_response({"items": rows, "total": len(rows)}, status=201)


@api_errors
async def post_correction(request: web.Request) -> web.Response:
    data = await read_json(request)
    row = await services.correct(str(data.get("extension") or ""), data.get("amount"),
                                 str(data.get("reason") or ""), who(request), now(request))
    notify.balances_moved(request.app[COOVOX_KEY], [row])
    return web.json_response(row, status=201)


# --- rates -----------------------------------------------------------------------------------


@api_errors
async def list_rates(request: web.Request) -> web.Response:
    from coovox.plugins.billing.models import Rate

    lq, _ = _page(request)
    qs = Rate.all().order_by("id")
    total = await qs.count()
    rows = await qs.offset(lq.offset).limit(lq.per_page)
    return listing([services.rate_json(r) for r in rows], total, lq)


@api_errors
async def post_rate(request: web.Request) -> web.Response:
    rate = await services.create_rate(await read_json(request))
    return web.json_response(services.rate_json(rate), status=201)


@api_errors
async def get_rate(request: web.Request) -> web.Response:
    return web.json_response(services.rate_json(await services.get_rate(request.match_info["id"])))


@api_errors
async def patch_rate(request: web.Request) -> web.Response:
    rate = await services.update_rate(request.match_info["id"], await read_json(request))
    return web.json_response(services.rate_json(rate))


@api_errors
async def delete_rate(request: web.Request) -> web.Response:
    await services.delete_rate(request.match_info["id"])
    return web.Response(status=204)


# --- reports ---------------------------------------------------------------------------------


@api_errors
async def statistics(request: web.Request) -> web.StreamResponse:
    fmt = check_format(request.query.get("format"))
    lq, filters = _page(request)
    reports.StatsQuery.parse(filters)
    if fmt:
        return await export_response(request, fmt, "statistics", STATS_COLUMNS,
                                     reports.statistics_chunks(filters))
    items, total = await reports.statistics(filters, lq.offset, lq.per_page)
    return listing(items, total, lq)


@api_errors
async def calls(request: web.Request) -> web.StreamResponse:
    fmt = check_format(request.query.get("format"))
    lq, filters = _page(request)
    reports.call_query(filters, tz_of(request))
    if fmt:
        return await export_response(request, fmt, "calls", CALL_COLUMNS,
                                     reports.call_chunks(filters, tz_of(request)))
    items, total = await reports.call_log(filters, tz_of(request), lq.offset, lq.per_page)
    return listing(items, total, lq)


# --- routes ----------------------------------------------------------------------------------


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def routes() -> list[Route]:
    base = "/api/v1/billing"

    def r(method: str, path: str, handler, name: str, summary: str,
          parameters: list | None = None, **models: Any) -> Route:
        doc = {"summary": summary, "tags": TAGS} | ({"parameters": parameters} if parameters
                                                    else {})
        return Route(method, base + path, handler, name, roles=ROLES, api=True, openapi=doc,
                     **models)

    account = {200: s.Account, 404: Error}
    return [
        r("GET", "/settings", get_settings, "api_billing_settings", "Billing settings",
          responses={200: s.Settings}),
        r("PATCH", "/settings", patch_settings, "api_billing_settings_patch",
          "Change billing settings (active, currency, block_unrated, warning_seconds, "
          "debit_interval, "
          "decimals)", body=s.SettingsPatch, responses={200: s.Settings, 403: Error,
                                                       409: Error}),
        r("GET", "/accounts", list_accounts, "api_billing_accounts",
          "Billing accounts of all extensions", query=s.AccountsQuery,
          responses={200: s.AccountList}),
        r("POST", "/accounts:bulk-edit", bulk_edit, "api_billing_bulk_edit",
          "Set the given fields on many accounts (all or none; 409: a balance would go "
          "below -credit)", body=s.BulkEdit, responses={200: s.Updated, 404: Error,
                                                        409: Error}),
        r("GET", "/accounts/{extension}", get_account, "api_billing_account",
          "One extension's account", responses=account),
        r("PATCH", "/accounts/{extension}", patch_account, "api_billing_account_patch",
          "Edit one extension's account (409: the balance would go below -credit)",
          body=s.AccountPatch, responses={**account, 409: Error}),
        r("GET", "/recharges", list_recharges, "api_billing_recharges", "Recharge history",
          query=s.RechargesQuery, responses={200: Downloadable(s.HistoryList)}),
        r("POST", "/recharges", post_recharge, "api_billing_recharge",
          "Recharge one or many extensions (all or none)", body=s.Recharge,
          responses={201: s.Recharged, 404: Error, 409: Error}),
        r("POST", "/corrections", post_correction, "api_billing_correction",
          "Correct one extension's balance, with a reason (not a recharge: it does not "
          "count in total recharges; 409: below -credit)", body=s.Correction,
          responses={201: s.HistoryRow, 404: Error, 409: Error}),
        r("GET", "/rates", list_rates, "api_billing_rates", "Billing rates",
          query=s.PageQuery, responses={200: s.RateList}),
        r("POST", "/rates", post_rate, "api_billing_rate_create", "Add a rate",
          body=s.RateCreate, responses={201: s.Rate}),
        r("GET", "/rates/{id}", get_rate, "api_billing_rate", "One rate",
          responses={200: s.Rate, 404: Error}, parameters=[ID_PARAMETER]),
        r("PATCH", "/rates/{id}", patch_rate, "api_billing_rate_patch", "Edit a rate",
          body=s.RatePatch, responses={200: s.Rate, 404: Error}, parameters=[ID_PARAMETER]),
        r("DELETE", "/rates/{id}", delete_rate, "api_billing_rate_delete", "Delete a rate",
          responses={204: None, 404: Error}, parameters=[ID_PARAMETER]),
        r("GET", "/statistics", statistics, "api_billing_statistics",
          "Calls, talk time and cost by day, month or year (keyword: part of extension "
          "numbers or names, several extensions summed)", query=s.StatisticsQuery,
          responses={200: Downloadable(s.ReportList)}),
        r("GET", "/calls", calls, "api_billing_calls", "Billing call log with costs",
          query=s.CallsQuery, responses={200: Downloadable(s.ReportList)}),
    ]

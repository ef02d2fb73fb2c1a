"""Administrator pages of the call log (``/calls/log``) and live calls (``/calls/live``).

They read the ``Call`` model with the same filters as ``/api/v1/calls`` (``log_api``) and
link to its CSV/Excel downloads; the live page polls ``/api/v1/calls/live`` every second.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from coovox.calls import causes
from coovox.calls.log_api import CALL_LIST, STATUSES, filtered_calls, rows_with_fields
from coovox.calls.models import Call, Trunk
from coovox.web.errors import ApiError
from coovox.web.formats import money_text
from coovox.web.i18n import gettext as _
from coovox.web.keys import COOVOX_KEY

LIVE_LIMIT = 1000


def clock(seconds: float | None) -> str:
    """Seconds as ``H:MM:SS`` / ``MM:SS`` (empty for None)."""
    if seconds is None:
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


async def money_format(coovox: Any) -> tuple[int | None, Any]:
    """The decimals of money (from the billing plugin, when it runs) and a function showing
    an amount with them."""
    get = coovox.services.get("money_decimals")
    decimals = await get() if get is not None else None
    if decimals is None:
        return None, lambda value: "" if value is None else str(value)
    return decimals, lambda value: money_text(value, decimals)


async def call_log_page(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    query = request.query
    dates = {k: query.get(k, "").strip() for k in ("from", "to")}
    errors: dict[str, str] = {}
    base = Call.all()
    for name in ("from", "to"):  # check each bound alone to place the message
        try:
            filtered_calls({name: dates[name]}, coovox.config.timezone)
        except ApiError as exc:
            errors[name] = _(exc.message)
            dates[name] = ""
    base = filtered_calls(dates, coovox.config.timezone)
    lq = CALL_LIST.parse(query)
    page = await CALL_LIST.fetch(base, lq, path=request.path, keep=dates)
    page.errors.update(errors)
    items = await rows_with_fields(coovox, page.items)
    has_cost = any("cost" in i for i in items)
    download = page.params(page=None, per_page=None)
    decimals, show_money = await money_format(coovox)
    context = {
        "money_decimals": decimals, "show_money": show_money,
        "page": page, "items": items, "has_cost": has_cost, "dates": dates,
        "statuses": STATUSES, "trunks": await Trunk.all().order_by("name").values_list(
            "name", flat=True),
        "clock": clock, "title": _("Call log"),
        "csv_url": "/api/v1/calls?" + urlencode({**download, "format": "csv"}),
        "xlsx_url": "/api/v1/calls?" + urlencode({**download, "format": "xlsx"}),
    }
    return aiohttp_jinja2.render_template("calls/call_log.html", request, context)


async def live_rows(coovox: Any) -> list[dict[str, Any]]:
    """Calls in progress as ``/api/v1/calls/live`` shows them (first render of the page)."""
    rows = await Call.filter(status=causes.ACTIVE).order_by("-started_at").limit(LIVE_LIMIT)
    items = await rows_with_fields(coovox, rows)
    now = coovox.now()
    for item, row in zip(items, rows, strict=True):
        item["duration"] = (now - row.started_at).total_seconds()
        item["talk_time"] = ((now - row.answered_at).total_seconds()
                             if row.answered_at else None)
        item["state"] = "talking" if row.answered_at else "dialling"
    return items


async def live_page(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    decimals, show_money = await money_format(coovox)
    context = {"items": await live_rows(coovox), "clock": clock, "title": _("Live calls"),
               "api_url": "/api/v1/calls/live", "money_decimals": decimals,
               "show_money": show_money}
    return aiohttp_jinja2.render_template("calls/live.html", request, context)

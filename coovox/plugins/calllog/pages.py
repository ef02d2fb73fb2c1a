"""Administrator pages of the call log (``/calls/log``) and live calls (``/calls/live``).

They read the ``Call`` model with the same filters as ``/api/v1/calls`` (``api.py``) and
link to its CSV/Excel downloads.  The live page gets its rows pushed by the server as
server-sent events (``/calls/live/events``, one snapshot a second) with the running cost
and the remaining balance; an administrator hangs a talking call up from it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from coovox.plugins.calllog.queries import CALL_LIST, STATUSES, filtered_calls, rows_with_fields
from coovox.plugins.calls import causes
from coovox.plugins.calls.models import Call, Trunk
from coovox.web.errors import ApiError
from coovox.web.formats import money_text
from coovox.web.i18n import gettext as _
from coovox.web.i18n import money
from coovox.web.keys import COOVOX_KEY

log = logging.getLogger(__name__)
LIVE_LIMIT = 1000
LIVE_INTERVAL = 1.0  # seconds between two snapshots of the live calls
# a stream ends after this long and the browser reconnects at once: the session is checked
# again (a signed-out or deleted user stops getting calls)
LIVE_STREAM_SECONDS = 60.0


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


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


async def live_snapshot(coovox: Any, may_hang_up: bool = True) -> dict[str, Any]:
    """The calls in progress with, when billing runs, the running cost and the remaining
    balance of the paying extension as pages show money (currency and decimals of the
    billing settings, in the current language); ``hangup``: the call can be cut."""
    items = await live_rows(coovox)
    info = None
    source = coovox.services.get("billing_live")
    if source is not None and coovox.plugins.is_enabled("billing"):
        info = await source(sorted({i["extension"] for i in items}))
    for item in items:
        item["hangup"] = may_hang_up and item["state"] == "talking"
        item["state_text"] = _(item["state"])
        item["duration_text"] = clock(item["duration"])
        item["talk_text"] = clock(item["talk_time"])
        if info is not None:
            cost = _amount(item.get("cost"))
            balance = info["balances"].get(item["extension"])
            item["cost_text"] = "" if cost is None else money(cost, info["currency"],
                                                              info["decimals"])
            item["balance_text"] = "" if balance is None else money(
                balance, info["currency"], info["decimals"])
    return {"items": items, "total": len(items), "billing": info is not None}


async def live_page(request: web.Request) -> web.Response:
    from coovox.plugins.outbound.pages import pop_flashes

    coovox = request.app[COOVOX_KEY]
    snapshot = await live_snapshot(coovox, _may_hang_up(request))
    context = {"items": snapshot["items"], "billing": snapshot["billing"],
               "title": _("Live calls"), "events_url": "/calls/live/events",
               "flashes": await pop_flashes(request)}
    return aiohttp_jinja2.render_template("calls/live.html", request, context)


def _may_hang_up(request: web.Request) -> bool:
    """Only administrators hang calls up (operators watch)."""
    from coovox.hooktypes import ADMIN
    from coovox.web.security import current_user

    user = current_user(request)
    return user is not None and user.role == ADMIN


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def live_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``calls`` with a snapshot of :func:`live_snapshot` each second
    (``problem`` when it cannot be read) until the page goes away."""
    from coovox.web.keys import STOPPING_KEY

    coovox = request.app[COOVOX_KEY]
    stopping = request.app[STOPPING_KEY]
    may_hang_up = _may_hang_up(request)
    loop = asyncio.get_running_loop()
    until = loop.time() + LIVE_STREAM_SECONDS
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    failing = False
    try:
        await response.write(b"retry: 1000\n\n")
        while not stopping.is_set() and loop.time() < until:
            try:
                payload = _event("calls", await live_snapshot(coovox, may_hang_up))
                failing = False
            except Exception:  # the database is away: say so, try again
                if not failing:
                    log.exception("live calls could not be read")
                failing = True
                payload = _event("problem", {"message": _("Live calls cannot be read now; "
                                                          "trying again.")})
            await response.write(payload)
            try:
                await asyncio.wait_for(stopping.wait(), LIVE_INTERVAL)
            except TimeoutError:
                pass
        await response.write(_event("reconnect", {}))  # the page connects again at once
    except (ConnectionResetError, ConnectionError):
        pass  # the page was closed
    return response


CALL_ID = re.compile(r"[0-9A-Za-z_.-]{1,64}")  # what the id column can hold


async def live_hangup(request: web.Request) -> web.StreamResponse:
    """An administrator ends a talking call: it ends as "hung up by administrator" and is
    billed for its talk time.  Only the node that runs the call can cut it."""
    from coovox.plugins.outbound.pages import flash

    coovox = request.app[COOVOX_KEY]
    call_id = request.match_info["id"]
    # an id the column cannot hold names no call (never a database error)
    row = await Call.get_or_none(id=call_id) if CALL_ID.fullmatch(call_id) else None
    controller = coovox.services.get("calls")
    if row is None or row.status != causes.ACTIVE:
        await flash(request, "error", _("The call has already ended."))
    elif row.answered_at is None:
        await flash(request, "error", _("Only a call that is talking can be hung up."))
    elif controller is None or not await controller.cut(call_id, causes.HUNG_UP_BY_ADMIN):
        await flash(request, "error", _("The call could not be hung up from this node "
                                        "(node %(node)s runs it).", node=row.node or "?"))
    else:
        from coovox.web.security import current_user

        log.info("call %s of extension %s hung up by %s", call_id, row.extension,
                 getattr(current_user(request), "username", "an administrator"))
        await flash(request, "ok", _("Call %(extension)s → %(dialed)s is being hung up.",
                                     extension=row.extension, dialed=row.dialed))
    raise web.HTTPSeeOther("/calls/live")

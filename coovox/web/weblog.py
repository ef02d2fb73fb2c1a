"""The web log (manual §7.9.1): every state-changing request, searchable.

The middleware records who did what and the result AFTER the handler ran.  It never
records request bodies, query strings or headers, so passwords, tokens and licences
cannot end up in it: only the method and the path.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from tortoise.expressions import Q

from coovox.messages import Msg
from coovox.models import WebLog
from coovox.web.keys import COOVOX_KEY
from coovox.web.pagination import ListSpec
from coovox.web.security import current_user

log = logging.getLogger(__name__)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def result_text(status: int, seconds: float) -> str:
    """``"200 OK (0.012 s)"``: status, its short text and how long the request took."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"{status} {phrase} ({seconds:.3f} s)".replace("  ", " ")


RESULT_RE = re.compile(r"^(\d{3}) ([^(]*?) ?\(([\d.]+) s\)(.*)$")


def shown_result(text: str) -> str:
    """A stored result in the page's language: ``302 已重定向 (0.010 s)``."""
    from coovox.web.i18n import gettext as _

    m = RESULT_RE.match(text or "")
    if not m:
        return text
    code, phrase, seconds, note = m.groups()
    note = note.strip()
    shown = f"{code} {_(phrase)} ({seconds} s)" if phrase else f"{code} ({seconds} s)"
    return f"{shown} {_(note)}" if note else shown


def action_text(method: str, path: str) -> str:
    """What was done: the method and the path only (never the query or the body)."""
    return f"{method} {path}"[:255]


@web.middleware
async def weblog_middleware(request: web.Request, handler):
    if request.method not in WRITE_METHODS:
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        await _record(request, status, time.perf_counter() - started)


async def _record(request: web.Request, status: int, seconds: float) -> None:
    principal = current_user(request)
    if principal is not None:
        username, role = principal.username, principal.role
    else:
        username, role = request.get("weblog_user", ("", ""))
    try:
        await WebLog.create(ip=(request.remote or "")[:64], username=username[:64],
                            role=role[:32], action=action_text(request.method, request.path),
                            result=(result_text(status, seconds) + " " +
                                    request.get("weblog_note", "")).strip()[:255])
    except Exception:
        log.exception("could not write the web log")


# --- search ------------------------------------------------------------------------------


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(Msg("use a date like 2026-01-31")) from None


def day_start(value: str, tz: str) -> datetime:
    return datetime.combine(parse_day(value), dtime.min, tzinfo=ZoneInfo(tz))


def _from(tz: str):
    return lambda qs, v: qs.filter(at__gte=day_start(v, tz))


def _to(tz: str):
    return lambda qs, v: qs.filter(at__lt=day_start(v, tz) + timedelta(days=1))


def _keyword(qs, value: str):
    return qs.filter(Q(action__icontains=value) | Q(result__icontains=value) |
                     Q(ip__icontains=value))


def weblog_spec(tz: str) -> ListSpec:
    """Sort and filters of the web log; dates are whole days in the PBX time zone."""
    return ListSpec(
        sortable={"at": "at", "user": "username", "ip": "ip"},
        default_sort="-at",
        filters={"from": _from(tz), "to": _to(tz), "user": ListSpec.contains_filter("username"),
                 "keyword": _keyword},
    )


def entry_dict(row: WebLog) -> dict[str, Any]:
    return {"id": row.id, "at": row.at.isoformat(), "ip": row.ip, "user": row.username,
            "role": row.role, "action": row.action, "result": row.result}


async def weblog_page(request: web.Request) -> web.Response:
    spec = weblog_spec(request.app[COOVOX_KEY].config.timezone)
    lq = spec.parse(request.query)
    page = await spec.fetch(WebLog.all(), lq, path=request.path)
    return aiohttp_jinja2.render_template("weblog.html", request, {
        "page": page, "shown_result": shown_result})


async def api_weblog(request: web.Request) -> web.Response:
    spec = weblog_spec(request.app[COOVOX_KEY].config.timezone)
    lq = spec.parse(request.query, strict=True)
    page = await spec.fetch(WebLog.all(), lq, strict=True, path=request.path)
    return web.json_response(page.as_json(entry_dict))


OPENAPI = {
    "summary": "The web log: state-changing requests (newest first)",
    "tags": ["system"],
    "parameters": [
        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
         "description": "first day (PBX time zone)"},
        {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"},
         "description": "last day, included"},
        {"name": "user", "in": "query", "schema": {"type": "string"}},
        {"name": "keyword", "in": "query", "schema": {"type": "string"},
         "description": "part of the action, result or IP"},
        {"name": "sort", "in": "query", "schema": {"type": "string", "default": "-at"}},
    ],
}

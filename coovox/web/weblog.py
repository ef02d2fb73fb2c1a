"""The web log (manual §7.9.1): every state-changing request, searchable.

The middleware records who did what and the result AFTER the handler ran: the method and
the path, and what was changed: the parameters of the form or JSON body the handler read
(:func:`masked_params`: passwords, tokens, keys, PINs, licences and the CSRF token are
masked as ``***``; files by their name; long values cut).  Query strings and headers are
never recorded.  Rows older than the retention setting (days, manual §7.9.1) are deleted.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from tortoise.expressions import Q

from coovox.messages import Field, Msg
from coovox.models import WebLog, get_setting, set_setting
from coovox.storage.work import Exec, Work, store
from coovox.web.keys import COOVOX_KEY, WEBLOG_NOTE_KEY, WEBLOG_USER_KEY
from coovox.web.pagination import ListSpec
from coovox.web.security import current_user

log = logging.getLogger(__name__)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# parameter names whose values are secrets: recorded as "***"
SECRET_RE = re.compile(r"pass|secret|token|csrf|api_?key|^key$|_key$|^pins?$|licen[cs]e|"
                       r"credential|private", re.I)
MASK = "***"
MAX_VALUE = 120  # characters of one recorded value
MAX_DETAILS = 2000  # characters of the recorded parameters of one request
RETENTION_KEY = ("core", "weblog_retention_days")
DEFAULT_RETENTION_DAYS = 180
MAX_RETENTION_DAYS = 3650
PURGE_EVERY = 3600.0  # seconds between two deletions of old rows by one process
_last_purge = [float("-inf")]


MAX_DEPTH = 4  # nested JSON deeper than this is recorded as "…"


def _masked(name: str, value: Any, depth: int = 0) -> Any:
    if SECRET_RE.search(name):
        return MASK
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {str(k): _masked(str(k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(name, v, depth + 1) for v in value]
    if hasattr(value, "filename") and hasattr(value, "file"):  # an uploaded file
        return f"<file {getattr(value, 'filename', '')}>"
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def masked_params(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Parameters as the web log keeps them: secrets masked, the CSRF token left out,
    repeated names as lists (pure)."""
    out: dict[str, Any] = {}
    for name, value in items:
        name = str(name)
        if name == "csrf_token":
            continue
        shown = _masked(name, value)
        if name in out:
            before = out[name] if isinstance(out[name], list) else [out[name]]
            out[name] = [*before, shown]
        else:
            out[name] = shown
    return out


def details_json(params: dict[str, Any]) -> str:
    """The parameters as stored: a JSON object, cut to :data:`MAX_DETAILS` characters."""
    if not params:
        return ""
    text = json.dumps(params, ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= MAX_DETAILS else text[:MAX_DETAILS - 1] + "…"


def details_pairs(details: str) -> list[str]:
    """A stored ``details`` as ``name=value`` texts for the page."""
    if not details:
        return []
    try:
        params = json.loads(details)
    except ValueError:
        return [details]
    if not isinstance(params, dict):
        return [details]
    pairs = []
    for name, value in params.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        pairs.append(f"{name}={shown}")
    return pairs


async def _read_params(request: web.Request) -> list[tuple[str, Any]]:
    """What the handler read of the body (a form or JSON): never read here, so a request
    refused before its body was read records no parameters.  A body the handler read is
    cached by aiohttp: ``post()`` and ``read()`` hand that copy back."""
    if not request.body_exists or request.can_read_body:
        return []  # no body, or the handler did not read it
    if request.content_type in FORMS:
        try:
            return list((await request.post()).items())
        except Exception:  # noqa: BLE001 - streamed by the handler (multipart): not kept
            return []
    if request.content_type == "application/json":
        raw = await request.read()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # the handler answered 400 already
            return []
        return list(data.items()) if isinstance(data, dict) else [("body", data)]
    return []


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


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


INSERT = ("INSERT INTO core_web_log (at, ip, username, role, action, result, details) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)")


def _insert(values: list[Any]) -> Work[None]:
    """One row of the web log.  Written by the store (on SQLite: its writer thread), like
    the call path's writes: 40 sign-in attempts a second written through Tortoise's
    connection took turns for SQLite's write lock with the charges (each waiting in
    SQLite's busy handler, 1 to 100 ms) and held up every read queued behind them there."""
    yield Exec(INSERT, values)


async def _record(request: web.Request, status: int, seconds: float) -> None:
    principal = current_user(request)
    if principal is not None:
        username, role = principal.username, principal.role
    else:
        username, role = request.get(WEBLOG_USER_KEY, ("", ""))
    try:
        details = details_json(masked_params(await _read_params(request)))
    except Exception:  # never lose the row for its details
        log.exception("could not read the parameters of %s %s", request.method, request.path)
        details = ""
    try:
        await store().run(_insert([
            datetime.now(UTC), (request.remote or "")[:64], username[:64], role[:32],
            action_text(request.method, request.path),
            (result_text(status, seconds) + " " + request.get(WEBLOG_NOTE_KEY, "")).strip()[:255],
            details]))
    except Exception:
        log.exception("could not write the web log")
    if time.monotonic() - _last_purge[0] >= PURGE_EVERY:
        _last_purge[0] = time.monotonic()
        try:
            await purge(request.app[COOVOX_KEY].now())
        except Exception:
            log.exception("could not delete old rows of the web log")


# --- retention -----------------------------------------------------------------------------


async def retention_days() -> int:
    value = await get_setting(*RETENTION_KEY, DEFAULT_RETENTION_DAYS)
    return value if isinstance(value, int) and not isinstance(value, bool) else \
        DEFAULT_RETENTION_DAYS


def parse_retention(value: Any) -> int:
    """Days to keep the web log: a whole number of 1 to 3650 (``ValueError`` with a
    message for the field otherwise)."""
    if isinstance(value, bool):
        value = None
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(Msg("%(field)s must be a whole number of days from 1 to %(max)s",
                             field=Field("retention_days"), max=MAX_RETENTION_DAYS))
    return days


async def set_retention(days: int, now: datetime) -> int:
    """Store the setting and delete what is now too old; returns the rows deleted."""
    await set_setting(*RETENTION_KEY, days)
    return await purge(now)


async def purge(now: datetime) -> int:
    """Delete the rows older than the retention setting; returns how many."""
    days = await retention_days()
    deleted = await WebLog.filter(at__lt=now - timedelta(days=days)).delete()
    if deleted:
        log.info("web log: %d rows older than %d days deleted", deleted, days)
    return deleted


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
    try:
        details = json.loads(row.details) if row.details else {}
    except ValueError:
        details = {"text": row.details}
    return {"id": row.id, "at": row.at.isoformat(), "ip": row.ip, "user": row.username,
            "role": row.role, "action": row.action, "result": row.result,
            "details": details}


async def weblog_page(request: web.Request, *, retention_error: str = "",
                      shown_days: Any = None, status: int = 200) -> web.Response:
    from coovox.web.i18n import translate

    spec = weblog_spec(request.app[COOVOX_KEY].config.timezone)
    lq = spec.parse(request.query)
    page = await spec.fetch(WebLog.all(), lq, path=request.path)
    days = await retention_days()
    return aiohttp_jinja2.render_template("weblog.html", request, {
        "page": page, "shown_result": shown_result, "details_pairs": details_pairs,
        "retention_days": days if shown_days is None else shown_days,
        "retention_error": translate(retention_error, {"retention_days": "Keep for (days)"})
        if retention_error else "",
        "saved": request.query.get("saved") == "1"}, status=status)


async def weblog_settings_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw = str(form.get("retention_days", ""))
    try:
        days = parse_retention(raw)
    except ValueError as exc:
        return await weblog_page(request, retention_error=exc.args[0], shown_days=raw,
                                 status=400)
    await set_retention(days, request.app[COOVOX_KEY].now())
    raise web.HTTPSeeOther(str(request.app.router["weblog"].url_for()) + "?saved=1")


async def api_weblog_settings(request: web.Request) -> web.Response:
    return web.json_response({"retention_days": await retention_days()})


async def api_weblog_settings_patch(request: web.Request) -> web.Response:
    from coovox.web.errors import ApiError, read_json

    data = await read_json(request)
    if "retention_days" in data:
        try:
            days = parse_retention(data["retention_days"])
        except ValueError as exc:
            raise ApiError(400, str(exc.args[0]), "retention_days") from None
        await set_retention(days, request.app[COOVOX_KEY].now())
    return web.json_response({"retention_days": await retention_days()})


async def api_weblog(request: web.Request) -> web.Response:
    spec = weblog_spec(request.app[COOVOX_KEY].config.timezone)
    lq = spec.parse(request.query, strict=True)
    page = await spec.fetch(WebLog.all(), lq, strict=True, path=request.path)
    return web.json_response(page.as_json(entry_dict))


OPENAPI_SETTINGS = {
    "get": {"summary": "Web log settings: days its rows are kept", "tags": ["system"]},
    "patch": {"summary": "Change the days the web log keeps its rows (older ones are "
                         "deleted)", "tags": ["system"]},
}

OPENAPI = {"summary": "The web log: state-changing requests (newest first); from/to are "
                      "days YYYY-MM-DD (PBX time zone)", "tags": ["system"]}

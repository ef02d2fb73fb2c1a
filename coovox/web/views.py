"""Core pages and API: sign-in/out, overview, health, language, plugins."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from coovox import __version__
from coovox.storage import db
from coovox.users import authenticate
from coovox.web.errors import ApiError
from coovox.web.i18n import LANGUAGES
from coovox.web.i18n import gettext as _
from coovox.web.keys import COOVOX_KEY, THROTTLE_KEY
from coovox.web.security import start_session

log = logging.getLogger(__name__)
LANG_COOKIE_AGE = 365 * 86400


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


async def _sign_in_context(next_url: str, username: str, error: str) -> dict:
    """What the sign-in page shows; with no user at all, how to create the first one."""
    from coovox.runner import command_name
    from coovox.users import has_users

    first_admin = "" if await has_users() else f"{command_name()} admin create admin"
    return {"next": next_url, "username": username, "error": error,
            "first_admin_command": first_admin}


async def sign_in_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "sign_in.html", request,
        await _sign_in_context(_safe_next(request.query.get("next")), "", ""))


async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "")))
    ip = request.remote or ""
    coovox = request.app[COOVOX_KEY]

    throttle = request.app[THROTTLE_KEY]
    delay = await throttle.wait(username, ip)
    user = await authenticate(username, password)
    request["weblog_user"] = (username, user.role if user else "")
    error = ""
    if user is None:
        throttle.failed(username, ip)
        log.warning("failed sign-in for user %r from %s (slowed by %.1f s)", username, ip, delay)
        error = _("Wrong user name or password.")
    else:
        refusal = await coovox.plugins.afirst("coovox_sign_in_refusal", username=user.username,
                                              role=user.role)
        if refusal:
            log.warning("sign-in of %r refused: %s", username, refusal)
            error = refusal
    if error:
        request["weblog_note"] = "sign-in refused"
        return aiohttp_jinja2.render_template(
            "sign_in.html", request, await _sign_in_context(nxt, username, error), status=200)
    throttle.succeeded(username, ip)
    await start_session(request, user)
    response = web.HTTPFound(nxt)
    if user.language in LANGUAGES:
        response.set_cookie("lang", user.language, max_age=LANG_COOKIE_AGE, samesite="Lax",
                            httponly=True)
    log.info("user %s signed in from %s", username, ip)
    raise response


async def sign_out(request: web.Request) -> web.Response:
    session = await get_session(request)
    if session.get("username"):
        request["weblog_user"] = (session.get("username"), session.get("role", ""))
    session.invalidate()
    raise web.HTTPFound("/sign-in")


async def set_language(request: web.Request) -> web.Response:
    form = await request.post()
    lang = str(form.get("lang", ""))
    response = web.HTTPFound(_safe_next(str(form.get("next", "/"))))
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=LANG_COOKIE_AGE, samesite="Lax",
                            httponly=True)
        session = await get_session(request)
        uid = session.get("uid")
        if uid is not None:
            from coovox.users import set_language as store_language

            await store_language(uid, lang)
    raise response


async def home(request: web.Request) -> web.Response:
    """The overview for administrators; other roles go to their first menu entry."""
    from coovox.web.keys import MENU_KEY
    from coovox.web.security import current_user

    user = current_user(request)
    if user is not None and user.role != "admin":
        for item in request.app[MENU_KEY]:
            if user.role in item.roles and item.route != "home":
                raise web.HTTPFound(request.app.router[item.route].url_for())
    return aiohttp_jinja2.render_template("home.html", request, {"version": __version__})


async def healthz(request: web.Request) -> web.Response:
    """Database and Asterisk status as JSON (public: it reveals no configuration)."""
    coovox = request.app[COOVOX_KEY]
    db_error = await db.ping()
    ari = coovox.services.get("ari_status")
    ari_state = ari() if callable(ari) else {"connected": False, "last_error": "not started"}
    body = {
        "status": "ok" if db_error is None else "degraded",
        "version": __version__,
        "database": {"ok": db_error is None, "error": db_error},
        "ari": ari_state,
        "simulation": coovox.config.simulation,
    }
    return web.json_response(body, status=200 if db_error is None else 503)


async def plugins_page(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    return aiohttp_jinja2.render_template("plugins.html", request,
                                          {"plugins": coovox.plugins.infos()})


async def plugin_toggle(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    form = await request.post()
    name = request.match_info["name"]
    if name not in coovox.plugins.plugins:
        raise web.HTTPNotFound()
    try:
        await coovox.set_plugin_enabled(name, form.get("enabled") == "1")
    except Exception as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    raise web.HTTPFound("/plugins")


async def api_plugins(request: web.Request) -> web.Response:
    coovox = request.app[COOVOX_KEY]
    items = [p.as_dict() for p in coovox.plugins.infos()]
    return web.json_response({"items": items, "total": len(items)})


async def api_plugin_patch(request: web.Request) -> web.Response:
    from coovox.plugin_host import PluginError
    from coovox.web.errors import read_json

    coovox = request.app[COOVOX_KEY]
    name = request.match_info["name"]
    if name not in coovox.plugins.plugins:
        raise ApiError(404, f"no plugin named {name!r}")
    data = await read_json(request)
    enabled = data.get("enabled")
    if not isinstance(enabled, bool):
        raise ApiError(400, "must be true or false", "enabled")
    try:
        await coovox.set_plugin_enabled(name, enabled)
    except PluginError as exc:
        raise ApiError(409, str(exc), "enabled") from None
    return web.json_response(coovox.plugins.plugins[name].as_dict())

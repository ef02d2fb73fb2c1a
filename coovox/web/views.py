"""Core pages and API: sign-in/out, overview, health, language, plugins."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from coovox import __version__
from coovox.storage import db
from coovox.users import USERNAME_MAX, PasswordHashBusy, authenticate
from coovox.web.errors import ApiError
from coovox.web.guard import is_local_probe
from coovox.web.i18n import LANGUAGES, translate
from coovox.web.i18n import gettext as _
from coovox.web.keys import COOVOX_KEY, THROTTLE_KEY, WEBLOG_NOTE_KEY, WEBLOG_USER_KEY
from coovox.web.security import end_session, identify, start_session
from coovox.web.throttle import Throttled

log = logging.getLogger(__name__)
LANG_COOKIE_AGE = 365 * 86400
BUSY_RETRY_AFTER = 2


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


TOO_MANY = "Too many sign-in attempts. Wait %(seconds)s seconds and try again."
BUSY = "The server is busy checking other sign-ins. Try again in a few seconds."


async def _sign_in_form(request: web.Request, nxt: str, username: str, error: str,
                        status: int = 200, retry_after: int | None = None) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "sign_in.html", request,
        await _sign_in_context(nxt, username[:USERNAME_MAX], error), status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    nxt = _safe_next(str(form.get("next", "")))
    ip = request.remote or ""
    shown = username[:USERNAME_MAX]
    coovox = request.app[COOVOX_KEY]
    request[WEBLOG_USER_KEY] = (shown, "")

    throttle = request.app[THROTTLE_KEY]
    try:
        attempt = throttle.begin(username, ip)  # counted before the password is checked
    except Throttled as exc:
        log.warning("sign-in for user %r from %s refused: %s", shown, ip, exc.reason)
        request[WEBLOG_NOTE_KEY] = "sign-in throttled"
        return await _sign_in_form(request, nxt, username, _(TOO_MANY, seconds=exc.retry_after),
                             429, exc.retry_after)
    failed = succeeded = False
    try:
        delay = await throttle.wait(attempt)
        try:
            user = await authenticate(username, password)
        except PasswordHashBusy:
            log.warning("sign-in for user %r from %s refused: password checks busy", shown, ip)
            request[WEBLOG_NOTE_KEY] = "sign-in refused: busy"
            return await _sign_in_form(request, nxt, username, _(BUSY), 429, BUSY_RETRY_AFTER)
        request[WEBLOG_USER_KEY] = (shown, user.role if user else "")
        error = ""
        if user is None:
            failed = True
            log.warning("failed sign-in for user %r from %s (slowed by %.1f s)", shown, ip,
                        delay)
            error = _("Wrong user name or password.")
        else:
            refusal = await coovox.plugins.afirst("coovox_sign_in_refusal",
                                                  username=user.username, role=user.role)
            if refusal:
                log.warning("sign-in of %r refused: %s", shown, refusal)
                error = translate(refusal)
        if error:
            request[WEBLOG_NOTE_KEY] = "sign-in refused"
            return await _sign_in_form(request, nxt, username, error)
        succeeded = True
    finally:
        throttle.finish(attempt, failed=failed, succeeded=succeeded)
    await start_session(request, user)
    coovox.publish("user.signed_in", "web", username=user.username, role=user.role, ip=ip)
    response = web.HTTPFound(nxt)
    if user.language in LANGUAGES:
        response.set_cookie("lang", user.language, max_age=LANG_COOKIE_AGE, samesite="Lax",
                            httponly=True)
    log.info("user %s signed in from %s", shown, ip)
    raise response


async def sign_out(request: web.Request) -> web.Response:
    """End the session: its server-side row goes, so a copy of the cookie is useless too."""
    principal = await end_session(request)
    if principal is not None:
        request[WEBLOG_USER_KEY] = (principal.username, principal.role)
    raise web.HTTPFound("/sign-in")


async def set_language(request: web.Request) -> web.Response:
    form = await request.post()
    lang = str(form.get("lang", ""))
    response = web.HTTPFound(_safe_next(str(form.get("next", "/"))))
    if lang in LANGUAGES:
        response.set_cookie("lang", lang, max_age=LANG_COOKIE_AGE, samesite="Lax",
                            httponly=True)
        principal = await identify(request, end_stale=False)
        if principal is not None and not principal.via_token:
            from coovox.users import set_language as store_language

            await store_language(principal.id, lang)
    raise response


async def home(request: web.Request) -> web.Response:
    """The overview (dashboard) for administrators and operators; other roles go to their
    first menu entry."""
    from coovox.hooktypes import ADMIN, OPERATOR
    from coovox.web.keys import MENU_KEY
    from coovox.web.security import current_user

    user = current_user(request)
    if user is not None and user.role not in (ADMIN, OPERATOR):
        for item in request.app[MENU_KEY]:
            if user.role in item.roles and item.route != "home":
                raise web.HTTPFound(request.app.router[item.route].url_for())
    from coovox.web.dashboard import collect

    dash = await collect(request.app[COOVOX_KEY])
    return aiohttp_jinja2.render_template("home.html", request,
                                          {"version": __version__, "dash": dash})


async def healthz(request: web.Request) -> web.Response:
    """``{"status": "up"}`` or ``"degraded"`` (503) for anyone; the details (version,
    database, Asterisk connection) only for signed-in users and for a probe on this
    machine (127.0.0.1/::1 with no forwarding header). Sets no cookie."""
    coovox = request.app[COOVOX_KEY]
    db_error = await db.ping()
    status = 200 if db_error is None else 503
    body: dict = {"status": "up" if db_error is None else "degraded"}
    if is_local_probe(request) or await identify(request, end_stale=False) is not None:
        ari = coovox.services.get("ari_status")
        ari_state = ari() if callable(ari) else {"connected": False, "last_error": "not started"}
        body.update({
            "version": __version__,
            "database": {"ok": db_error is None, "error": db_error},
            "ari": ari_state,
            "simulation": coovox.config.simulation,
        })
    return web.json_response(body, status=status)


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

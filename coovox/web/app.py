"""The web application factory: one ``create_app`` and a ``setup_*`` per concern."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session_mw
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from coovox.context import Coovox
from coovox.hooktypes import MenuItem, Role, Route, StaticDir
from coovox.inputs import for_html
from coovox.users import PasswordHashBusy
from coovox.web import errors as web_errors
from coovox.web.guard import APP_MAX_BODY, SESSION_COOKIE, setup_guard, too_large
from coovox.web.i18n import setup_i18n
from coovox.web.keys import (
    COOVOX_KEY,
    MENU_KEY,
    ROUTE_PLUGIN_KEY,
    ROUTES_KEY,
    STOPPING_KEY,
    THROTTLE_KEY,
)
from coovox.web.schema import validating
from coovox.web.security import access_middleware, current_user, lazy_csrf_token
from coovox.web.throttle import SignInThrottle
from coovox.web.weblog import weblog_middleware

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


class SessionStorage(EncryptedCookieStorage):
    """Encrypted, signed cookie; ``Secure`` when the request came over HTTPS (directly or
    through a trusted proxy's ``X-Forwarded-Proto``: see :mod:`coovox.web.guard`)."""

    async def save_session(self, request, response, session):
        self._cookie_params["secure"] = request.secure
        return await super().save_session(request, response, session)


def create_app(coovox: Coovox) -> web.Application:
    """Build the aiohttp application for a started :class:`Coovox`."""
    app = web.Application(client_max_size=APP_MAX_BODY)
    app[COOVOX_KEY] = coovox
    app[ROUTES_KEY] = {}
    app[ROUTE_PLUGIN_KEY] = {}
    app[MENU_KEY] = []
    app[THROTTLE_KEY] = SignInThrottle()
    app[STOPPING_KEY] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    setup_sessions(app, coovox)
    app.middlewares.append(weblog_middleware)
    app.middlewares.append(error_middleware)
    app.middlewares.append(access_middleware)
    app.middlewares.append(plugin_enabled_middleware)
    setup_templates(app, coovox)
    setup_i18n(app)
    setup_guard(app, coovox.config.trusted_proxies)  # outermost: before anything reads
    setup_static(app, coovox)
    setup_routes(app, coovox)
    return app


async def _stopping(app: web.Application) -> None:
    app[STOPPING_KEY].set()  # open event streams end, so the server stops without waiting


def setup_sessions(app: web.Application, coovox: Coovox) -> None:
    import base64

    from coovox.web.sessions import SESSION_MAX_AGE

    key = base64.urlsafe_b64encode(coovox.secret_key)
    storage = SessionStorage(Fernet(key), cookie_name=SESSION_COOKIE, httponly=True,
                             samesite="Lax", max_age=SESSION_MAX_AGE)
    setup_session_mw(app, storage)


def setup_templates(app: web.Application, coovox: Coovox) -> None:
    dirs: list[Path] = [HERE / "templates"]
    for found in coovox.plugins.call_all("coovox_template_dirs"):
        dirs.extend(Path(p) for p in found)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
        context_processors=[template_context],
        enable_async=False,
        finalize=for_html,
    )
    env.globals["static"] = lambda path: f"/static/{path}"
    labels = {role.name: role.label for found in coovox.plugins.call_all_plugins("coovox_roles")
              for role in found}

    def role_label(name: str) -> str:
        """A role's label from the plugin that registered it, in the current language."""
        from coovox.web.i18n import gettext

        return gettext(labels[name]) if name in labels else name

    env.globals["role_label"] = role_label


async def template_context(request: web.Request) -> dict:
    coovox = request.app[COOVOX_KEY]
    user = current_user(request)
    menu = [m for m in request.app[MENU_KEY] if user and user.may(m.roles)]
    ari = coovox.services.get("ari_status")
    return {
        "user": user,
        "menu": menu,
        "csrf_token": await lazy_csrf_token(request),
        "simulation": coovox.config.simulation,
        "ari_status": ari() if callable(ari) else None,
        "request": request,
        "url": lambda route_name, /, **parts: str(
            request.app.router[route_name].url_for(**{k: str(v) for k, v in parts.items()})),
        "current_route": getattr(request.match_info.route, "name", None),
    }


def setup_static(app: web.Application, coovox: Coovox) -> None:
    app.router.add_static("/static/core/", HERE / "static", name="static_core")
    for found in coovox.plugins.call_all("coovox_static_dirs"):
        for d in found:
            assert isinstance(d, StaticDir)
            app.router.add_static(f"/static/{d.prefix}/", d.path, name=f"static_{d.prefix}")


def setup_routes(app: web.Application, coovox: Coovox) -> None:
    """Register every plugin's routes (of all installed plugins: disabled ones answer 404)."""
    routes: dict[str, Route] = app[ROUTES_KEY]
    owners: dict[str, str] = app[ROUTE_PLUGIN_KEY]
    menu: list[MenuItem] = app[MENU_KEY]
    roles = known_roles(coovox)
    # routes in registration order (built-in first): a plugin cannot shadow the core's paths
    declared = coovox.plugins.declared("coovox_routes", coovox=coovox)
    rank = {name: i for i, name in enumerate(coovox.plugins.plugins)}
    for plugin, found in sorted(declared, key=lambda pair: rank[pair[0]]):
        for route in found:
            if route.name in routes:
                raise RuntimeError(f"route name {route.name!r} of plugin {plugin} "
                                   "is already used")
            _check_roles(route.roles, roles, f"route {route.name!r} of plugin {plugin}")
            handler = route.handler
            if route.body is not None or route.query is not None:
                handler = validating(handler, route.body, route.query)
            app.router.add_route(route.method, route.path, handler, name=route.name)
            routes[route.name] = route
            owners[route.name] = plugin
    for plugin, found in coovox.plugins.declared("coovox_menu_items"):
        menu.extend((item, plugin) for item in found)  # type: ignore[misc]
    # keep only menu entries whose plugin is enabled, sorted; resolved per request
    app[MENU_KEY] = _MenuView(menu, coovox)  # type: ignore[assignment]


def known_roles(coovox: Coovox) -> dict[str, Role]:
    """Roles declared through ``coovox_roles`` by every installed plugin, by name."""
    out: dict[str, Role] = {}
    for found in coovox.plugins.call_all_plugins("coovox_roles"):
        for role in found:
            out.setdefault(role.name, role)
    return out


def _check_roles(names: tuple[str, ...], roles: dict[str, Role], what: str) -> None:
    """A route naming a role no plugin declares is a programming error: stop start-up."""
    for name in names:
        if name != "*" and name not in roles:
            raise RuntimeError(f"{what} names role {name!r}, which no plugin declares "
                               "(coovox_roles)")


class _MenuView(list):
    """The menu as seen now: entries of enabled plugins, sorted by section and order."""

    def __init__(self, entries, coovox: Coovox):
        super().__init__()
        self._entries = entries
        self._coovox = coovox

    def __iter__(self):
        items = [item for item, plugin in self._entries if self._coovox.plugins.is_enabled(plugin)]
        return iter(sorted(items, key=lambda m: (m.section, m.order, m.label)))


@web.middleware
async def plugin_enabled_middleware(request: web.Request, handler):
    name = getattr(request.match_info.route, "name", None)
    owner = request.app[ROUTE_PLUGIN_KEY].get(name or "")
    if owner and not request.app[COOVOX_KEY].plugins.is_enabled(owner):
        route = request.app[ROUTES_KEY][name]
        if route.api:
            return web_errors.json_error(404, f"plugin {owner!r} is disabled")
        raise web.HTTPNotFound()
    return await handler(request)


BUSY_MESSAGE = "The server is busy checking other passwords. Try again in a few seconds."


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


@web.middleware
async def error_middleware(request: web.Request, handler):
    """API errors as JSON; HTML error pages with no stack trace; log unexpected errors."""
    try:
        return await handler(request)
    except web_errors.ApiError as exc:
        return web_errors.json_error(exc.status, exc.message, exc.field, exc.code)
    except PasswordHashBusy:
        log.warning("password checks busy: %s %s refused", request.method, request.path)
        if _wants_json(request):
            response = web_errors.json_error(429, BUSY_MESSAGE, code="busy")
        else:
            from coovox.web.i18n import gettext as _

            response = await _error_page(request, 429, _(BUSY_MESSAGE))
        response.headers["Retry-After"] = "2"
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        if exc.status == 413:  # a body without a length went past the route's limit
            return too_large(request, request.client_max_size)
        if _wants_json(request):
            response = web_errors.json_error(exc.status, exc.reason)
            if "Allow" in exc.headers:  # a 405 says which methods the path has
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        # a handler's own explanation is shown; aiohttp's default "404: Not Found" is not
        default = f"{exc.status}: {exc.reason}"
        detail = exc.text if exc.status in (400, 403, 409, 429) and exc.text != default else ""
        return await _error_page(request, exc.status, detail or "")
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        if _wants_json(request):
            return web_errors.json_error(500, "internal error; the administrator can find "
                                              "details in the log")
        return await _error_page(request, 500, "")


async def _error_page(request: web.Request, status: int, detail: str) -> web.Response:
    try:
        # refused before the context processors ran (e.g. by the access check): their
        # context goes in here (aiohttp-jinja2 keeps its own under a plain str request key)
        context = ({} if request.get(aiohttp_jinja2.REQUEST_CONTEXT_KEY)
                   else await template_context(request))
        response = aiohttp_jinja2.render_template(
            "error.html", request, {**context, "status": status, "detail": detail},
            status=status)
    except Exception:
        log.exception("error page could not be rendered")
        response = web.Response(text=f"Error {status}", status=status)
    return response

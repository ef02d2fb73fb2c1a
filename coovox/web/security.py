"""Who is calling and may they: sessions, bearer tokens, roles, CSRF."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import get_session

from coovox.hooktypes import ADMIN, Route
from coovox.users import user_for_token
from coovox.web import sessions
from coovox.web.errors import json_error
from coovox.web.keys import ROUTES_KEY

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FORM_EXPIRED = "The form has expired or was not sent by this site: reload the page and try again."
NEXT_MAX = 2000  # characters of the page to return to after signing in (see access_middleware)
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", ""})


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request."""

    id: int
    username: str
    role: str
    via_token: bool = False
    session_id: int | None = None  # the web session's row (None for API tokens)

    def may(self, roles: tuple[str, ...]) -> bool:
        return self.role == ADMIN or self.role in roles or "*" in roles


USER_KEY: web.RequestKey[Principal] = web.RequestKey("coovox_user", Principal)


def current_user(request: web.Request) -> Principal | None:
    return request.get(USER_KEY)


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    return _token_of(session)


def _token_of(session) -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


class LazyCsrfToken:
    """The CSRF token for templates, made (and the cookie set) only when a page prints it:
    answers without a form (JSON, /healthz, redirects) set no cookie."""

    def __init__(self, session) -> None:
        self._session = session

    def __str__(self) -> str:
        return _token_of(self._session)

    __html__ = __str__


async def lazy_csrf_token(request: web.Request) -> LazyCsrfToken:
    return LazyCsrfToken(await get_session(request))


async def identify(request: web.Request, *, end_stale: bool = True) -> Principal | None:
    """The user of a bearer token or of a live server-side session, else None.

    A cookie whose session ended (sign-out, password change, deletion, "sign out
    everywhere", expiry) is cleared, unless ``end_stale`` is false (no cookie is set).
    """
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        user = await user_for_token(auth[7:].strip())
        if user is None:
            return None
        return Principal(user.id, user.username, user.role, via_token=True)
    session = await get_session(request)
    if sessions.SESSION_ID not in session:
        return None
    row = await sessions.lookup(session.get(sessions.SESSION_ID))
    if row is None:
        if end_stale:
            session.invalidate()
        return None
    await sessions.touch(row, request.remote or "")
    user = row.user
    return Principal(user.id, user.username, user.role, session_id=row.id)


async def start_session(request: web.Request, user) -> None:
    """Begin a fresh session for ``user`` (called after a successful sign-in): a new
    cookie session (no state of the anonymous one survives) and a new server-side row."""
    from aiohttp_session import new_session

    session = await new_session(request)
    session[sessions.SESSION_ID] = await sessions.create(
        user, request.remote or "", request.headers.get("User-Agent", ""))


async def renew_session(request: web.Request, user) -> None:
    """Keep the current browser signed in under a new session id (after its own user's
    password changed, which ended every session of that user); the CSRF token stays."""
    session = await get_session(request)
    session[sessions.SESSION_ID] = await sessions.create(
        user, request.remote or "", request.headers.get("User-Agent", ""))


async def end_session(request: web.Request) -> Principal | None:
    """Sign-out: delete the session's row and clear the cookie; returns who it was."""
    principal = await identify(request)
    session = await get_session(request)
    sid = session.get(sessions.SESSION_ID)
    if sid is not None:
        await sessions.end(sid)
    if not session.empty:
        session.invalidate()
    return principal


def route_of(request: web.Request) -> Route | None:
    name = getattr(request.match_info.route, "name", None)
    if not name:
        return None
    return request.app[ROUTES_KEY].get(name)


@web.middleware
async def access_middleware(request: web.Request, handler):
    """Refuse anonymous users and wrong roles; check CSRF on state-changing requests."""
    route = route_of(request)
    if route is None or route.public:
        if route is not None and request.method not in SAFE_METHODS and not route.api:
            await read_form(request)
            await _check_csrf(request, route)
        if route is None and not request.path.startswith("/static/"):
            # an unknown page: know the user only to show the menu on the 404 page
            principal = await identify(request)
            if principal is not None:
                request[USER_KEY] = principal
        return await handler(request)
    principal = await identify(request)
    if principal is None:
        if route.api:
            return json_error(401, "sign in or send an API token (Authorization: Bearer ...)")
        # back to this page after signing in -- unless its address is too long to carry
        # (a Location header over aiohttp's 8 KiB line limit breaks the client)
        target = request.path_qs if len(request.path_qs) <= NEXT_MAX else request.path
        raise web.HTTPFound(request.app.router["sign_in"].url_for().with_query(
            next=target[:NEXT_MAX]))
    request[USER_KEY] = principal  # also for the 403 page's layout
    if not principal.may(route.roles):
        if route.api:
            return json_error(403, "your role may not use this")
        raise web.HTTPForbidden()
    if request.method not in SAFE_METHODS and not route.api:
        await read_form(request)
    if request.method not in SAFE_METHODS and not principal.via_token:
        await _check_csrf(request, route)
    return await handler(request)


async def read_form(request: web.Request) -> None:
    """Read a page's form once, before anything else does (handlers then get aiohttp's
    cached copy): a form that cannot be read (unknown character set, bytes that are not
    text in it, a cut-off or malformed multipart body) is a 400 with the reason, not a
    crash in whichever code read it first."""
    if request.content_type not in FORM_TYPES:
        return
    from coovox.web.i18n import gettext as _

    try:
        await request.post()
    except web.HTTPException:
        raise  # e.g. 413: over the route's body limit
    except LookupError as exc:
        charset = str(exc).rsplit(":", 1)[-1].strip() or (request.charset or "")
        raise web.HTTPBadRequest(text=_(
            "The form could not be read: unknown character set %(charset)s.",
            charset=repr(charset[:40]))) from None
    except UnicodeDecodeError as exc:
        raise web.HTTPBadRequest(text=_(
            "The form could not be read: it is not valid %(encoding)s text.",
            encoding=exc.encoding)) from None
    except (ValueError, AssertionError, KeyError, TypeError, IndexError) as exc:
        log.info("unreadable form on %s %s: %s", request.method, request.path,
                 exc.__class__.__name__)
        raise web.HTTPBadRequest(text=_(
            "The form could not be read: the body is cut off or malformed.")) from None


async def _check_csrf(request: web.Request, route: Route) -> None:
    session = await get_session(request)
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        log.warning("CSRF check failed for %s %s", request.method, request.path)
        if route.api:
            raise _CsrfJson()
        from coovox.web.i18n import gettext as _

        raise web.HTTPForbidden(text=_(FORM_EXPIRED))


class _CsrfJson(web.HTTPForbidden):
    def __init__(self) -> None:
        super().__init__(
            text='{"error": {"code": "csrf", "message": "missing or wrong CSRF token"}}',
            content_type="application/json",
        )

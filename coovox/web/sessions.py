"""Server-side web sessions: a row per signed-in browser (:class:`coovox.models.WebSession`).

The encrypted cookie carries only the session's random id; the table keeps its SHA-256,
the user, when it began and was last seen, the address and the browser. Deleting the
row ends the session wherever its cookie is: sign-out, a password change, the user's
deletion, an administrator's "sign out everywhere", or the user ending it on the
"My sessions" page.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from coovox import users
from coovox.models import User, WebSession
from coovox.users import USERNAME_MAX
from coovox.web.errors import ApiError
from coovox.web.i18n import gettext as _

SESSION_MAX_AGE = 12 * 3600  # seconds; the cookie's max age too
TOUCH_STEP = 60  # "last seen" is written at most once a minute per session
SESSION_ID = "sid"  # the key of the session id inside the encrypted cookie


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def create(user: User, ip: str, user_agent: str) -> str:
    """A new session row for ``user``; returns its id (for the cookie only)."""
    now = _now()
    await WebSession.filter(created_at__lt=now - timedelta(seconds=SESSION_MAX_AGE)).delete()
    sid = secrets.token_urlsafe(32)
    await WebSession.create(key_hash=_hash(sid), user=user, last_seen_at=now, ip=ip[:64],
                            user_agent=user_agent[:255])
    return sid


async def lookup(sid: str) -> WebSession | None:
    """The live session of ``sid`` with its user, or None (unknown, ended or expired)."""
    if not isinstance(sid, str) or not sid or len(sid) > 100:
        return None
    row = await WebSession.filter(key_hash=_hash(sid)).select_related("user").first()
    if row is None:
        return None
    now = _now()
    if (now - row.created_at).total_seconds() >= SESSION_MAX_AGE:
        await WebSession.filter(id=row.id).delete()
        return None
    return row


async def touch(row: WebSession, ip: str) -> None:
    """Record that the session was used (at most once a minute, or when the address moved)."""
    now = _now()
    ip = ip[:64]
    if (now - row.last_seen_at).total_seconds() >= TOUCH_STEP or ip != row.ip:
        await WebSession.filter(id=row.id).update(last_seen_at=now, ip=ip)


async def end(sid: str) -> None:
    if isinstance(sid, str) and sid:
        await WebSession.filter(key_hash=_hash(sid)).delete()


async def count_by_user() -> dict[int, int]:
    """How many live sessions each user has."""
    cutoff = _now() - timedelta(seconds=SESSION_MAX_AGE)
    rows = await WebSession.filter(created_at__gte=cutoff).values_list("user_id", flat=True)
    out: dict[int, int] = {}
    for uid in rows:
        out[uid] = out.get(uid, 0) + 1
    return out


async def live_sessions(user_id: int) -> list[WebSession]:
    cutoff = _now() - timedelta(seconds=SESSION_MAX_AGE)
    return await WebSession.filter(user_id=user_id, created_at__gte=cutoff).order_by(
        "-last_seen_at", "-id")


def session_dict(row: WebSession, current_id: int | None = None) -> dict:
    return {"id": row.id, "created_at": row.created_at.isoformat(),
            "last_seen_at": row.last_seen_at.isoformat(), "ip": row.ip,
            "user_agent": row.user_agent, "current": row.id == current_id}


# --- the user's own sessions ------------------------------------------------------------


def _me(request: web.Request):
    from coovox.web.security import current_user

    me = current_user(request)
    assert me is not None  # the route needs a signed-in user
    return me


async def own_sessions_page(request: web.Request) -> web.Response:
    me = _me(request)
    rows = await live_sessions(me.id)
    done = request.query.get("done", "")
    return aiohttp_jinja2.render_template("account_sessions.html", request, {
        "sessions": rows, "current_id": me.session_id,
        "done": done if done in ("one", "others") else "",
        "ended": request.query.get("n", "")[:6]})


async def own_session_end(request: web.Request) -> web.Response:
    """End one of the user's own sessions (their current one too: that signs them out)."""
    me = _me(request)
    try:
        session_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    if not 1 <= session_id <= users.MAX_ID:  # beyond the id column: names no session
        raise web.HTTPNotFound()
    if not await WebSession.filter(id=session_id, user_id=me.id).delete():
        raise web.HTTPNotFound()
    if session_id == me.session_id:
        (await get_session(request)).invalidate()
        raise web.HTTPFound(request.app.router["sign_in"].url_for())
    raise web.HTTPFound(request.app.router["account_sessions"].url_for().with_query(done="one"))


async def own_sessions_end_others(request: web.Request) -> web.Response:
    me = _me(request)
    query = WebSession.filter(user_id=me.id)
    if me.session_id is not None:
        query = query.exclude(id=me.session_id)
    n = await query.delete()
    raise web.HTTPFound(request.app.router["account_sessions"].url_for().with_query(
        done="others", n=str(n)))


# --- administrators: sign a user out everywhere -----------------------------------------


async def _user(name: str) -> User | None:
    return await User.get_or_none(username=name) if 0 < len(name) <= USERNAME_MAX else None


async def users_sign_out_everywhere(request: web.Request) -> web.Response:
    from coovox.web.accounts import render_users

    name = request.match_info["name"]
    user = await _user(name)
    if user is None:
        return await render_users(request, 404, error=_("No such user."), error_user=name)
    n = await users.end_sessions(user.id)
    if user.id == _me(request).id:  # the administrator's own session ended too
        (await get_session(request)).invalidate()
        raise web.HTTPFound(request.app.router["sign_in"].url_for())
    return await render_users(request, signed_out={"name": user.username, "n": n})


async def api_user_sessions(request: web.Request) -> web.Response:
    user = await _user(request.match_info["name"])
    if user is None:
        raise ApiError(404, f"no user named {request.match_info['name'][:64]!r}", "name")
    rows = await live_sessions(user.id)
    me = _me(request)
    items = [session_dict(r, me.session_id) for r in rows]
    return web.json_response({"items": items, "total": len(items)})


async def api_user_sessions_end(request: web.Request) -> web.Response:
    user = await _user(request.match_info["name"])
    if user is None:
        raise ApiError(404, f"no user named {request.match_info['name'][:64]!r}", "name")
    await users.end_sessions(user.id)
    return web.Response(status=204)


OPENAPI = {
    "list": {"summary": "A user's active web sessions (signed-in browsers)", "tags": ["users"]},
    "end": {"summary": "Sign a user out everywhere: end all of their web sessions "
                       "(API tokens stay valid)", "tags": ["users"]},
}

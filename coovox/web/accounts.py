"""Accounts (manual §7.10.1): users pages and API, and each user's own password."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from coovox import users
from coovox.models import User
from coovox.users import UserError
from coovox.web import sessions
from coovox.web.errors import ApiError, read_json
from coovox.web.i18n import gettext as _
from coovox.web.i18n import translate
from coovox.web.pagination import ListSpec
from coovox.web.security import current_user, renew_session

USERS = ListSpec(sortable={"username": "username", "role": "role"}, default_sort="username",
                 filters={"keyword": ListSpec.contains_filter("username"),
                          "role": ListSpec.equals_filter("role")})
STATUS_OF = {"invalid": 400, "not_found": 404, "conflict": 409, "forbidden": 403}


def _api_error(exc: UserError) -> ApiError:
    return ApiError(STATUS_OF.get(exc.code, 400), str(exc), exc.field or None, exc.code)


def _message(exc: UserError) -> str:
    """A user error for a page, in the current language."""
    return translate(exc.message, LABELS)


LABELS = {"password": "Password", "username": "User name", "current_password": "Current password",
          "new_password": "New password", "user": "User", "name": "Name"}


async def render_users(request: web.Request, status: int = 200, **extra) -> web.Response:
    """The Accounts page; ``extra`` fills its messages."""
    page = await USERS.fetch(User.all(), USERS.parse(request.query),
                             path=str(request.app.router["users"].url_for()))
    context = {"page": page, "created": None, "error": "", "error_user": "", "changed": "",
               "signed_out": None, "session_counts": await sessions.count_by_user(),
               "new_roles": creatable_roles(request), "form": {}, "form_errors": {}}
    context.update(extra)
    return aiohttp_jinja2.render_template("users.html", request, context, status=status)



async def users_page(request: web.Request) -> web.Response:
    return await render_users(request)


def creatable_roles(request: web.Request) -> list[str]:
    """The roles an administrator gives new users: every declared role but administrator
    (billing first)."""
    from coovox.web.app import known_roles
    from coovox.web.keys import COOVOX_KEY

    names = [n for n in known_roles(request.app[COOVOX_KEY]) if n != users.ADMIN]
    return sorted(names, key=lambda n: (n != users.BILLING, n))


async def users_create(request: web.Request) -> web.Response:
    """Create a user with the name, password and role of the form (guide 001 §2.1); an
    empty name is a generated ``bill-xxx``, an empty password a random one shown once (the
    page is not a redirect)."""
    form = await request.post()
    username = str(form.get("username", "")).strip()
    role = str(form.get("role", "") or users.BILLING)
    try:
        user, password, generated = await users.create_account(
            username, str(form.get("password", "")), role, set(creatable_roles(request)))
    except UserError as exc:
        status = 409 if exc.code == "conflict" else 400
        return await render_users(request, status, form={"username": username, "role": role},
                                  form_errors={exc.field or "username": _message(exc)})
    return await render_users(request, created={
        "username": user.username, "password": password if generated else "",
        "role": user.role})


async def users_password(request: web.Request) -> web.Response:
    form = await request.post()
    name = request.match_info["name"]
    try:
        await users.set_password(name, str(form.get("password", "")))
    except UserError as exc:
        status = STATUS_OF.get(exc.code, 400)
        return await render_users(request, status, error=_message(exc), error_user=name)
    me = current_user(request)
    if me is not None and me.username == name:
        await _refresh_session(request, name)
    return await render_users(request, changed=name)


async def users_delete(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    try:
        await users.delete_user(name)
    except UserError as exc:
        return await render_users(request, STATUS_OF.get(exc.code, 400), error=_message(exc),
                             error_user=name)
    raise web.HTTPFound(request.app.router["users"].url_for())


async def _refresh_session(request: web.Request, username: str) -> None:
    """After its own user's password changed (which ended all of that user's sessions),
    keep this browser signed in under a new session; every other copy is signed out."""
    me = current_user(request)
    if me is not None and not me.via_token:
        await renew_session(request, await User.get(username=username))


async def own_password_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("account_password.html", request,
                                          {"errors": {}, "done": False})


async def own_password_change(request: web.Request) -> web.Response:
    form = await request.post()
    me = current_user(request)
    assert me is not None
    new = str(form.get("new_password", ""))
    errors: dict[str, str] = {}
    if new != str(form.get("new_password2", "")):
        errors["new_password2"] = _("The two new passwords differ.")
    else:
        try:
            await users.change_own_password(me.username, str(form.get("current_password", "")),
                                            new)
        except UserError as exc:
            field = "new_password" if exc.field == "password" else exc.field
            errors[field] = _message(exc)
    if not errors:
        await _refresh_session(request, me.username)
    return aiohttp_jinja2.render_template("account_password.html", request,
                                          {"errors": errors, "done": not errors},
                                          status=400 if errors else 200)


# --- JSON API ------------------------------------------------------------------------------


async def api_users(request: web.Request) -> web.Response:
    lq = USERS.parse(request.query, strict=True)
    page = await USERS.fetch(User.all(), lq, strict=True, path=request.path)
    return web.json_response(page.as_json(users.user_dict))


async def api_users_create(request: web.Request) -> web.Response:
    """Create a user: ``username`` (empty: ``bill-xxx``), ``password`` (empty: a random one,
    in the answer once), ``role`` (default billing; never administrator)."""
    data = await read_json(request)
    values = {k: data.get(k, d) for k, d in (("username", ""), ("password", ""),
                                             ("role", users.BILLING))}
    for key, value in values.items():
        if not isinstance(value, str):
            raise ApiError(400, "must be a string", key)
    try:
        user, password, generated = await users.create_account(
            values["username"], values["password"], values["role"] or users.BILLING,
            set(creatable_roles(request)))
    except UserError as exc:
        raise _api_error(exc) from None
    shown = {"password": password} if generated else {}
    return web.json_response(users.user_dict(user) | shown, status=201)


async def api_users_delete(request: web.Request) -> web.Response:
    try:
        await users.delete_user(request.match_info["name"])
    except UserError as exc:
        raise _api_error(exc) from None
    return web.Response(status=204)


async def api_users_password(request: web.Request) -> web.Response:
    data = await read_json(request)
    password = data.get("password")
    if not isinstance(password, str):
        raise ApiError(400, "must be a string", "password")
    try:
        await users.set_password(request.match_info["name"], password)
    except UserError as exc:
        raise _api_error(exc) from None
    return web.Response(status=204)


OPENAPI = {
    "list": {"summary": "Users", "tags": ["users"]},
    "create": {"summary": "Create a user (by default a billing user bill-xxx); a generated "
                          "password is returned once", "tags": ["users"]},
    "delete": {"summary": "Delete a user (admin cannot be deleted)", "tags": ["users"]},
    "password": {"summary": "Change a user's password (strength checked)", "tags": ["users"]},
}

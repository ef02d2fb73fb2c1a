"""API tokens: pages and API (create shows the token once; stored as a hash only)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from coovox import users
from coovox.models import ApiToken
from coovox.users import UserError
from coovox.web.errors import ApiError, read_json
from coovox.web.i18n import gettext as _
from coovox.web.pagination import ListSpec

TOKENS = ListSpec(sortable={"id": "id", "name": "name", "last_used": "last_used_at"},
                  default_sort="-id",
                  filters={"user": ListSpec.equals_filter("user__username")})
STATUS_OF = {"invalid": 400, "not_found": 404, "conflict": 409}


async def _render(request: web.Request, status: int = 200, **extra) -> web.Response:
    page = await TOKENS.fetch(ApiToken.filter(revoked=False).prefetch_related("user"),
                              TOKENS.parse(request.query),
                              path=str(request.app.router["tokens"].url_for()))
    context = {"page": page, "users": await users.list_users(),
               "created": None, "error": ""}
    context.update(extra)
    return aiohttp_jinja2.render_template("tokens.html", request, context, status=status)


async def tokens_page(request: web.Request) -> web.Response:
    return await _render(request)


def _name(value: object) -> str:
    name = str(value or "").strip()
    if len(name) > 64:
        raise UserError("at most 64 characters", "name")
    return name


async def tokens_create(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        row, token = await users.create_token(str(form.get("user", "")),
                                              _name(form.get("name")))
    except UserError as exc:
        msg = _("No such user.") if exc.code == "not_found" else _(str(exc))
        return await _render(request, 400, error=msg)
    return await _render(request, created={"token": token, "prefix": row.prefix})


async def tokens_revoke(request: web.Request) -> web.Response:
    try:
        await users.revoke_token(users.token_id(request.match_info["id"]))
    except (ValueError, UserError):
        raise web.HTTPNotFound() from None
    raise web.HTTPFound(request.app.router["tokens"].url_for())


async def api_tokens(request: web.Request) -> web.Response:
    lq = TOKENS.parse(request.query, strict=True)
    page = await TOKENS.fetch(ApiToken.filter(revoked=False).prefetch_related("user"), lq,
                              strict=True, path=request.path)
    return web.json_response(page.as_json(users.token_dict))


async def api_tokens_create(request: web.Request) -> web.Response:
    data = await read_json(request)
    username = data.get("user")
    if not isinstance(username, str) or not username:
        raise ApiError(400, "the user name the token acts as is required", "user")
    try:
        row, token = await users.create_token(username, _name(data.get("name")))
    except UserError as exc:
        raise ApiError(STATUS_OF.get(exc.code, 400), str(exc), exc.field, exc.code) from None
    await row.fetch_related("user")
    return web.json_response(users.token_dict(row) | {"token": token}, status=201)


async def api_tokens_delete(request: web.Request) -> web.Response:
    try:
        token_id = users.token_id(request.match_info["id"])
    except ValueError:
        raise ApiError(400, "must be a whole number", "id") from None
    try:
        await users.revoke_token(token_id)
    except UserError as exc:
        raise ApiError(404, str(exc), "id") from None
    return web.Response(status=204)


OPENAPI = {
    "list": {"summary": "Active API tokens (prefix and last use; never the token)",
             "tags": ["tokens"]},
    "create": {"summary": "Create an API token; the token is returned once", "tags": ["tokens"]},
    "delete": {"summary": "Revoke an API token", "tags": ["tokens"]},
}

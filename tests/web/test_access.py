"""Route walk: EVERY registered route of the full app refuses anonymous users and wrong
roles, except the public ones. Routes added later by any plugin are picked up."""

from __future__ import annotations

import pytest
from aiohttp import web

from coovox.web.keys import ROUTES_KEY
from coovox.web.openapi import PARAM_RE
from tests.support.web import become, sample_path, token_for

PUBLIC_ALLOWED = {"sign_in", "sign_in_post", "sign_out", "language", "healthz"}
OUTSIDER = "outsider"  # a role no route lists


def _routes(client):
    return list(client.server.app[ROUTES_KEY].values())


async def _call(client, route, **kw):
    return await client.request(route.method, sample_path(route.path),
                                allow_redirects=False, **kw)


async def test_every_router_route_is_a_declared_route_or_static(client):
    """Nothing reaches the router without a Route (whose roles the middleware checks)."""
    declared = client.server.app[ROUTES_KEY]
    for resource in client.server.app.router.resources():
        if isinstance(resource, web.StaticResource):
            continue
        for route in resource:
            if route.method == "HEAD":
                continue
            assert route.name in declared, f"{route.method} {resource.canonical} bypasses roles"


async def test_only_known_routes_are_public(client):
    public = {r.name for r in _routes(client) if r.public}
    assert public <= PUBLIC_ALLOWED, f"unexpected public routes: {public - PUBLIC_ALLOWED}"


async def test_anonymous_is_refused_everywhere(client):
    routes = [r for r in _routes(client) if not r.public]
    assert len(routes) > 20
    for route in routes:
        resp = await _call(client, route)
        where = f"{route.method} {route.path}"
        if route.api:
            assert resp.status == 401, where
            assert (await resp.json())["error"]["code"] == "unauthorized", where
        else:
            assert resp.status == 302, where
            assert resp.headers["Location"].startswith("/sign-in"), where


@pytest.mark.parametrize("role", [OUTSIDER, "billing", "operator"])
async def test_wrong_role_is_refused_everywhere(client, role):
    name = await become(client, role)
    token = await token_for(name)
    checked = 0
    for route in _routes(client):
        if route.public or "*" in route.roles or role in route.roles:
            continue
        where = f"{route.method} {route.path} as {role}"
        if route.api:
            resp = await _call(client, route, headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 403, where
            assert (await resp.json())["error"]["code"] == "forbidden", where
        else:
            headers = {"X-CSRF-Token": client.csrf}
            resp = await _call(client, route, headers=headers)
            assert resp.status == 403, where
            assert "Traceback" not in await resp.text()
        checked += 1
    assert checked > 10


async def test_signed_in_users_reach_routes_for_any_role(client):
    """Routes open to any signed-in user ("*") do not answer 401/403 to an outsider role."""
    await become(client, OUTSIDER)
    for route in _routes(client):
        if "*" in route.roles and route.method == "GET" and not PARAM_RE.search(route.path):
            resp = await _call(client, route)
            assert resp.status not in (401, 403), f"{route.path}: {resp.status}"


async def test_revoked_or_unknown_tokens_are_refused(client, admin_user):
    from coovox.users import create_token, revoke_token

    row, token = await create_token("admin")
    ok = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert ok.status == 200
    await revoke_token(row.id)
    for sent in (token, "cvx_not-a-token"):
        resp = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {sent}"})
        assert resp.status == 401


FRAUD_ROUTES = {"billing_fraud", "billing_fraud_post", "billing_fraud_extension",
                "billing_fraud_extension_remove", "billing_fraud_unlock", "api_billing_fraud",
                "api_billing_fraud_patch", "api_billing_fraud_extension",
                "api_billing_fraud_extension_delete", "api_billing_fraud_trips",
                "api_billing_fraud_unlock"}


async def test_the_fraud_guard_is_for_administrators_only(client):
    """Issue 18: limits, trips and unlocking are the administrator's (walked above with
    every other route for anonymous users and wrong roles)."""
    routes = {r.name: r for r in _routes(client)}
    assert FRAUD_ROUTES <= set(routes)
    for name in FRAUD_ROUTES:
        assert routes[name].roles == ("admin",), name


# The operator's JSON API (manual 003 §7.10.1, guide 004): extensions as its pages allow
# (list, read, add, add in bulk, edit; never delete), the call log and live calls only.
OPERATOR_API = {("GET", "/api/v1/extensions"), ("POST", "/api/v1/extensions"),
                ("GET", "/api/v1/extensions/{number}"),
                ("PATCH", "/api/v1/extensions/{number}"), ("POST", "/api/v1/extensions/bulk"),
                ("GET", "/api/v1/calls"), ("GET", "/api/v1/calls/live")}


async def test_the_operators_api_routes_are_the_guides(client):
    allowed = {(r.method, r.path) for r in _routes(client) if r.api and "operator" in r.roles}
    assert allowed == OPERATOR_API


async def test_the_operator_uses_the_extensions_api_but_never_deletes(client):
    from coovox.plugins.calls.models import Extension

    token = await token_for(await become(client, "operator"))
    auth = {"Authorization": f"Bearer {token}"}

    async def call(method, path, body=None):
        resp = await client.request(method, path, json=body, headers=auth)
        return resp.status, (None if resp.status == 204 else await resp.json())

    status, ext = await call("POST", "/api/v1/extensions",
                             {"number": "100", "name": "Alice", "caller_id1": "67293500"})
    assert status == 201 and ext["caller_id1"] == "67293500"
    status, ext = await call("PATCH", "/api/v1/extensions/100", {"caller_id2": "67293600"})
    assert status == 200 and ext["caller_id2"] == "67293600"
    status, page = await call("GET", "/api/v1/extensions?keyword=Ali")
    assert status == 200 and [e["number"] for e in page["items"]] == ["100"]
    assert (await call("GET", "/api/v1/extensions/100"))[0] == 200
    status, data = await call("PATCH", "/api/v1/extensions/100", {"caller_id1": "x"})
    assert status == 400 and data["error"]["field"] == "caller_id1"
    for method, path in (("DELETE", "/api/v1/extensions/100"), ("GET", "/api/v1/trunks"),
                         ("POST", "/api/v1/dial-rules"), ("GET", "/api/v1/dial-permissions"),
                         ("PATCH", "/api/v1/pin-sets/x")):
        status, data = await call(method, path, {})
        assert (status, data["error"]["code"]) == (403, "forbidden"), (method, path)
    assert await Extension.exists(number="100")

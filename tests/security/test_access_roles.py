"""Point 8, extending ``tests/web/test_access.py`` and ``test_security.py`` (which walk the
routes as anonymous, as wrong roles with tokens, and CSRF as an administrator):

- CSRF as a *billing user*: every state-changing route a billing user may use refuses a
  request without the token (the admin walk cannot see those: admin gets 403 by role);
- a billing user's *session* (cookie + CSRF header, not a token) cannot use the admin API.
"""

from __future__ import annotations

from coovox.web.keys import ROUTES_KEY
from tests.support.web import become, sample_path

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


async def test_billing_users_forms_and_api_refuse_a_missing_csrf_token(client):
    await become(client, "billing")
    routes = [r for r in client.server.app[ROUTES_KEY].values()
              if r.method in WRITES and "billing" in r.roles and not r.public]
    assert len(routes) >= 5
    for route in routes:
        kw = {"json": {}} if route.api else {"data": {"x": "1"}}
        resp = await client.request(route.method, sample_path(route.path),
                                    allow_redirects=False, **kw)
        where = f"{route.method} {route.path}"
        assert resp.status == 403, f"{where} accepted a billing user's request without CSRF"
        if route.api:
            assert (await resp.json())["error"]["code"] == "csrf", where
        headers = {"X-CSRF-Token": client.csrf}
        kw = {"json": {}} if route.api else {"data": {"x": "1", "csrf_token": client.csrf}}
        resp = await client.request(route.method, sample_path(route.path), headers=headers,
                                    allow_redirects=False, **kw)
        if route.api and resp.status == 403:
            assert (await resp.json())["error"]["code"] != "csrf", where


async def test_a_billing_session_cannot_use_the_admin_api(client):
    await become(client, "billing")
    checked = 0
    for route in client.server.app[ROUTES_KEY].values():
        if not route.api or route.public or "billing" in route.roles or "*" in route.roles:
            continue
        resp = await client.request(route.method, sample_path(route.path),
                                    headers={"X-CSRF-Token": client.csrf}, json={},
                                    allow_redirects=False)
        assert resp.status == 403, f"{route.method} {route.path}: {resp.status}"
        assert (await resp.json())["error"]["code"] == "forbidden"
        checked += 1
    assert checked > 20

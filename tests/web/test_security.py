"""Sessions, cookies, CSRF, sign-in throttling, sign-out, error pages."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from coovox.hooktypes import Route
from coovox.web.keys import ROUTES_KEY, THROTTLE_KEY
from coovox.web.openapi import PARAM_RE
from tests.support.web import ADMIN_PASSWORD, USER_PASSWORD, become, csrf_of, sample_path

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


async def _sign_in_response(client, username, password):
    page = await client.get("/sign-in")
    return await client.post("/sign-in", data={
        "username": username, "password": password, "csrf_token": csrf_of(await page.text()),
        "next": "/"}, allow_redirects=False)


async def test_session_cookie_is_httponly_lax_and_not_secure_over_http(client, admin_user):
    resp = await _sign_in_response(client, "admin", ADMIN_PASSWORD)
    assert resp.status == 302
    morsel = resp.cookies["coovox_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert not morsel["secure"]
    assert ADMIN_PASSWORD not in morsel.value and "admin" not in morsel.value  # encrypted


async def test_session_cookie_is_secure_behind_https(coovox, aiohttp_client, admin_user):
    """X-Forwarded-Proto is believed from a trusted proxy only (issue 14: trusted_proxies)."""
    from coovox.web.app import create_app

    coovox.config = coovox.config.replace(trusted_proxies=("127.0.0.1/32",))
    client = await aiohttp_client(create_app(coovox))
    resp = await client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert resp.cookies["coovox_session"]["secure"] is True
    assert resp.cookies["coovox_session"]["httponly"] is True


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(client, admin_user):
    resp = await client.get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert not resp.cookies["coovox_session"]["secure"]


async def test_a_forged_cookie_is_not_a_session(client, admin_user):
    client.session.cookie_jar.update_cookies({"coovox_session": "garbage"})
    resp = await client.get("/users", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/sign-in")


async def test_every_state_changing_route_refuses_a_missing_csrf_token(admin_client):
    routes = [r for r in admin_client.server.app[ROUTES_KEY].values() if r.method in WRITES]
    assert len(routes) > 5
    for route in routes:
        resp = await admin_client.request(route.method, sample_path(route.path),
                                          data={"x": "1"} if not route.api else None,
                                          json={} if route.api else None,
                                          allow_redirects=False)
        assert resp.status == 403, f"{route.method} {route.path} accepted a request without CSRF"
        if route.api:
            assert (await resp.json())["error"]["code"] == "csrf"
    # the same requests with the token get past the check (whatever the handler says)
    resp = await admin_client.post("/users", data={"csrf_token": admin_client.csrf})
    assert resp.status == 200


async def test_session_api_calls_need_the_csrf_header_tokens_do_not(admin_client, admin_token):
    resp = await admin_client.post("/api/v1/users", json={})
    assert resp.status == 403
    resp = await admin_client.post("/api/v1/users", json={},
                                   headers={"X-CSRF-Token": admin_client.csrf})
    assert resp.status == 201
    admin_client.session.cookie_jar.clear()
    resp = await admin_client.post("/api/v1/users", json={},
                                   headers={"Authorization": f"Bearer {admin_token}"})
    assert resp.status == 201


async def test_failed_sign_ins_are_slowed_and_logged(client, admin_user, caplog):

    now = [1000.0]
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    throttle = client.server.app[THROTTLE_KEY]  # the running app's (fresh) throttle
    throttle.clock, throttle.sleep = (lambda: now[0]), fake_sleep
    caplog.set_level(logging.WARNING)
    for _ in range(6):
        resp = await _sign_in_response(client, "admin", "wrong")
        assert "Wrong user name or password." in await resp.text()
    assert slept == [0.5, 1.0, 2.0]  # three free attempts, then doubling
    assert "failed sign-in for user 'admin'" in caplog.text
    now[0] += 3600  # the window passes: no more delay
    resp = await _sign_in_response(client, "admin", ADMIN_PASSWORD)
    assert resp.status == 302
    assert slept == [0.5, 1.0, 2.0]


def test_throttle_caps_the_delay():
    from coovox.web.throttle import SignInThrottle

    t = SignInThrottle(free=1, base=1, cap=4, clock=lambda: 0.0)
    for _ in range(10):
        t.failed("u", "1.2.3.4")
    assert t.delay("u", "1.2.3.4") == 4
    assert t.delay("other", "1.2.3.4") == 4  # same address
    assert t.delay("other", "5.6.7.8") == 0


async def test_sign_out_ends_the_session(admin_client):
    resp = await admin_client.post("/sign-out", data={"csrf_token": admin_client.csrf},
                                   allow_redirects=False)
    assert resp.status == 302
    resp = await admin_client.get("/users", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/sign-in")


async def test_session_ends_when_password_changes_elsewhere(client):
    from coovox.users import set_password

    name = await become(client, "billing")
    assert (await client.get("/account/password", allow_redirects=False)).status == 200
    await set_password(name, "Changed-pass-2")
    resp = await client.get("/account/password", allow_redirects=False)
    assert resp.status == 302


async def test_session_ends_when_user_is_deleted(client):
    from coovox.users import delete_user

    name = await become(client, "billing")
    await delete_user(name)
    resp = await client.get("/account/password", allow_redirects=False)
    assert resp.status == 302


async def test_open_redirect_after_sign_in_is_refused(client, admin_user):
    page = await client.get("/sign-in")
    resp = await client.post("/sign-in", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_of(await page.text()),
        "next": "//evil.example/"}, allow_redirects=False)
    assert resp.headers["Location"] == "/"


# --- error pages -----------------------------------------------------------------------------


@pytest.fixture
async def crashing_client(coovox, aiohttp_client, admin_user):
    """The full app plus one page and one API route whose handlers raise."""
    from coovox.web.app import create_app
    from tests.support.web import sign_in

    async def boom(request):
        raise RuntimeError("secret internal detail")

    app = create_app(coovox)
    for route in (Route("GET", "/boom", boom, "boom"),
                  Route("GET", "/api/v1/boom", boom, "api_boom", api=True)):
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
        app[ROUTES_KEY][route.name] = route
    client = await aiohttp_client(app)
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    return client


async def test_a_crash_gives_a_500_page_without_traceback_and_is_logged(crashing_client, caplog):
    caplog.set_level(logging.ERROR)
    resp = await crashing_client.get("/boom")
    text = await resp.text()
    assert resp.status == 500
    assert "Something went wrong" in text
    assert "Traceback" not in text and "secret internal detail" not in text
    assert "RuntimeError: secret internal detail" in caplog.text
    resp = await crashing_client.get("/api/v1/boom")
    body = await resp.json()
    assert resp.status == 500 and body["error"]["code"] == "internal"
    assert "secret" not in body["error"]["message"]


async def test_404_and_403_pages(client):
    await become(client, "billing")
    resp = await client.get("/no/such/page")
    assert resp.status == 404 and "This page does not exist." in await resp.text()
    assert 'id="menu"' in await resp.text()  # the signed-in layout
    resp = await client.get("/users")
    html = await resp.text()
    assert resp.status == 403 and "You may not open this page." in html
    assert 'id="menu"' in html and "403: Forbidden" not in html
    resp = await client.get("/api/v1/nothing-here")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_menu_shows_only_entries_of_the_role(client):
    await become(client, "billing")
    html = await (await client.get("/account/password")).text()
    assert 'data-route="users"' not in html and 'data-route="weblog"' not in html
    await become(client, "admin")
    html = await (await client.get("/account/password")).text()
    assert 'data-route="users"' in html and 'data-route="weblog"' in html


def test_sample_path_fills_parameters():
    assert sample_path("/a/{id}/b/{name}") == "/a/1/b/x1"
    assert PARAM_RE.sub("", "/x/{n:\\d+}") == "/x/"
    assert web  # aiohttp imported for fixtures
    assert USER_PASSWORD

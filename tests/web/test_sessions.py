"""Issue 14.4: server-side sessions that end: a copied cookie stops working after sign-out,
a password change, the user's deletion and "sign out everywhere"; users see their own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from coovox.models import WebSession
from tests.support.web import ADMIN_PASSWORD, USER_PASSWORD, become, sign_in


class Copy:
    """Another browser holding a copy of a client's session cookie (and its CSRF token)."""

    def __init__(self, client):
        url = client.make_url("/")
        self.cookie = client.session.cookie_jar.filter_cookies(url)["coovox_session"].value
        self.csrf = client.csrf
        self.client = client

    async def _request(self, method, path, **kw):
        headers = {"Cookie": f"coovox_session={self.cookie}", "X-CSRF-Token": self.csrf,
                   "User-Agent": "copied-cookie"}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
            async with s.request(method, self.client.make_url(path), headers=headers,
                                 allow_redirects=False, **kw) as resp:
                await resp.read()
                return resp

    async def works(self, admin: bool = True) -> bool:
        """True when the copy is still signed in (page and API)."""
        page = await self._request("GET", "/account/password")
        if page.status == 302:
            assert page.headers["Location"].startswith("/sign-in")
            api = await self._request("POST", "/api/v1/users", json={})
            assert api.status == 401, api.status
            users = await self._request("GET", "/users")
            assert users.status == 302
            return False
        assert page.status == 200
        if admin:
            assert (await self._request("GET", "/users")).status == 200
        return True


async def test_sign_out_ends_a_copied_cookie(admin_client):
    copy = Copy(admin_client)
    assert await copy.works()
    resp = await admin_client.post("/sign-out", data={"csrf_token": admin_client.csrf},
                                   allow_redirects=False)
    assert resp.status == 302
    assert not await copy.works()
    assert await WebSession.all().count() == 0


async def test_own_password_change_ends_other_copies_but_not_this_browser(admin_client):
    c = admin_client
    copy = Copy(c)
    resp = await c.post("/account/password", data={
        "csrf_token": c.csrf, "current_password": ADMIN_PASSWORD,
        "new_password": "Changed-pass-2", "new_password2": "Changed-pass-2"})
    assert resp.status == 200 and 'id="password-done"' in await resp.text()
    assert not await copy.works()
    assert (await c.get("/users", allow_redirects=False)).status == 200  # still signed in
    assert await WebSession.all().count() == 1


async def test_password_set_by_an_administrator_ends_the_users_sessions(client, admin_token):
    name = await become(client, "billing")
    copy = Copy(client)
    assert await copy.works(admin=False)
    async with aiohttp.ClientSession() as s:
        resp = await s.put(client.make_url(f"/api/v1/users/{name}/password"),
                           json={"password": "Brand-new-3"},
                           headers={"Authorization": f"Bearer {admin_token}"})
        assert resp.status == 204
    assert not await copy.works(admin=False)
    assert (await client.get("/account/password", allow_redirects=False)).status == 302


async def test_deleting_the_user_ends_its_sessions(client, admin_token):
    name = await become(client, "admin")
    copy = Copy(client)
    assert await copy.works()
    async with aiohttp.ClientSession() as s:
        resp = await s.delete(client.make_url(f"/api/v1/users/{name}"),
                              headers={"Authorization": f"Bearer {admin_token}"})
        assert resp.status == 204
    assert not await copy.works()
    assert await WebSession.filter(user__username=name).count() == 0


async def test_admin_signs_a_user_out_everywhere_on_the_page(client, admin_user):
    name = await become(client, "admin", "second-admin")
    victim = Copy(client)
    await become(client, "admin", "boss")
    resp = await client.post(f"/users/{name}/sessions/end", data={"csrf_token": client.csrf})
    html = await resp.text()
    assert resp.status == 200
    assert "second-admin was signed out everywhere (1 sessions ended)." in html
    assert not await victim.works()
    assert (await client.get("/users", allow_redirects=False)).status == 200  # boss is not
    resp = await client.post("/users/nobody/sessions/end", data={"csrf_token": client.csrf})
    assert resp.status == 404


async def test_admin_signs_a_user_out_everywhere_by_api(client, admin_token):
    name = await become(client, "billing")
    copy = Copy(client)
    auth = {"Authorization": f"Bearer {admin_token}"}
    async with aiohttp.ClientSession() as s:
        listed = await (await s.get(client.make_url(f"/api/v1/users/{name}/sessions"),
                                    headers=auth)).json()
        assert listed["total"] == 1
        item = listed["items"][0]
        assert item["ip"] == "127.0.0.1" and item["current"] is False
        assert set(item) == {"id", "created_at", "last_seen_at", "ip", "user_agent", "current"}
        resp = await s.delete(client.make_url(f"/api/v1/users/{name}/sessions"), headers=auth)
        assert resp.status == 204
        resp = await s.delete(client.make_url("/api/v1/users/nobody/sessions"), headers=auth)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
        resp = await s.delete(client.make_url("/api/v1/users/" + "x" * 300 + "/sessions"),
                              headers=auth)
        assert resp.status == 404
    assert not await copy.works(admin=False)


async def test_the_sessions_page_lists_and_ends_ones_own_sessions(client, aiohttp_client,
                                                                  coovox):
    from coovox.web.app import create_app

    name = await become(client, "billing")
    other = await aiohttp_client(create_app(coovox))  # a second browser of the same user
    other.csrf = await sign_in(other, name, USER_PASSWORD)
    copy_of_other = Copy(other)
    page = await client.get("/account/sessions")
    html = await page.text()
    assert page.status == 200
    rows = re.findall(r'<tr data-session="(\d+)"( class="current")?', html)
    assert len(rows) == 2
    current = [sid for sid, cur in rows if cur]
    assert len(current) == 1 and "This session" in html
    assert "127.0.0.1" in html
    others = [sid for sid, cur in rows if not cur]
    # end the other browser's session
    resp = await client.post(f"/account/sessions/{others[0]}/end",
                             data={"csrf_token": client.csrf}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/account/sessions?done=one"
    assert not await copy_of_other.works(admin=False)
    assert (await client.get("/account/sessions", allow_redirects=False)).status == 200
    # someone else's session cannot be ended from here
    await become(client, "billing")
    resp = await client.post(f"/account/sessions/{current[0]}/end",
                             data={"csrf_token": client.csrf}, allow_redirects=False)
    assert resp.status == 404


async def test_ending_the_current_session_signs_out_and_end_others_keeps_it(
        client, aiohttp_client, coovox):
    from coovox.web.app import create_app

    name = await become(client, "billing")
    other = await aiohttp_client(create_app(coovox))
    other.csrf = await sign_in(other, name, USER_PASSWORD)
    copy_of_other = Copy(other)
    resp = await client.post("/account/sessions/end-others", data={"csrf_token": client.csrf},
                             allow_redirects=False)
    assert resp.status == 302
    assert not await copy_of_other.works(admin=False)
    html = await (await client.get(resp.headers["Location"])).text()
    assert "Other sessions ended: 1." in html
    sid = re.search(r'<tr data-session="(\d+)" class="current"', html).group(1)
    resp = await client.post(f"/account/sessions/{sid}/end", data={"csrf_token": client.csrf},
                             allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/sign-in"
    assert (await client.get("/account/password", allow_redirects=False)).status == 302


async def test_sessions_record_address_browser_and_expire(admin_client):
    row = await WebSession.get(user__username="admin")
    assert row.ip == "127.0.0.1" and row.user_agent  # aiohttp's own user agent here
    assert len(row.key_hash) == 64  # only a digest of the id is stored
    cookie = Copy(admin_client).cookie
    assert row.key_hash not in cookie
    await WebSession.filter(id=row.id).update(
        created_at=datetime.now(UTC) - timedelta(hours=13))
    assert (await admin_client.get("/users", allow_redirects=False)).status == 302
    assert await WebSession.filter(id=row.id).count() == 0


async def test_users_page_shows_session_counts_and_the_button(admin_client):
    html = await (await admin_client.get("/users")).text()
    row = re.search(r'<tr data-user="admin">.*?</tr>', html, re.S).group(0)
    assert '<td class="sessions-count">1</td>' in row
    assert "/users/admin/sessions/end" in row and "Sign out everywhere" in row


@pytest.mark.parametrize("lang", ["zh_CN"])
async def test_the_sessions_page_is_translated(admin_client, lang):
    html = await (await admin_client.get("/account/sessions",
                                         headers={"Accept-Language": "zh-CN"})).text()
    assert "我的会话" in html and "当前会话" in html

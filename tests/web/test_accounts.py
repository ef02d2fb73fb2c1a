"""Accounts (manual §7.10.1): billing users bill-xxx, passwords, admin kept; first admin."""

from __future__ import annotations

import logging
import re

import pytest

from coovox.models import User
from tests.support.web import ADMIN_PASSWORD, USER_PASSWORD, become, csrf_of, sign_in


async def test_admin_creates_a_billing_user_shown_once_who_can_sign_in(admin_client):
    resp = await admin_client.post("/users", data={"csrf_token": admin_client.csrf})
    html = await resp.text()
    assert resp.status == 200
    name = re.search(r'id="created-username">([^<]+)<', html).group(1)
    password = re.search(r'id="created-password">([^<]+)<', html).group(1)
    assert re.fullmatch(r"bill-[a-z0-9]{3}", name)
    assert len(password) == 10
    user = await User.get(username=name)
    assert user.role == "billing" and password not in user.password_hash
    # shown once: the list page does not show it again
    assert password not in await (await admin_client.get("/users")).text()
    admin_client.session.cookie_jar.clear()
    await sign_in(admin_client, name, password)
    resp = await admin_client.get("/account/password")
    assert re.search(rf'id="current-user"[^>]*>{name}<', await resp.text())


async def test_billing_names_are_unique(coovox, monkeypatch):
    from coovox import users

    seen = set()
    for _ in range(5):
        user, _pw = await users.create_billing_user()
        seen.add(user.username)
    assert len(seen) == 5
    # when every name is taken, a clear refusal
    monkeypatch.setattr(users, "BILLING_NAME_ALPHABET", "a")
    await users.create_billing_user()
    try:
        await users.create_billing_user(tries=3)
    except users.UserError as exc:
        assert exc.code == "conflict"
    else:
        raise AssertionError("a taken name was reused")


async def test_admin_cannot_be_deleted_billing_user_can(admin_client):
    html = await (await admin_client.get("/users")).text()
    assert 'action="/users/admin/delete"' not in html
    resp = await admin_client.post("/users/admin/delete", data={"csrf_token": admin_client.csrf})
    assert resp.status == 403
    assert "cannot be deleted" in await resp.text()
    assert await User.exists(username="admin")
    await User.create(username="bill-abc", password_hash="x", role="billing")
    resp = await admin_client.post("/users/bill-abc/delete",
                                   data={"csrf_token": admin_client.csrf})
    assert resp.status == 200
    assert not await User.exists(username="bill-abc")


async def test_admin_changes_a_password_with_strength_check(admin_client):
    from coovox.users import authenticate

    await User.create(username="bill-xyz", password_hash="x", role="billing")
    resp = await admin_client.post("/users/bill-xyz/password",
                                   data={"csrf_token": admin_client.csrf, "password": "weak"})
    assert resp.status == 400
    assert "at least 8 characters" in await resp.text()
    resp = await admin_client.post("/users/bill-xyz/password",
                                   data={"csrf_token": admin_client.csrf,
                                         "password": "Strong-pass-9"})
    assert resp.status == 200 and 'id="password-changed"' in await resp.text()
    assert await authenticate("bill-xyz", "Strong-pass-9") is not None


async def test_admin_changing_own_password_on_users_page_stays_signed_in(admin_client):
    resp = await admin_client.post("/users/admin/password",
                                   data={"csrf_token": admin_client.csrf,
                                         "password": "Another-pass-3"})
    assert resp.status == 200
    assert (await admin_client.get("/users", allow_redirects=False)).status == 200


async def test_each_user_changes_own_password(client):
    from coovox.users import authenticate

    name = await become(client, "billing")
    page = await client.get("/account/password")
    csrf = csrf_of(await page.text())
    bad = await client.post("/account/password", data={
        "csrf_token": csrf, "current_password": "wrong", "new_password": "New-pass-77",
        "new_password2": "New-pass-77"})
    assert bad.status == 400
    assert 'data-field="current_password"' in await bad.text()
    differ = await client.post("/account/password", data={
        "csrf_token": csrf, "current_password": USER_PASSWORD, "new_password": "New-pass-77",
        "new_password2": "New-pass-78"})
    assert 'data-field="new_password2"' in await differ.text()
    ok = await client.post("/account/password", data={
        "csrf_token": csrf, "current_password": USER_PASSWORD, "new_password": "New-pass-77",
        "new_password2": "New-pass-77"})
    assert ok.status == 200 and 'id="password-done"' in await ok.text()
    assert await authenticate(name, "New-pass-77") is not None
    # still signed in after changing one's own password
    assert (await client.get("/account/password", allow_redirects=False)).status == 200


# --- API -------------------------------------------------------------------------------------


async def test_users_api(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    resp = await client.post("/api/v1/users", json={}, headers=auth)
    assert resp.status == 201
    created = await resp.json()
    assert re.fullmatch(r"bill-[a-z0-9]{3}", created["username"])
    assert len(created["password"]) == 10 and created["role"] == "billing"
    listing = await (await client.get("/api/v1/users", headers=auth)).json()
    assert {u["username"] for u in listing["items"]} == {"admin", created["username"]}
    assert listing["total"] == 2
    assert all("password" not in u for u in listing["items"])

    path = f"/api/v1/users/{created['username']}/password"
    weak = await client.put(path, json={"password": "short"}, headers=auth)
    assert weak.status == 400
    assert (await weak.json())["error"]["field"] == "password"
    assert (await client.put(path, json={"password": "Good-pass-42"}, headers=auth)).status == 204

    refused = await client.delete("/api/v1/users/admin", headers=auth)
    assert refused.status == 403
    missing = await client.delete("/api/v1/users/nobody", headers=auth)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    gone = await client.delete(f"/api/v1/users/{created['username']}", headers=auth)
    assert gone.status == 204
    bad = await client.post("/api/v1/users", json={"role": "admin"}, headers=auth)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "role"
    body = await client.post("/api/v1/users", data="not json", headers=auth)
    assert body.status == 415  # sent as text/plain: the route reads JSON only
    assert (await body.json())["error"]["field"] == "body"
    body = await client.post("/api/v1/users", data="not json", headers={
        **auth, "Content-Type": "application/json"})
    assert body.status == 400 and "not valid JSON" in (await body.json())["error"]["message"]


# --- first administrator --------------------------------------------------------------------


async def test_first_admin_without_tty_logs_one_line(coovox, caplog):
    from coovox.runner import command_name, first_admin

    caplog.set_level(logging.WARNING)
    assert await first_admin(isatty=lambda: False) == "missing"
    assert f"no administrator yet: run `{command_name()} admin create admin`" in caplog.text


@pytest.mark.parametrize("lang, hint", [("en", "No administrator exists yet."),
                                        ("zh-CN", "尚未创建管理员。")])
async def test_sign_in_page_says_how_to_create_the_first_administrator(client, lang, hint):
    from coovox.runner import command_name
    from coovox.users import create_user

    html = await (await client.get("/sign-in", headers={"Accept-Language": lang})).text()
    assert hint in html and f"{command_name()} admin create admin" in html
    await create_user("admin", ADMIN_PASSWORD)
    html = await (await client.get("/sign-in", headers={"Accept-Language": lang})).text()
    assert hint not in html and "admin create admin" not in html


async def test_first_admin_on_a_tty_asks_until_a_good_password(coovox):
    from coovox.runner import first_admin
    from coovox.users import authenticate

    answers = iter(["weak", "weak", "Good-pass-1", "Other-pass-1", "Good-pass-1",
                    "Good-pass-1"])
    assert await first_admin(isatty=lambda: True, ask=lambda prompt: next(answers)) == "created"
    assert await authenticate("admin", "Good-pass-1") is not None
    assert await first_admin(isatty=lambda: True, ask=lambda p: "") == "exists"
    assert ADMIN_PASSWORD


async def test_users_list_paginates(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    for i in range(12):
        await User.create(username=f"bill-{i:03d}", password_hash="x", role="billing")
    page = await (await client.get("/api/v1/users", params={"per_page": "5", "page": "3"},
                                   headers=auth)).json()
    assert page["total"] == 13 and len(page["items"]) == 3
    bad = await client.get("/api/v1/users", params={"per_page": "zero"}, headers=auth)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "per_page"
    only = await (await client.get("/api/v1/users", params={"role": "admin"},
                                   headers=auth)).json()
    assert [u["username"] for u in only["items"]] == ["admin"]


async def test_roles_show_with_their_labels_in_both_languages(admin_client):
    await User.create(username="bill-lbl", password_hash="x", role="billing")
    html = await (await admin_client.get("/users")).text()
    assert "<td>Administrator</td>" in html and "<td>Billing user</td>" in html
    html = await (await admin_client.get("/users", cookies={"lang": "zh_CN"})).text()
    assert "<td>管理员</td>" in html and "<td>计费用户</td>" in html

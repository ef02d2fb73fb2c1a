"""Guide 001 §2.1 (issue 16): the administrator creates a user with a name, a password and
a role; an empty name is a generated bill-xxx and an empty password a random one shown
once; errors at their field in the page's language; never an administrator."""

from __future__ import annotations

import re

import pytest

from coovox.models import User
from tests.support.web import ADMIN_PASSWORD, sign_in

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def admin(client, admin_user):
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    return client


async def test_the_form_has_labelled_name_password_and_role(admin):
    html = await (await admin.get("/users")).text()
    form = re.search(r'<form[^>]*id="add-user-form".*?</form>', html, re.S).group(0)
    for field in ("new-username", "new-password", "new-role"):
        assert f'<label for="{field}">' in form and f'id="{field}"' in form
    assert 'name="csrf_token"' in form
    roles = re.findall(r'<option value="([^"]+)"', form)
    assert roles[0] == "billing" and "admin" not in roles


async def test_a_named_user_with_a_chosen_password(admin):
    resp = await admin.post("/users", data={"csrf_token": admin.csrf, "username": "bill-anna",
                                            "password": "Anna-pass-12", "role": "billing"})
    html = await resp.text()
    assert resp.status == 200 and 'id="created-username">bill-anna<' in html
    assert "created-password" not in html  # she knows it: not shown
    user = await User.get(username="bill-anna")
    assert user.role == "billing"
    await sign_in(admin, "bill-anna", "Anna-pass-12")


async def test_one_click_still_makes_bill_xxx_with_a_password_shown_once(admin):
    html = await (await admin.post("/users", data={"csrf_token": admin.csrf})).text()
    name = re.search(r'id="created-username">([^<]+)<', html).group(1)
    password = re.search(r'id="created-password">([^<]+)<', html).group(1)
    assert re.fullmatch(r"bill-[a-z0-9]{3}", name) and len(password) == 10
    assert (await User.get(username=name)).role == "billing"


@pytest.mark.parametrize("data, field, en, zh", [
    ({"username": "x y", "password": "Good-pass-1"}, "username", "use letters", "字母"),
    ({"username": "bill-weak", "password": "short"}, "password", "at least 8 characters",
     "至少为 8 个字符"),
    ({"username": "bill-boss", "password": "Good-pass-1", "role": "admin"}, "role",
     "choose one of the roles offered", "请选择列出的角色之一"),
    ({"username": "admin", "password": "Good-pass-1"}, "username", "already exists", "已存在"),
])
async def test_refused_input_is_shown_at_its_field(admin, data, field, en, zh):
    for headers, text in (({"Accept-Language": "en"}, en), (ZH, zh)):
        resp = await admin.post("/users", data={"csrf_token": admin.csrf, **data},
                                headers=headers)
        html = await resp.text()
        assert resp.status in (400, 409)
        error = re.search(rf'id="error-{field}">([^<]+)<', html)
        assert error and text in error.group(1), (headers, html[-2000:])
        assert 'value="Good-pass-1"' not in html  # a password is never sent back
    if data["username"] != "admin":
        assert not await User.filter(username=data["username"]).exists()


async def test_the_api_creates_named_users_too(admin, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    resp = await admin.post("/api/v1/users", headers=auth, json={
        "username": "bill-api", "password": "Api-pass-123", "role": "billing"})
    body = await resp.json()
    assert resp.status == 201 and body["username"] == "bill-api" and "password" not in body
    resp = await admin.post("/api/v1/users", headers=auth, json={"role": "admin"})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "role"
    resp = await admin.post("/api/v1/users", headers=auth, json={})
    body = await resp.json()
    assert resp.status == 201 and body["username"].startswith("bill-") and body["password"]

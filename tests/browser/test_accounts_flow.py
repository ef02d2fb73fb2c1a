"""In Chromium: the administrator signs in, creates a billing user and an API token; the
billing user signs in, changes language to Chinese and sees Chinese labels."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.support.browser import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_admin_creates_billing_user_who_signs_in_in_chinese(browser, server):
    b = browser
    page = b.page
    b.sign_in("admin", ADMIN_PASSWORD)
    assert page.locator("#menu a[data-route='users']").is_visible()

    b.goto("/users", "accounts")
    b.submit("#create-billing-user")
    page.wait_for_selector("#created-password")
    b.shot("billing-user-created")
    name = page.locator("#created-username").inner_text()
    password = page.locator("#created-password").inner_text()
    assert re.fullmatch(r"bill-[a-z0-9]{3}", name) and len(password) == 10
    assert page.locator(f"tr[data-user='{name}']").is_visible()

    # an API token, shown once, works against the JSON API
    b.goto("/tokens", "tokens")
    page.fill("#token-form input[name=name]", "browser-test")
    b.submit("#create-token")
    token = page.locator("#new-token").inner_text()
    b.shot("token-created")
    req = urllib.request.Request(server.url + "/api/v1/users",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        names = {u["username"] for u in json.load(resp)["items"]}
    assert name in names

    # the web log shows what the administrator did
    b.goto("/weblog", "weblog")
    assert page.locator("#weblog td", has_text="POST /users").count() >= 1
    b.sign_out()

    # the billing user signs in, may not open admin pages, switches to Chinese
    b.sign_in(name, password)
    assert page.locator("#menu a[data-route='users']").count() == 0
    resp = page.goto(server.url + "/users")
    assert resp.status == 403
    b.shot("billing-user-forbidden")
    b.goto("/account/password", "own-password")
    b.choose_language("zh_CN")
    page.wait_for_selector("text=修改密码")
    b.shot("chinese")
    assert "退出" in page.locator("header").inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    # the choice stays with the user: next sign-in (fresh cookies) is in Chinese too
    b.sign_in(name, password)
    assert "退出" in page.locator("header").inner_text()
    b.shot("chinese-after-sign-in")


def test_wrong_password_is_refused_with_a_message(browser):
    b = browser
    b.goto("/sign-in", "sign-in")
    b.page.fill("input[name=username]", "admin")
    b.page.fill("input[name=password]", "not-the-password")
    b.submit("#sign-in-form button[type=submit]")
    b.page.wait_for_selector("#sign-in-error")
    b.shot("sign-in-refused")
    assert "Wrong user name or password." in b.page.locator("#sign-in-error").inner_text()

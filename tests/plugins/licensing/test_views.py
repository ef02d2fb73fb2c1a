"""The licensing API and pages: roles, request download, upload, settings panel, sign-in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from coovox.users import create_token, create_user
from tests.support.licensing import Clock, issue
from tests.support.web import sign_in

API = "/api/v1/licensing/features/billing"


@pytest.fixture
def web_clock(coovox) -> Clock:
    """A clock from just after now: start-up already recorded the real time as last seen."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    clock = Clock(now=start, start=start)
    coovox.clock = clock
    return clock


@pytest.fixture
def auth(admin_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


def _device(coovox) -> str:
    return coovox.services["licensing"].status("billing")["device_id"]


async def test_api_needs_an_administrator(client, coovox):
    await create_user("bill-001", "Bill-pass-1", role="billing")
    _, billing_token = await create_token("bill-001")
    for method, path in (("GET", API), ("GET", API + "/request"), ("PUT", API + "/licence")):
        resp = await client.request(method, path)
        assert resp.status == 401, path
        resp = await client.request(method, path,
                                    headers={"Authorization": f"Bearer {billing_token}"})
        assert resp.status == 403, path
        assert (await resp.json())["error"]["code"] == "forbidden"
    for path in ("/licensing/billing/request", "/addons/licensing"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/sign-in")


async def test_api_state_follows_the_trial(client, coovox, auth, web_clock):
    body = await (await client.get(API, headers=auth)).json()
    assert body["first_activation"] is None and body["licence_uploaded"] is False
    assert body["device_id"] == _device(coovox)

    assert await coovox.plugins.afirst("coovox_feature_activate", feature="billing",
                                       active=True) is None
    body = await (await client.get(API, headers=auth)).json()
    assert body["first_activation"] == web_clock.start.isoformat()
    assert body["expires_at"] == (web_clock.start + timedelta(days=30)).isoformat()
    assert body["usable"] is True

    web_clock.day(31)
    body = await (await client.get(API, headers=auth)).json()
    assert body["usable"] is False and body["trial_expired"] is True
    refusal = await coovox.plugins.afirst("coovox_feature_activate", feature="billing",
                                          active=True)
    assert "expired" in refusal


async def test_request_file_download(client, coovox, auth):
    resp = await client.get(API + "/request", headers=auth)
    assert resp.status == 200
    assert 'filename="billing.ac"' in resp.headers["Content-Disposition"]
    body = json.loads(await resp.read())
    assert body["feature"] == "billing" and body["device_id"] == _device(coovox)


async def test_api_upload_accepts_a_good_licence(client, coovox, auth, vendor_key, web_clock):
    await coovox.plugins.afirst("coovox_feature_activate", feature="billing", active=True)
    web_clock.day(40)
    resp = await client.put(API + "/licence", data=issue(vendor_key, _device(coovox)),
                            headers=auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["expires_at"] is None and body["never_expires"] and body["licence_uploaded"]
    hook = await coovox.plugins.afirst("coovox_feature_licence", feature="billing")
    assert hook["usable"] is True and hook["expires_at"] is None


@pytest.mark.parametrize("case, code, words", [
    ("other_device", "other_device", "another device"),
    ("other_feature", "other_feature", "another feature"),
    ("truncated", "malformed", "malformed"),
    ("empty", "invalid", "empty"),
])
async def test_api_upload_refusals_name_the_check(client, coovox, auth, vendor_key, case, code,
                                                  words):
    good = issue(vendor_key, _device(coovox))
    data = {"other_device": issue(vendor_key, "CVX-11111-11111-11111-11111"),
            "other_feature": issue(vendor_key, _device(coovox), feature="x"),
            "truncated": good[:40], "empty": b""}[case]
    resp = await client.put(API + "/licence", data=data, headers=auth)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == code and words in error["message"]


async def test_unknown_feature_name_is_404(client, auth):
    resp = await client.get("/api/v1/licensing/features/Bad%20Name", headers=auth)
    assert resp.status == 404


async def test_settings_upload_form_redirects_with_a_message(admin_client, coovox, vendor_key):
    page = await admin_client.get("/addons/licensing")
    text = await page.text()
    assert "Download Billing Source File" in text and _device(coovox) in text
    assert 'href="/licensing/billing/request"' in text

    async def upload(data: bytes, csrf: str):
        form = aiohttp.FormData()
        form.add_field("csrf_token", csrf)
        form.add_field("next", "/addons/licensing")
        form.add_field("licence", data, filename="billing.lic",
                       content_type="application/octet-stream")
        return await admin_client.post("/licensing/billing/licence", data=form,
                                       allow_redirects=False)

    resp = await upload(b"nonsense", "wrong-token")
    assert resp.status == 403
    resp = await upload(b"nonsense", admin_client.csrf)
    assert resp.status == 302
    assert "licence=malformed" in resp.headers["Location"]
    page = await admin_client.get(resp.headers["Location"])
    assert "malformed file" in await page.text()

    resp = await upload(issue(vendor_key, _device(coovox)), admin_client.csrf)
    page = await admin_client.get(resp.headers["Location"])
    text = await page.text()
    assert "The licence was accepted." in text and "Never expires" in text
    assert re.search(r'id="licence-uploaded">Yes<', text)


async def test_panel_in_chinese(admin_client, coovox):
    page = await admin_client.get("/addons/licensing", headers={"Accept-Language": "zh-CN"})
    text = await page.text()
    assert "下载计费证书源文件" in text and "首次启用时间" in text


async def test_billing_user_cannot_sign_in_after_expiry(client, coovox, web_clock):
    await create_user("bill-002", "Bill-pass-2", role="billing")
    await coovox.plugins.afirst("coovox_feature_activate", feature="billing", active=True)
    web_clock.day(29)
    await sign_in(client, "bill-002", "Bill-pass-2")  # asserts the redirect
    client.session.cookie_jar.clear()

    web_clock.day(31)
    page = await client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post("/sign-in", data={"username": "bill-002", "password": "Bill-pass-2",
                                               "csrf_token": csrf, "next": "/"},
                             allow_redirects=False)
    assert resp.status == 200
    assert "The billing trial has expired: ask your administrator to upload a licence." \
        in await resp.text()

"""Manual §7.9.1 (issue 16): the web log records what was changed (the parameters, secrets
masked) and keeps its rows for a number of days (a setting); older rows are deleted."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from coovox.models import WebLog
from coovox.web import weblog
from tests.support.web import ADMIN_PASSWORD, sign_in

ZH = {"Accept-Language": "zh-CN"}


def test_secrets_are_masked_and_the_csrf_token_left_out():
    params = weblog.masked_params([
        ("csrf_token", "abc"), ("username", "bill-x"), ("password", "Secret-1"),
        ("new_password2", "x"), ("pins", "1234\n5678"), ("pin", "99"), ("pin_set", "staff"),
        ("api_key", "k"), ("licence", "L"), ("extensions", "100"), ("extensions", "101"),
        ("amount", "1" * 500), ("nested", {"token": "t", "name": "n"})])
    assert "csrf_token" not in params
    for secret in ("password", "new_password2", "pins", "pin", "api_key", "licence"):
        assert params[secret] == "***", secret
    assert params["username"] == "bill-x" and params["pin_set"] == "staff"
    assert params["extensions"] == ["100", "101"]
    assert len(params["amount"]) == weblog.MAX_VALUE + 1
    assert params["nested"] == {"token": "***", "name": "n"}
    text = weblog.details_json(params)
    assert "Secret-1" not in text and "1234" not in text and "abc" not in text
    assert weblog.details_pairs(weblog.details_json({"a": "1", "b": ["x", "y"]})) == [
        "a=1", 'b=["x", "y"]']
    assert weblog.details_json({}) == "" and weblog.details_pairs("") == []
    deep: dict = {"v": 1}
    for _ in range(50):
        deep = {"a": deep}
    assert weblog.masked_params([("deep", deep)]) == {"deep": {"a": {"a": {"a": {"a": "…"}}}}}


@pytest.mark.parametrize("value, ok", [("30", 30), (" 7 ", 7), ("3650", 3650), ("0", None),
                                       ("3651", None), ("x", None), ("", None), (True, None)])
def test_retention_is_a_whole_number_of_days(value, ok):
    if ok is None:
        with pytest.raises(ValueError):
            weblog.parse_retention(value)
    else:
        assert weblog.parse_retention(value) == ok


@pytest.fixture
async def admin(client, admin_user):
    client.csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    return client


async def test_a_form_records_its_parameters_with_secrets_masked(admin):
    await admin.post("/users", data={"csrf_token": admin.csrf, "username": "bill-log",
                                     "password": "Log-pass-123", "role": "billing"})
    row = await WebLog.filter(action="POST /users").order_by("-id").first()
    details = json.loads(row.details)
    assert details == {"username": "bill-log", "password": "***", "role": "billing"}
    html = await (await admin.get("/weblog")).text()
    assert "<code>username=bill-log</code>" in html and "<code>password=***</code>" in html
    assert "Log-pass-123" not in html and admin.csrf not in row.details


async def test_the_json_api_records_its_body_masked(admin, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    await admin.put("/api/v1/users/admin/password", json={"password": "Other-pass-12"},
                    headers=auth)
    row = await WebLog.filter(action="PUT /api/v1/users/admin/password").first()
    assert json.loads(row.details) == {"password": "***"}
    body = await (await admin.get("/api/v1/weblog", headers=auth)).json()
    entry = next(i for i in body["items"] if i["action"] == "PUT /api/v1/users/admin/password")
    assert entry["details"] == {"password": "***"}


async def test_a_refused_request_never_records_a_secret(admin):
    resp = await admin.post("/users", data={"username": "bill-nope",
                                            "password": "Refused-pass-1"})
    assert resp.status == 403  # no CSRF token
    row = await WebLog.filter(action="POST /users").order_by("-id").first()
    assert row.result.startswith("403") and "Refused-pass-1" not in row.details


async def test_retention_setting_deletes_old_rows(admin, coovox):
    now = coovox.now()
    old = await WebLog.create(action="POST /old", username="admin")
    await WebLog.filter(id=old.id).update(at=now - timedelta(days=40))
    recent = await WebLog.create(action="POST /recent", username="admin")
    await WebLog.filter(id=recent.id).update(at=now - timedelta(days=20))
    html = await (await admin.get("/weblog")).text()
    assert 'name="retention_days"' in html and 'value="180"' in html
    assert '<label for="retention-days"' in html
    resp = await admin.post("/weblog/settings", data={"csrf_token": admin.csrf,
                                                      "retention_days": "30"})
    assert resp.status == 200 and "saved=1" in str(resp.url)
    assert not await WebLog.filter(action="POST /old").exists()
    assert await WebLog.filter(action="POST /recent").exists()
    assert await weblog.retention_days() == 30
    setting = await WebLog.filter(action="POST /weblog/settings").first()
    assert json.loads(setting.details) == {"retention_days": "30"}


@pytest.mark.parametrize("headers, text", [
    ({"Accept-Language": "en"}, "Keep for (days) must be a whole number of days from 1 to 3650"),
    (ZH, "保留天数必须是 1 到 3650 之间的整数天数")])
async def test_a_wrong_retention_is_explained_at_the_field(admin, headers, text):
    resp = await admin.post("/weblog/settings", headers=headers,
                            data={"csrf_token": admin.csrf, "retention_days": "0"})
    html = await resp.text()
    assert resp.status == 400 and text in html and 'id="error-retention_days"' in html
    assert await weblog.retention_days() == weblog.DEFAULT_RETENTION_DAYS


async def test_the_api_reads_and_changes_the_retention(admin, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    assert (await (await admin.get("/api/v1/weblog/settings", headers=auth)).json()) == {
        "retention_days": 180}
    resp = await admin.patch("/api/v1/weblog/settings", json={"retention_days": 7},
                             headers=auth)
    assert resp.status == 200 and (await resp.json())["retention_days"] == 7
    resp = await admin.patch("/api/v1/weblog/settings", json={"retention_days": "many"},
                             headers=auth)
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["field"] == "retention_days"

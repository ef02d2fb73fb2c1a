"""Bulk add of extensions with outbound caller IDs (manual 003 §4.1.2 批量添加): the plan
(pure), the JSON API and the form in both languages."""

from __future__ import annotations

import pytest

from coovox.plugins.calls.models import Extension
from coovox.plugins.outbound import bulk
from coovox.plugins.outbound.rules import Invalid


def test_the_guides_example_1050_to_1059_with_67293500_up():
    plan = bulk.plan({"start": "1050", "count": 10, "caller_id1_start": "67293500",
                      "caller_id1_method": "increment"})
    assert plan.rows[0] == ("1050", "67293500", "")
    assert plan.rows[-1] == ("1059", "67293509", "")
    assert (plan.dial_permission, plan.enabled) == ("DialPlan1", True)


def test_widths_plus_signs_and_same_for_all():
    assert bulk.numbers("0098", 3) == ["0098", "0099", "0100"]
    assert bulk.caller_ids("+861099", 2, "increment", "f") == ["+861099", "+861100"]
    assert bulk.caller_ids("01000", 2, "same", "f") == ["01000", "01000"]
    assert bulk.caller_ids("", 2, "increment", "f") == ["", ""]


@pytest.mark.parametrize("data, field", [
    ({"count": 2}, "start"),
    ({"start": "100", "count": 0}, "count"),
    ({"start": "100", "count": 1001}, "count"),
    ({"start": "100", "count": "x"}, "count"),
    ({"start": "100", "count": 2, "caller_id1_start": "12a"}, "caller_id1_start"),
    ({"start": "100", "count": 2, "caller_id2_method": "double"}, "caller_id2_method"),
    ({"start": "100", "count": 2, "caller_id2_start": "9" * 20}, "caller_id2_start"),
    ({"start": "9" * 32, "count": 2}, "start"),
    ({"start": "100", "count": 2, "name": "x"}, "name"),
])
def test_bad_plans_name_the_field(data, field):
    with pytest.raises(Invalid) as exc:
        bulk.plan(data)
    assert exc.value.field == field


async def test_the_api_adds_all_or_nothing(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    resp = await client.post("/api/v1/extensions/bulk", headers=auth, json={
        "start": "121", "count": 2, "caller_id1_start": "+8610555",
        "caller_id2_start": "67293500", "caller_id2_method": "same"})
    assert resp.status == 201 and await resp.json() == {"created": 2, "numbers": ["121", "122"]}
    rows = await Extension.all().order_by("number").values_list("number", "caller_id1",
                                                               "caller_id2")
    assert rows == [("121", "+8610555", "67293500"), ("122", "+8610556", "67293500")]
    resp = await client.post("/api/v1/extensions/bulk", headers=auth,
                             json={"start": "120", "count": 5})
    data = await resp.json()
    assert resp.status == 409 and data["error"]["field"] == "start"
    assert "121, 122 already exist" in data["error"]["message"]
    assert await Extension.all().count() == 2
    resp = await client.post("/api/v1/extensions/bulk", headers=auth,
                             json={"start": "200", "count": 1, "dial_permission": "Nope"})
    assert resp.status == 404 and (await resp.json())["error"]["field"] == "dial_permission"


async def test_the_form_in_chinese_and_its_errors(admin_client):
    html = await (await admin_client.get("/calls/extensions")).text()
    assert 'id="bulk-add"' in html
    zh = {"Accept-Language": "zh-CN"}
    html = await (await admin_client.get("/calls/extensions/bulk", headers=zh)).text()
    for label in ("批量添加", "开始分机号", "数量", "起始外呼显示号码1", "计算方式1", "依次加1",
                  "起始外呼显示号码2", "计算方式2", "拨号权限"):
        assert label in html, label
    resp = await admin_client.post("/calls/extensions/bulk", headers=zh, data={
        "csrf_token": admin_client.csrf, "start": "1050", "count": "0",
        "caller_id1_method": "increment", "caller_id2_method": "increment",
        "dial_permission": "DialPlan1"})
    html = await resp.text()
    assert resp.status == 400 and 'id="error-count"' in html and "必须在 1 到 1000 之间" in html
    resp = await admin_client.post("/calls/extensions/bulk", data={
        "csrf_token": admin_client.csrf, "start": "1050", "count": "10",
        "caller_id1_start": "67293500", "caller_id1_method": "increment",
        "caller_id2_method": "same", "dial_permission": "DialPlan1", "enabled": "1"})
    assert resp.status == 200  # followed to the list
    assert "Added 10 extensions: 1050 to 1059." in await resp.text()
    ext = await Extension.get(number="1059")
    assert (ext.caller_id1, ext.caller_id2, ext.enabled) == ("67293509", "", True)
    resp = await admin_client.post("/calls/extensions/bulk", data={"start": "1", "count": "1"})
    assert resp.status == 403  # no CSRF token


async def test_the_operator_adds_in_bulk(client, admin_user):
    from tests.support.web import become

    await become(client, "operator")
    resp = await client.post("/calls/extensions/bulk", data={
        "csrf_token": client.csrf, "start": "300", "count": "3",
        "dial_permission": "DialPlan1"}, allow_redirects=False)
    assert resp.status == 302 and await Extension.all().count() == 3

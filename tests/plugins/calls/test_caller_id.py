"""Outbound caller IDs and call methods (manual 003 §4.1.2, §4.2, §4.3.2) through the ARI
double: what the trunk leg is given, the order trunks are tried in; the JSON API, the forms
(both languages) and the CSV columns of extensions."""

from __future__ import annotations

import io
import re

import pytest

from coovox.plugins.calls.models import DialRule, Extension, Trunk
from coovox.sim import FarEnd
from tests.support.call_app import finished

ZH = {"Accept-Language": "zh-CN"}


async def _dialled_caller_id(double, start: int = 0) -> str:
    """The caller ID number the trunk leg carries when it is dialled (Asterisk copies the
    caller's caller ID into the new leg's connected line: what the carrier is sent)."""
    event = await double.wait_event("Dial", dialstatus="", start=start)
    return event["peer"]["connected"]["number"]


async def test_the_extensions_first_caller_id_goes_out_by_default(app, double):
    await Extension.filter(number="100").update(caller_id1="67293500", caller_id2="67293600")
    double.far_end("55510", FarEnd(hangup_after=0.1))
    caller = await double.place_call("100", "955510")
    assert await _dialled_caller_id(double) == "67293500"
    setvar = await double.wait_request("POST", r"/variable$")
    assert setvar.path.endswith(f"/channels/{caller}/variable")
    assert (setvar.query["variable"], setvar.query["value"]) == ("CALLERID(num)", "67293500")
    (row,) = await finished()
    assert (row.status, row.trunk) == ("answered", "pstn")


async def test_a_rule_choosing_the_second_caller_id(app, double):
    await Extension.filter(number="100").update(caller_id1="67293500", caller_id2="+8610555")
    await DialRule.filter(name="Out").update(caller_id=2)
    double.far_end("55520", FarEnd(hangup_after=0.1))
    await double.place_call("100", "955520")
    assert await _dialled_caller_id(double) == "+8610555"
    await finished()


async def test_a_trunk_preferring_its_own_caller_id_and_failover(app, double):
    """Rule Failover tries 'bad' (congestion) then 'pstn': each leg gets its trunk's
    caller ID; 'pstn' prefers the extension's."""
    await Extension.filter(number="101").update(caller_id1="67293501")
    await Trunk.filter(name="bad").update(caller_id="02112345678", prefer="trunk")
    await Trunk.filter(name="pstn").update(caller_id="02187654321")
    double.far_end("55530", FarEnd(hangup_after=0.1))
    double.far_end("555309", FarEnd(congestion=True))  # 'bad' appends a 9
    await double.place_call("101", "755530")
    assert await _dialled_caller_id(double) == "02112345678"
    (row,) = await finished()
    assert (row.status, row.trunk) == ("answered", "pstn")
    dials = [e for e in double.sent_events if e.event["type"] == "Dial"
             and e.event["dialstatus"] == ""]
    assert [d.event["peer"]["connected"]["number"] for d in dials] == [
        "02112345678", "67293501"]


async def test_without_caller_ids_the_caller_id_is_left_alone(app, double):
    double.far_end("55540", FarEnd(hangup_after=0.1))
    await double.place_call("102", "955540")
    assert await _dialled_caller_id(double) == "102"
    await finished()
    assert not [r for r in double.requests if r.path.endswith("/variable")]


async def test_round_robin_starts_each_call_at_the_next_trunk(app, double):
    await Trunk.create(name="alt", dial_string="Local/{number}@alt")
    await DialRule.filter(name="Out").update(trunks=["pstn", "alt"], call_method="round_robin")
    for i in range(3):
        double.far_end(f"5556{i}0", FarEnd(hangup_after=0.05))
        await double.place_call("100", f"95556{i}0")
        await finished(i + 1)
    rows = await finished(3)
    assert [(r.status, r.trunk) for r in rows] == [
        ("answered", "pstn"), ("answered", "alt"), ("answered", "pstn")]


async def test_round_robin_fails_over_to_the_rest(app, double):
    await Trunk.create(name="alt", dial_string="Local/{number}9@alt")
    await DialRule.filter(name="Out").update(trunks=["alt", "pstn"], call_method="round_robin")
    double.far_end("55570", FarEnd(hangup_after=0.05))
    double.far_end("555709", FarEnd(congestion=True))
    for n in range(1, 3):  # the first call starts at alt (fails over), the second at pstn
        await double.place_call("100", "955570")
        await finished(n)
    creates = [r.query["endpoint"] for r in double.requests if r.path.endswith("/create")]
    assert creates == ["Local/555709@alt", "Local/55570@pstn", "Local/55570@pstn"]


# --- the JSON API ------------------------------------------------------------------------


@pytest.fixture
async def api(client, admin_token):
    async def call(method: str, path: str, body=None, status: int | None = None):
        resp = await client.request(method, path, json=body,
                                    headers={"Authorization": f"Bearer {admin_token}"})
        data = None if resp.status == 204 else await resp.json()
        if status is not None:
            assert resp.status == status, data
        return data
    return call


async def test_api_fields_round_trip(api):
    ext = await api("POST", "/api/v1/extensions", {"number": "100", "caller_id1": "67293500",
                                                  "caller_id2": "+8610555"}, 201)
    assert (ext["caller_id1"], ext["caller_id2"]) == ("67293500", "+8610555")
    trunk = await api("POST", "/api/v1/trunks", {"name": "ims", "dial_string": "PJSIP/{number}@i",
                                                "caller_id": "02112345678", "prefer": "trunk"},
                      201)
    assert (trunk["caller_id"], trunk["prefer"]) == ("02112345678", "trunk")
    rule = await api("POST", "/api/v1/dial-rules", {"name": "out", "pattern": "X.",
                                                   "trunks": ["ims"]}, 201)
    assert (rule["caller_id"], rule["call_method"]) == (1, "sequential")  # the defaults
    rule = await api("PATCH", "/api/v1/dial-rules/out", {"caller_id": 2,
                                                        "call_method": "round_robin"}, 200)
    assert (rule["caller_id"], rule["call_method"]) == (2, "round_robin")
    ext = await api("PATCH", "/api/v1/extensions/100", {"caller_id2": ""}, 200)
    assert ext["caller_id2"] == ""


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/extensions", {"number": "100", "caller_id1": "12ab"}, "caller_id1"),
    ("/api/v1/extensions", {"number": "100", "caller_id2": "1" * 21}, "caller_id2"),
    ("/api/v1/trunks", {"name": "t", "dial_string": "X/{number}", "caller_id": "+"}, "caller_id"),
    ("/api/v1/trunks", {"name": "t", "dial_string": "X/{number}", "prefer": "mine"}, "prefer"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["t"], "caller_id": 3},
     "caller_id"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["t"],
                            "call_method": "random"}, "call_method"),
])
async def test_api_refuses_bad_values_naming_the_field(api, path, body, field):
    data = await api("POST", path, body, 400)
    assert data["error"]["field"] == field, data


# --- the forms ---------------------------------------------------------------------------


async def test_forms_show_the_guide_labels_in_chinese(admin_client):
    await Trunk.create(name="carrier", dial_string="PJSIP/{number}@carrier")
    for path, labels in (
            ("/calls/extensions/new", ("外呼显示号码1", "外呼显示号码2", "通过中继外呼时被叫方")),
            ("/calls/trunks/new", ("外呼显示号码", "优先使用", "分机外呼显示号码",
                                   "中继外呼显示号码")),
            ("/calls/dial-rules/new", ("呼叫方法", "顺序", "轮询", "分机外呼显示号码2"))):
        html = await (await admin_client.get(path, headers=ZH)).text()
        for label in labels:
            assert label in html, (path, label)
    html = await (await admin_client.get("/calls/dial-rules/new")).text()
    assert re.search(r'<option value="sequential" selected>Sequential</option>', html)
    assert '<option value="1" selected>Extension&#39;s caller ID 1</option>' in html


async def test_forms_save_and_show_the_choices(admin_client):
    csrf = admin_client.csrf
    await Trunk.create(name="carrier", dial_string="PJSIP/{number}@carrier")
    resp = await admin_client.post("/calls/dial-rules/new", data={
        "csrf_token": csrf, "name": "out", "pattern": "X.", "trunks": "carrier",
        "caller_id": "2", "call_method": "round_robin"}, allow_redirects=False)
    assert resp.status == 302
    rule = await DialRule.get(name="out")
    assert (rule.caller_id, rule.call_method) == (2, "round_robin")
    html = await (await admin_client.get("/calls/dial-rules/out/edit")).text()
    assert '<option value="round_robin" selected>' in html
    assert '<option value="2" selected>' in html
    resp = await admin_client.post("/calls/extensions/new", data={
        "csrf_token": csrf, "number": "100", "dial_permission": "DialPlan1",
        "caller_id1": "67293500", "caller_id2": ""}, allow_redirects=False)
    assert resp.status == 302
    html = await (await admin_client.get("/calls/extensions")).text()
    assert "67293500" in html and "Outbound caller ID 1" in html


async def test_a_bad_caller_id_is_shown_at_its_field_in_the_readers_language(admin_client):
    for headers, text in (({}, "must be 3 to 20 digits"), (ZH, "必须是 3 到 20 位数字")):
        resp = await admin_client.post("/calls/extensions/new", headers=headers, data={
            "csrf_token": admin_client.csrf, "number": "100", "dial_permission": "DialPlan1",
            "caller_id1": "", "caller_id2": "86-10"})
        html = await resp.text()
        assert resp.status == 400
        field = html.split('data-field="caller_id2"')[1].split("</div>\n  </div>")[0]
        assert text in field and 'value="86-10"' in field
    resp = await admin_client.post("/calls/trunks/new", headers=ZH, data={
        "csrf_token": admin_client.csrf, "name": "t", "dial_string": "X/{number}",
        "prefer": "mine"})
    assert resp.status == 400 and "必须是以下之一" in await resp.text()
    assert not await Extension.exists() and not await Trunk.exists()


async def test_csv_export_and_import_carry_the_caller_ids(admin_client):
    await Extension.create(number="100", name="Alice", caller_id1="+8610555", caller_id2="2000")
    raw = await (await admin_client.get("/calls/extensions/export.csv")).read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM, as every CSV
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[:2] == [
        "number,name,enabled,dial_permission,caller_id1,caller_id2",
        "100,Alice,true,DialPlan1,'+8610555,2000"]
    data = text.replace("2000", "3000") + "101,Bob,true,DialPlan1,67293501,\r\n"
    resp = await admin_client.post("/calls/extensions/import", data={
        "csrf_token": admin_client.csrf, "file": io.BytesIO(data.encode())})
    assert resp.status == 200, await resp.text()
    rows = await Extension.all().order_by("number").values_list("number", "caller_id1",
                                                               "caller_id2")
    assert rows == [("100", "+8610555", "3000"), ("101", "67293501", "")]
    resp = await admin_client.post("/calls/extensions/import", data={
        "csrf_token": admin_client.csrf,
        "file": io.BytesIO(b"number,caller_id1\r\n102,12\r\n")})
    assert "line 2: Outbound caller ID 1: must be 3 to 20 digits" in await resp.text()
    assert not await Extension.exists(number="102")

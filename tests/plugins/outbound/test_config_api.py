"""The outbound configuration JSON API: CRUD, validation, conflicts, pagination."""

from __future__ import annotations

import pytest


@pytest.fixture
async def api(client, admin_token):
    client.headers = {"Authorization": f"Bearer {admin_token}"}

    async def call(method: str, path: str, body=None, status: int | None = None):
        resp = await client.request(method, path, json=body,
                                    headers={"Authorization": f"Bearer {admin_token}"})
        data = None if resp.status == 204 else await resp.json()
        if status is not None:
            assert resp.status == status, data
        return resp.status, data
    return call


async def _setup_routing(api):
    await api("POST", "/api/v1/trunks", {"name": "carrier", "dial_string": "PJSIP/{number}@carrier"}, 201)
    await api("POST", "/api/v1/pin-sets", {"name": "staff", "pins": ["1234", "0007"]}, 201)
    await api("POST", "/api/v1/dial-rules", {"name": "out", "prefix": "9", "pattern": "X.",
                                             "trunks": ["carrier"], "time_limit": 600,
                                             "pin_set": "staff"}, 201)
    await api("POST", "/api/v1/dial-permissions", {"name": "full", "dial_rules": ["out"]}, 201)


async def test_default_permission_exists_and_extension_crud(api):
    _, perms = await api("GET", "/api/v1/dial-permissions", status=200)
    assert [p["name"] for p in perms["items"]] == ["DialPlan1"]
    _, ext = await api("POST", "/api/v1/extensions", {"number": "100", "name": "Ann"}, 201)
    assert ext == {"number": "100", "name": "Ann", "enabled": True, "dial_permission": "DialPlan1",
                   "caller_id1": "", "caller_id2": ""}
    _, ext = await api("PATCH", "/api/v1/extensions/100", {"enabled": False}, 200)
    assert ext["enabled"] is False and ext["name"] == "Ann"
    _, got = await api("GET", "/api/v1/extensions/100", status=200)
    assert got == ext
    await api("DELETE", "/api/v1/extensions/100", status=204)
    _, err = await api("GET", "/api/v1/extensions/100", status=404)
    assert err["error"]["code"] == "not_found"


async def test_routing_objects_round_trip(api):
    await _setup_routing(api)
    _, rule = await api("GET", "/api/v1/dial-rules/out", status=200)
    assert rule["trunks"] == ["carrier"] and rule["pin_set"] == "staff" and rule["time_limit"] == 600
    _, pins = await api("GET", "/api/v1/pin-sets/staff", status=200)
    assert pins["pins"] == ["1234", "0007"]
    await api("POST", "/api/v1/extensions", {"number": "101", "dial_permission": "full"}, 201)


BAD_INPUT = [
    ("/api/v1/extensions", {"number": "10a"}, "number"),
    ("/api/v1/extensions", {"number": "1" * 33}, "number"),
    ("/api/v1/extensions", {"number": "100", "enabled": "perhaps"}, "enabled"),
    ("/api/v1/extensions", {"number": "100", "dial_permission": "nope"}, "dial_permission"),
    ("/api/v1/extensions", {"number": "100", "colour": "red"}, "colour"),
    ("/api/v1/trunks", {"name": "t", "dial_string": "PJSIP/123@carrier"}, "dial_string"),
    ("/api/v1/trunks", {"name": "t", "dial_string": "{number}@carrier"}, "dial_string"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X[1-", "trunks": ["carrier"]}, "pattern"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["ghost"]}, "trunks"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": []}, "trunks"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["carrier"],
                            "time_limit": 59}, "time_limit"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["carrier"],
                            "time_limit": 3601}, "time_limit"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["carrier"],
                            "prefix": "9a"}, "prefix"),
    ("/api/v1/dial-rules", {"name": "r", "pattern": "X.", "trunks": ["carrier"],
                            "pin_set": "ghost"}, "pin_set"),
    ("/api/v1/dial-permissions", {"name": "p", "dial_rules": ["ghost"]}, "dial_rules"),
    ("/api/v1/pin-sets", {"name": "s", "pins": ["12", "12"]}, "pins"),
    ("/api/v1/pin-sets", {"name": "s", "pins": ["1" * 17]}, "pins"),
    ("/api/v1/pin-sets", {"name": "s", "pins": [1234]}, "pins"),
    ("/api/v1/trunks", {"name": "a/b", "dial_string": "PJSIP/{number}@c"}, "name"),
    ("/api/v1/trunks", {"name": "t", "dial_string": "PJSIP/{number}@c", "max_calls": 0},
     "max_calls"),
]


# a reference to something that does not exist: 404 naming the field (as billing's)
MISSING = {("dial_permission", "nope"), ("trunks", "ghost"), ("pin_set", "ghost"),
           ("dial_rules", "ghost")}


async def test_bad_input_is_400_naming_the_field(api):
    await api("POST", "/api/v1/trunks", {"name": "carrier", "dial_string": "PJSIP/{number}@c"}, 201)
    for path, body, field in BAD_INPUT:
        status, err = await api("POST", path, body)
        value = body.get(field)
        first = value[0] if isinstance(value, list) and value else value
        missing = isinstance(first, str) and (field, first) in MISSING
        assert status == (404 if missing else 400), (path, body, err)
        assert err["error"]["field"] == field and err["error"]["message"], (body, err)
    _, page = await api("GET", "/api/v1/dial-rules", status=200)
    assert page["total"] == 0


async def test_not_json_body_is_400(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    resp = await client.post("/api/v1/trunks", data=b"{nope",
                             headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post("/api/v1/trunks", data=b"{nope", headers=auth)  # octet-stream
    assert resp.status == 415 and (await resp.json())["error"]["field"] == "body"


async def test_duplicates_conflict(api):
    await api("POST", "/api/v1/extensions", {"number": "100"}, 201)
    _, err = await api("POST", "/api/v1/extensions", {"number": "100"}, 409)
    assert err["error"]["field"] == "number"
    await api("POST", "/api/v1/dial-permissions", {"name": "DialPlan1"}, 409)


async def test_deleting_what_is_used_is_409_naming_the_user(api):
    await _setup_routing(api)
    await api("POST", "/api/v1/extensions", {"number": "101", "dial_permission": "full"}, 201)
    for path, user in [("/api/v1/trunks/carrier", "out"), ("/api/v1/pin-sets/staff", "out"),
                       ("/api/v1/dial-rules/out", "full"), ("/api/v1/dial-permissions/full", "101")]:
        _, err = await api("DELETE", path, status=409)
        assert user in err["error"]["message"]
    await api("DELETE", "/api/v1/dial-permissions/DialPlan1", status=409)
    await api("DELETE", "/api/v1/extensions/101", status=204)
    await api("DELETE", "/api/v1/dial-permissions/full", status=204)
    await api("DELETE", "/api/v1/dial-rules/out", status=204)
    await api("DELETE", "/api/v1/trunks/carrier", status=204)


async def test_unknown_items_are_404(api):
    for path in ("/api/v1/trunks/x", "/api/v1/dial-rules/x", "/api/v1/pin-sets/x",
                 "/api/v1/dial-permissions/x", "/api/v1/extensions/999"):
        await api("GET", path, status=404)
        await api("PATCH", path, {}, 404)
        await api("DELETE", path, status=404)


async def test_key_cannot_be_renamed(api):
    await api("POST", "/api/v1/extensions", {"number": "100"}, 201)
    _, err = await api("PATCH", "/api/v1/extensions/100", {"number": "200"}, 400)
    assert err["error"]["field"] == "number"


async def test_pagination_filters_and_sort(api):
    from coovox.plugins.calls.models import Extension

    await Extension.bulk_create([Extension(number=str(1000 + i), name=f"n{i}", enabled=i % 2 == 0)
                                 for i in range(25)])
    _, page = await api("GET", "/api/v1/extensions?page=2&per_page=10", status=200)
    assert page["total"] == 25 and [e["number"] for e in page["items"]] == [str(n) for n in range(1010, 1020)]
    _, page = await api("GET", "/api/v1/extensions?enabled=false&sort=-number&per_page=3", status=200)
    assert page["total"] == 12 and [e["number"] for e in page["items"]] == ["1023", "1021", "1019"]
    _, page = await api("GET", "/api/v1/extensions?keyword=n2", status=200)
    assert sorted(e["number"] for e in page["items"]) == ["1002", "1020", "1021", "1022", "1023", "1024"]
    _, err = await api("GET", "/api/v1/extensions?per_page=0", status=400)
    assert err["error"]["field"] == "per_page"


async def test_billing_user_and_anonymous_are_refused(client, coovox):
    resp = await client.get("/api/v1/extensions")
    assert resp.status == 401


@pytest.mark.postgres
async def test_configuration_on_postgresql(pg_url, tmp_path):
    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost
    from coovox.plugins.calls.models import Extension
    from coovox.plugins.outbound import csv as config_csv
    from coovox.plugins.outbound import services as svc
    from coovox.plugins.outbound.lists import LIST_SPECS

    config = load_config(environ={}, data_dir=str(tmp_path / "d"), database_url=pg_url,
                         secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        await svc.ensure_defaults()
        await svc.ensure_defaults()
        kinds = svc.KINDS
        await svc.create(kinds["trunk"], {"name": "carrier", "dial_string": "PJSIP/{number}@c"})
        await svc.create(kinds["dial rule"], {"name": "out", "pattern": "X.",
                                              "trunks": ["carrier"],
                                              "condition": {"days": [4, 0], "start": "08:00",
                                                            "end": "18:00"}})
        await svc.update(kinds["dial permission"], "DialPlan1", {"dial_rules": ["out"]})
        with pytest.raises(svc.Conflict):
            await svc.delete(kinds["trunk"], "carrier")
        csv = "number,name\n" + "".join(f"{100 + i},Name{i}\n" for i in range(30))
        assert (await config_csv.import_extensions(csv)).created == 30
        assert (await config_csv.import_extensions(csv.replace("Name", "N"))).updated == 30
        spec = LIST_SPECS["extension"]
        page = await spec.fetch(Extension.all(), spec.parse({"keyword": "n2", "sort": "-number",
                                                            "per_page": "10"}))
        assert page.total == 11 and page.items[0].number == "129"
        lines = [line async for line in config_csv.export_lines()]
        assert len(lines) == 31 and lines[1] == "100,N0,true,DialPlan1,,\r\n"
        # caller IDs: imported with their columns, kept by a file without them
        assert (await config_csv.import_extensions(
            "number,caller_id1,caller_id2\n100,'+8610123,20\n")).errors == [
            "line 2: caller_id2: must be 3 to 20 digits, optionally after a '+'"]
        result = await config_csv.import_extensions(
            "number,caller_id1,caller_id2\n100,'+8610123,2000\n")
        assert result.ok and result.updated == 1
        assert (await config_csv.import_extensions("number,name\n100,N0\n")).ok
        lines = [line async for line in config_csv.export_lines()]
        assert lines[1] == "100,N0,true,DialPlan1,'+8610123,2000\r\n"
    finally:
        await app.close()


def test_field_rules_accept_form_text_and_refuse_bad_values():
    from coovox.plugins.outbound import rules as r

    assert r.clean_pins("1234, 0007\n42") == ["1234", "0007", "42"]
    assert r.clean_condition({"days": [4, 0, 4], "start": "22:00", "end": "06:00"}) == {
        "days": [0, 4], "start": "22:00", "end": "06:00"}
    assert r.clean_condition(None) is None
    assert r.clean_int("", "time_limit", 60, 3600) is None
    assert r.clean_dial_string("IAX2/{number}@peer") == "IAX2/{number}@peer"
    for fn, value in [(r.clean_condition, {"days": [7]}), (r.clean_condition, {"start": "25:00"}),
                      (r.clean_condition, {"when": 1}), (r.clean_pattern, "X X"),
                      (r.clean_pattern, "[]"), (r.clean_dial_chars, "9 1"),
                      (r.clean_int, True)]:
        with pytest.raises(r.Invalid):
            fn(value, "f") if fn is not r.clean_int else fn(value, "f", 1)

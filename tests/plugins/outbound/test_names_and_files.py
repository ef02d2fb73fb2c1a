"""Issue 14, point 3 (and the CSV part of point 2): names and remarks refuse control and
direction-changing characters everywhere (API, pages, CSV import) with a message naming the
field; a CSV field over 128 KiB is a 400 naming its line; no raw NUL ever reaches a page."""

from __future__ import annotations

import pytest
from aiohttp import FormData

from coovox.plugins.billing.models import Rate
from coovox.plugins.calls.models import Extension, Trunk
from coovox.users import create_token

BAD = {"NUL": "a\x00b", "newline": "a\nb", "tab": "a\tb", "DEL": "a\x7fb",
       "C1": "a\x85b", "RLO": "admin\u202egnp.exe", "LRI": "a\u2066b", "LRM": "a\u200eb",
       "line separator": "a\u2028b"}


@pytest.fixture
async def api(client, admin_user):
    _, token = await create_token("admin")
    client.headers = {"Authorization": f"Bearer {token}"}
    return client


async def call(client, method: str, path: str, **kw):
    resp = await client.request(method, path, headers=client.headers, **kw)
    return resp.status, await resp.json() if resp.content_type == "application/json" else None


@pytest.mark.parametrize("what", sorted(BAD))
async def test_the_api_refuses_hidden_characters_in_names(api, what):
    text = BAD[what]
    status, body = await call(api, "POST", "/api/v1/extensions",
                              json={"number": "901", "name": text})
    assert status == 400 and body["error"]["field"] == "name", body
    assert "control or direction-changing" in body["error"]["message"]
    status, body = await call(api, "POST", "/api/v1/trunks",
                              json={"name": text, "dial_string": "PJSIP/{number}@c"})
    assert status == 400 and body["error"]["field"] == "name", body
    status, body = await call(api, "POST", "/api/v1/billing/rates", json={
        "prefix": "9", "rate": "0.01", "unit": 60, "extensions": "all", "remark": text})
    assert status == 400 and body["error"]["field"] == "remark", body
    await Extension.create(number="902", name="ok")
    status, body = await call(api, "PATCH", "/api/v1/extensions/902", json={"name": text})
    assert status == 400 and body["error"]["field"] == "name", body
    await api.request("POST", "/api/v1/billing/recharges", headers=api.headers,
                      json={"extensions": ["902"], "amount": "5"})
    status, body = await call(api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "902", "amount": "-1", "reason": text})
    assert status == 400 and body["error"]["field"] == "reason", body
    assert await Extension.filter(number="901").count() == 0
    assert await Trunk.all().count() == 0 and await Rate.all().count() == 0
    assert (await Extension.get(number="902")).name == "ok"


async def test_names_in_other_scripts_stay_welcome(api):
    for i, name in enumerate(("张伟", "Zoë 👋", "עברית", "اسم")):
        status, body = await call(api, "POST", "/api/v1/extensions",
                                  json={"number": str(800 + i), "name": name})
        assert status == 201 and body["name"] == name


async def test_the_page_form_refuses_and_shows_no_raw_nul(admin_client):
    resp = await admin_client.post("/calls/extensions/new", data={
        "csrf_token": admin_client.csrf, "number": "901", "name": "evil\x00name\u202e",
        "dial_permission": "DialPlan1"})
    html = await resp.text()
    assert resp.status == 400 and 'id="error-name"' in html
    assert "\x00" not in html and "\u202e" not in html
    assert await Extension.filter(number="901").count() == 0


async def test_rows_written_before_the_rules_show_no_raw_nul(admin_client):
    await Extension.create(number="903", name="old\x00row\u202e")
    for path in ("/calls/extensions", "/calls/extensions/903/edit"):
        html = await (await admin_client.get(path)).text()
        assert "old\ufffdrow" in html and "\x00" not in html and "\u202e" not in html, path


# --- CSV import ----------------------------------------------------------------------------


async def _import(client, data: bytes):
    form = FormData()
    form.add_field("csrf_token", client.csrf)
    form.add_field("file", data, filename="ext.csv", content_type="text/csv")
    resp = await client.post("/calls/extensions/import", data=form, allow_redirects=False)
    return resp.status, await resp.text()


@pytest.mark.parametrize("name", ['"a\x00b"', '"two\nlines"', "rlo\u202egnp", "a\x07bell"])
async def test_the_csv_import_refuses_hidden_characters_naming_the_line(admin_client, name):
    data = f"number,name\n100,fine\n101,{name}\n".encode()
    status, html = await _import(admin_client, data)
    assert status == 400 and "line 3: Name:" in html, html[-1500:]  # the field by its label
    assert "\x00" not in html
    assert await Extension.all().count() == 0  # all or nothing


async def test_a_csv_field_over_128_kib_is_a_400_naming_the_line(admin_client):
    data = b"number,name\n100,fine\n101,\"" + b"x" * (128 * 1024 + 10) + b"\"\n102,last\n"
    status, html = await _import(admin_client, data)
    assert status == 400, html[-500:]
    assert "line 3" in html and "longer than 131072 characters" in html
    assert await Extension.all().count() == 0


async def test_a_good_import_after_the_refusals(admin_client):
    status, _ = await _import(admin_client, "number,name\n100,张伟\n101,Zoë\n".encode())
    assert status == 302
    assert {e.name for e in await Extension.all()} == {"张伟", "Zoë"}
    status, _ = await _import(admin_client, b"number,name,enabled\n100,Wei,false\n")
    assert status == 302
    ext = await Extension.get(number="100")
    assert ext.name == "Wei" and ext.enabled is False and await Extension.all().count() == 2


"""The rate deck API: decks, dry run and apply of a file, versions, export, lookup."""

from __future__ import annotations

import aiohttp

from coovox.models import set_setting
from coovox.plugins.billing import services


async def call(client, method: str, path: str, **kw):
    headers = {**client.headers, **kw.pop("headers", {})}
    resp = await client.request(method, path, headers=headers, **kw)
    body = await resp.json() if resp.content_type == "application/json" else await resp.read()
    return resp.status, body

HEADER = "prefix,length,initial_cost,initial_time,rate,unit,start_time,end_time,remark\r\n"
BASE = "/api/v1/billing/decks"


async def test_deck_import_dry_run_apply_export_and_lookup(billing_api):
    status, deck = await call(billing_api, "POST", BASE,
                              json={"name": "Carrier A", "extensions": "all"})
    assert status == 201 and deck["extensions"] == "all" and deck["versions"] == 0
    status, body = await call(billing_api, "POST", BASE, json={"name": "Carrier A",
                                                               "extensions": "all"})
    assert status == 409 and body["error"]["field"] == "name"
    text = HEADER + "91,0,0.0000,0,0.0300,60,00:00:00,00:00:00,Mobile\r\nx,0,0,0,1,60,,,bad\r\n"
    status, body = await call(billing_api, "POST", f"{BASE}/{deck['id']}/import",
                              data=text.encode())
    assert status == 200 and body["added"] == 1 and body["applied"] is False
    assert body["errors"][0]["line"] == 3
    status, body = await call(billing_api, "POST", f"{BASE}/{deck['id']}/import?apply=true",
                              data=text.encode())
    assert status == 400 and body["error"]["field"] == "file"
    good = HEADER + "91,0,0.0000,0,0.0300,60,00:00:00,00:00:00,Mobile\r\n"
    form = aiohttp.FormData()
    form.add_field("apply", "true")
    form.add_field("file", good.encode(), filename="a.csv", content_type="text/csv")
    status, body = await call(billing_api, "POST", f"{BASE}/{deck['id']}/import", data=form)
    assert status == 201 and body["applied"] is True and body["version"]
    status, body = await call(billing_api, "GET", f"{BASE}/{deck['id']}/versions")
    assert status == 200 and body["items"][0]["current"] is True
    status, raw = await call(billing_api, "GET", f"{BASE}/{deck['id']}/export")
    assert status == 200 and raw.startswith(b"\xef\xbb\xbf")  # the BOM, as every CSV
    assert raw[3:].decode() == good
    await set_setting("billing", "active", True)
    await services.update_accounts(["100"], {"enabled": True})
    status, body = await call(billing_api, "GET", f"{BASE}/lookup?extension=100&dialed=9123")
    assert status == 200 and body["rate"]["rate"] == "0.0300"
    assert body["source"] == {"deck": "Carrier A"}
    status, body = await call(billing_api, "GET", f"{BASE}/lookup?extension=100&dialed=a")
    assert status == 400 and body["error"]["field"] == "dialed"
    status, body = await call(billing_api, "GET", f"{BASE}/999/versions")
    assert status == 404
    status, _ = await call(billing_api, "DELETE", f"{BASE}/{deck['id']}")
    assert status == 204


async def test_decks_are_in_the_openapi_document(billing_api):
    status, doc = await call(billing_api, "GET", "/api/v1/openapi.json")
    assert status == 200
    assert "post" in doc["paths"][f"{BASE}/{{id}}/import"]
    assert "get" in doc["paths"][f"{BASE}/lookup"]

"""The billing JSON API for billing users (api.md), errors in the api.md shape."""

from __future__ import annotations

from coovox.users import create_token, create_user


async def call(client, method: str, path: str, **kw):
    resp = await client.request(method, path, headers=client.headers, **kw)
    body = await resp.json() if resp.content_type == "application/json" else await resp.read()
    return resp.status, body


async def test_accounts_list_defaults_and_edit(billing_api):
    status, body = await call(billing_api, "GET", "/api/v1/billing/accounts?per_page=2")
    assert status == 200 and body["total"] == 3 and len(body["items"]) == 2
    assert body["items"][0] == {"extension": "100", "name": "Ext 100", "enabled": False,
                                "balance": "0.0000", "credit": "0.0000",
                                "payment_type": "prepaid", "status": "unlocked",
                                "total_recharges": "0.0000"}
    status, body = await call(billing_api, "PATCH", "/api/v1/billing/accounts/101",
                              json={"enabled": True, "credit": "5", "status": "locked"})
    assert status == 200 and body["credit"] == "5.0000" and body["status"] == "locked"
    status, body = await call(billing_api, "GET", "/api/v1/billing/accounts?status=locked")
    assert [a["extension"] for a in body["items"]] == ["101"]
    status, body = await call(billing_api, "PATCH", "/api/v1/billing/accounts/101",
                              json={"credit": "1.23456"})
    assert status == 400 and body["error"]["field"] == "credit"
    status, body = await call(billing_api, "GET", "/api/v1/billing/accounts/999")
    assert status == 404


async def test_bulk_edit_changes_only_given_fields(billing_api):
    await call(billing_api, "PATCH", "/api/v1/billing/accounts/100", json={"credit": "7"})
    status, body = await call(billing_api, "POST", "/api/v1/billing/accounts:bulk-edit",
                              json={"extensions": ["100", "101"], "enabled": True})
    assert status == 200 and body["updated"] == 2
    _, a = await call(billing_api, "GET", "/api/v1/billing/accounts/100")
    assert a["enabled"] is True and a["credit"] == "7.0000"


async def test_recharge_history_and_bad_amounts(billing_api):
    status, body = await call(billing_api, "POST", "/api/v1/billing/recharges",
                              json={"extensions": ["100", "101"], "amount": "10.5"})
    assert status == 201 and [r["post_balance"] for r in body["items"]] == ["10.5000"] * 2
    for bad in ("0", "-1", "abc", "1.00001", "1e12", 1.5, "NaN"):
        status, body = await call(billing_api, "POST", "/api/v1/billing/recharges",
                                  json={"extensions": ["100"], "amount": bad})
        assert status == 400 and body["error"]["field"] == "amount", bad
    status, body = await call(billing_api, "POST", "/api/v1/billing/recharges",
                              json={"extensions": ["100", "nope"], "amount": "1"})
    assert status == 404 and body["error"]["field"] == "extensions"
    status, body = await call(billing_api, "GET", "/api/v1/billing/recharges?keyword=101")
    assert body["total"] == 1 and body["items"][0]["by"] == "bill-abc"
    assert body["items"][0]["pre_balance"] == "0.0000"
    status, body = await call(billing_api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "100", "amount": "-0.5"})
    assert status == 400 and body["error"]["field"] == "reason"
    status, body = await call(billing_api, "POST", "/api/v1/billing/corrections",
                              json={"extension": "100", "amount": "-0.5", "reason": "typo"})
    assert status == 201 and body["post_balance"] == "10.0000" and body["correction"]


async def test_rates_crud_and_validation(billing_api):
    rate = {"prefix": "9", "length": 9, "initial_cost": "0.1", "initial_time": 60,
            "rate": "0.02", "unit": 55, "start_time": "22:00", "end_time": "06:00",
            "extensions": ["100", "101"]}
    status, body = await call(billing_api, "POST", "/api/v1/billing/rates", json=rate)
    assert status == 201 and body["start_time"] == "22:00:00" and body["rate"] == "0.0200"
    rid = body["id"]
    status, body = await call(billing_api, "PATCH", f"/api/v1/billing/rates/{rid}",
                              json={"extensions": "all", "active": False})
    assert body["extensions"] == "all" and body["active"] is False
    for field, value in [("unit", 0), ("length", 33), ("prefix", "9a"), ("initial_time", -1),
                         ("start_time", "25:00"), ("extensions", []), ("rate", "-0.1"),
                         ("extensions", ["777"])]:
        status, body = await call(billing_api, "POST", "/api/v1/billing/rates",
                                  json={**rate, field: value})
        unknown = value == ["777"]  # a reference to no extension: 404 naming the field
        assert status == (404 if unknown else 400), (field, body)
        assert body["error"]["field"] == field, (field, body)
    status, _ = await call(billing_api, "DELETE", f"/api/v1/billing/rates/{rid}")
    assert status == 204
    status, body = await call(billing_api, "GET", f"/api/v1/billing/rates/{rid}")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_settings_and_roles(billing_api, client, admin_token):
    status, body = await call(billing_api, "PATCH", "/api/v1/billing/settings",
                              json={"currency": "CNY", "warning_seconds": 5})
    assert status == 200 and body["currency"] == "CNY" and body["currency_symbol"] == "¥"
    status, body = await call(billing_api, "PATCH", "/api/v1/billing/settings",
                              json={"currency": "XYZ"})
    assert status == 400 and body["error"]["field"] == "currency"
    status, body = await call(billing_api, "PATCH", "/api/v1/billing/settings",
                              json={"active": True})
    assert status == 403
    resp = await client.get("/api/v1/billing/accounts")
    assert resp.status == 401
    await create_user("other", "Other-pass-123", role="nobody")
    _, token = await create_token("other")
    resp = await client.get("/api/v1/billing/accounts",
                            headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 403
    resp = await client.get("/api/v1/billing/accounts",
                            headers={"Authorization": f"Bearer {admin_token}"})
    assert resp.status == 200

"""API tokens (pages, API, hashed storage, last use) and the OpenAPI document."""

from __future__ import annotations

import re

from coovox.models import ApiToken
from coovox.web.keys import ROUTES_KEY
from coovox.web.openapi import openapi_path


async def test_token_page_creates_shows_once_and_revokes(admin_client):
    resp = await admin_client.post("/tokens", data={"csrf_token": admin_client.csrf,
                                                    "user": "admin", "name": "script"})
    html = await resp.text()
    token = re.search(r'id="new-token">([^<]+)<', html).group(1)
    row = await ApiToken.get(name="script")
    assert token not in (row.token_hash, row.prefix) and token.startswith(row.prefix)
    listing = await (await admin_client.get("/tokens")).text()
    assert token not in listing and row.prefix in listing and "never" in listing

    api = await admin_client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"})
    assert api.status == 200
    await row.refresh_from_db()
    assert row.last_used_at is not None

    resp = await admin_client.post(f"/tokens/{row.id}/revoke",
                                   data={"csrf_token": admin_client.csrf})
    assert resp.status == 200
    api = await admin_client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"})
    assert api.status == 401


async def test_token_page_rejects_unknown_user(admin_client):
    resp = await admin_client.post("/tokens", data={"csrf_token": admin_client.csrf,
                                                    "user": "ghost"})
    assert resp.status == 400 and "No such user." in await resp.text()


async def test_tokens_api(client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    resp = await client.post("/api/v1/tokens", json={"user": "admin", "name": "ci"}, headers=auth)
    assert resp.status == 201
    made = await resp.json()
    assert made["token"].startswith(made["prefix"]) and made["user"] == "admin"
    listing = await (await client.get("/api/v1/tokens", headers=auth)).json()
    assert made["id"] in [t["id"] for t in listing["items"]]
    assert all("token" not in t for t in listing["items"])
    assert (await client.delete(f"/api/v1/tokens/{made['id']}", headers=auth)).status == 204
    again = await client.delete(f"/api/v1/tokens/{made['id']}", headers=auth)
    assert again.status == 404
    bad = await client.post("/api/v1/tokens", json={"user": "ghost"}, headers=auth)
    assert bad.status == 404 and (await bad.json())["error"]["field"] == "user"
    missing = await client.post("/api/v1/tokens", json={}, headers=auth)
    assert missing.status == 400 and (await missing.json())["error"]["field"] == "user"
    word = await client.delete("/api/v1/tokens/abc", headers=auth)
    assert word.status == 400


async def test_openapi_covers_every_api_route(client, admin_token):
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 401  # sign-in needed
    resp = await client.get("/api/v1/openapi.json",
                            headers={"Authorization": f"Bearer {admin_token}"})
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "error" in doc["components"]["schemas"]["Error"]["properties"]
    api_routes = [r for r in client.server.app[ROUTES_KEY].values() if r.api]
    assert len(api_routes) > 10
    for route in api_routes:
        path, names = openapi_path(route.path)
        op = doc["paths"].get(path, {}).get(route.method.lower())
        assert op is not None, f"{route.method} {route.path} missing from the OpenAPI document"
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(names), f"{route.path}: path parameters {declared} != {names}"
        assert op["summary"]
        if route.openapi and "summary" in route.openapi:
            assert op["summary"] == route.openapi["summary"]
        assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"] \
            == "#/components/schemas/Error"


def test_openapi_path_strips_patterns():
    assert openapi_path("/a/{id:\\d+}/b/{name}") == ("/a/{id}/b/{name}", ["id", "name"])


async def test_openapi_document_is_valid_openapi_3_1(client, admin_token):
    from openapi_spec_validator import validate

    resp = await client.get("/api/v1/openapi.json",
                            headers={"Authorization": f"Bearer {admin_token}"})
    validate(await resp.json())  # raises on an invalid document

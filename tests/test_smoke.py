"""The product starts, serves its health and sign-in pages, and protects the rest."""


async def test_healthz_reports_database_and_asterisk(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["database"]["ok"] is True
    assert body["ari"]["connected"] is False


async def test_anonymous_is_sent_to_sign_in(client):
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/sign-in")


async def test_admin_signs_in_and_sees_overview(admin_client):
    resp = await admin_client.get("/")
    assert resp.status == 200
    assert "Overview" in await resp.text()


async def test_api_needs_token(client, admin_token):
    resp = await client.get("/api/v1/plugins")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"
    resp = await client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {admin_token}"})
    assert resp.status == 200
    names = [p["name"] for p in (await resp.json())["items"]]
    assert {"web", "calls", "billing", "licensing"} <= set(names)

"""The app factory: plugin menus, static folders, disabled plugins, the overview."""

from __future__ import annotations


async def test_static_files_of_core_and_plugins_are_public(client):
    assert (await client.get("/static/core/app.css")).status == 200
    assert (await client.get("/static/billing/billing.js")).status == 200
    assert (await client.get("/static/core/../../app.py")).status in (403, 404)


async def test_disabled_plugin_routes_answer_404_and_leave_the_menu(admin_client):
    html = await (await admin_client.get("/")).text()
    assert 'data-route="billing_extensions"' in html
    resp = await admin_client.post("/plugins/billing", data={"csrf_token": admin_client.csrf,
                                                             "enabled": "0"})
    assert resp.status == 200
    html = await (await admin_client.get("/")).text()
    assert 'data-route="billing_extensions"' not in html
    assert (await admin_client.get("/billing/extensions")).status == 404
    api = await admin_client.get("/api/v1/billing/accounts")
    assert api.status == 404 and (await api.json())["error"]["code"] == "not_found"
    await admin_client.post("/plugins/billing", data={"csrf_token": admin_client.csrf,
                                                      "enabled": "1"})
    assert (await admin_client.get("/billing/extensions")).status == 200


async def test_billing_user_lands_on_the_first_billing_page(client):
    from tests.support.web import become

    await become(client, "billing")
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/billing/extensions"


async def test_a_refused_essential_plugin_switch_explains_why(admin_client):
    resp = await admin_client.post("/plugins/calls", data={"csrf_token": admin_client.csrf,
                                                           "enabled": "0"})
    html = await resp.text()
    assert resp.status == 400
    assert "The request was not accepted." in html and "essential" in html

"""Billing user pages: menu order, forms with CSRF, dialogs' posts, roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from coovox.plugins.billing import services
from coovox.plugins.billing.models import Account, Rate, Recharge
from coovox.users import create_user
from tests.support.web import sign_in

PAGES = ["/billing/extensions", "/billing/rates", "/billing/recharges", "/billing/calls",
         "/billing/statistics", "/billing/settings", "/billing/rates/new"]


async def test_menu_in_the_guides_order_and_every_page_renders(billing_client):
    html = await (await billing_client.get("/billing/extensions")).text()
    routes = re.findall(r'data-route="(billing_\w+)"', html)
    assert routes == ["billing_extensions", "billing_rates", "billing_recharges",
                      "billing_calls", "billing_statistics", "billing_settings"]
    assert "0</span> Selected / 3 Total" in html
    for path in PAGES:
        resp = await billing_client.get(path)
        assert resp.status == 200, path
        assert 'name="csrf_token"' in await resp.text() or path != "/billing/settings"


async def test_recharge_edit_and_bulk_edit_forms(billing_client):
    c = billing_client
    resp = await c.post("/billing/extensions/recharge", data={
        "csrf_token": c.csrf, "extensions": ["100", "101"], "amount": "20"})
    assert resp.status == 200 and "Recharged 2 extension(s)." in await resp.text()
    assert (await Account.get(extension="101")).balance == 20
    resp = await c.post("/billing/extensions/recharge", data={
        "csrf_token": c.csrf, "extensions": ["100"], "amount": "12.345678"})
    assert "amount" in await resp.text() and "4 decimal places" in await resp.text()
    await c.post("/billing/extensions/edit", data={
        "csrf_token": c.csrf, "extension": "100", "enabled": "on", "credit": "3",
        "status": "locked", "payment_type": "postpaid"})
    acc = await Account.get(extension="100")
    assert (acc.enabled, acc.credit, acc.status, acc.payment_type) == (True, 3, "locked",
                                                                        "postpaid")
    assert acc.total_recharges == 0  # payment type changed: reset
    await c.post("/billing/extensions/bulk-edit", data={
        "csrf_token": c.csrf, "extensions": ["100", "102"], "apply": ["status"],
        "status": "unlocked", "credit": "99", "payment_type": "prepaid"})
    acc = await Account.get(extension="100")
    assert (acc.status, acc.credit, acc.payment_type) == ("unlocked", 3, "postpaid")
    resp = await c.post("/billing/extensions/recharge", data={"extensions": ["100"],
                                                               "amount": "1"})
    assert resp.status == 403  # no CSRF token


async def test_rate_form_names_the_bad_field_and_saves(billing_client):
    c = billing_client
    form = {"csrf_token": c.csrf, "active": "on", "prefix": "9", "length": "0",
            "initial_cost": "0.1", "initial_time": "60", "rate": "0.02", "unit": "0",
            "start_time": "00:00", "end_time": "00:00", "extensions": ["100"]}
    resp = await c.post("/billing/rates/new", data=form)
    assert resp.status == 400 and 'data-field="unit"' in await resp.text()
    resp = await c.post("/billing/rates/new", data={**form, "unit": "55"})
    assert resp.status == 200 and await Rate.all().count() == 1


async def test_correction_is_marked_in_the_history(billing_client):
    c = billing_client
    # a correction may not take the balance below -credit (issue 14): there is money first
    await services.recharge(["100"], "5", "test", datetime.now(UTC))
    await c.post("/billing/extensions/correction", data={
        "csrf_token": c.csrf, "extension": "100", "amount": "-2", "reason": "wrong amount"})
    row = await Recharge.get(extension="100", correction=True)
    assert row.correction and row.reason == "wrong amount" and row.by == "bill-xyz"
    html = await (await c.get("/billing/recharges")).text()
    assert "wrong amount" in html


async def test_anonymous_and_wrong_roles_are_refused(client, coovox):
    for path in PAGES:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 302 and "/sign-in" in resp.headers["Location"]
    await create_user("bill-q", "Bill-pass-123", role="billing")
    await sign_in(client, "bill-q", "Bill-pass-123")
    resp = await client.get("/addons/billing/settings", allow_redirects=False)
    assert resp.status == 403


async def test_admin_addons_page_shows_licence_and_billing_managers(admin_client, coovox):
    await create_user("bill-m1", "Bill-pass-123", role="billing")
    html = await (await admin_client.get("/addons/billing/settings")).text()
    assert "Activate Billing" in html and "bill-m1" in html
    assert "System Information" in html
    resp = await admin_client.post("/addons/billing/settings", data={
        "csrf_token": admin_client.csrf, "active": "on"})
    assert resp.status == 200
    api = await admin_client.get("/api/v1/billing/settings")
    assert (await api.json())["active"] is True


async def test_pages_speak_chinese(billing_client):
    billing_client.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    html = await (await billing_client.get("/billing/extensions")).text()
    for label in ("总充值金额", "信用额度", "付费方式", "批量编辑", "充值记录", "通话记录"):
        assert label in html, label

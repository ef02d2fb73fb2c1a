"""The fraud guard's pages and API (administrators only): settings with labels and help in
both languages, bad input named, a trip on the overview and in the web log, one click to
unlock (CSRF), the API's shapes and errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from coovox.models import WebLog
from coovox.plugins.billing import fraud, services
from coovox.plugins.billing.fraud_rules import TRIP_SPEND_HOUR, Limits
from coovox.plugins.billing.models import Account
from coovox.plugins.billing.pages_fraud import limits_of_form
from tests.support.billing import make_extensions

ZH = {"Accept-Language": "zh-CN"}
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _tripped(ext: str = "100") -> None:
    await make_extensions(ext)
    await services.update_accounts([ext], {"enabled": True})
    events = []
    await fraud.trip(ext, TRIP_SPEND_HOUR, Limits(action="lock"), AT, AT,
                     lambda *a, **k: events.append(k))
    assert events == [{"extension": ext, "reason": "spend per hour", "action": "lock"}]


def test_the_form_becomes_the_apis_limits():
    form = {"calls_per_hour": "30", "spend_hour": "", "allow_mode": "", "office_on": "1",
            "office_days": ["0", "1"], "office_start": "08:00", "office_end": "18:00"}
    assert limits_of_form(form, partial=True) == {
        "calls_per_hour": "30", "office_hours": {"days": [0, 1], "start": "08:00",
                                                 "end": "18:00"}}
    full = limits_of_form({"calls_per_hour": "", "spend_day": "", "action": ""},
                          partial=False)
    assert full["allow_mode"] == "off" and full["office_hours"] is None
    assert full["calls_per_hour"] == 0 and full["spend_day"] == "" and "action" not in full


async def test_settings_page_saves_and_names_bad_fields(admin_client):
    c = admin_client
    html = await (await c.get("/addons/billing/fraud")).text()
    assert "Fraud guard" in html and "Spend per hour" in html and "No trips." in html
    resp = await c.post("/addons/billing/fraud", data={
        "csrf_token": c.csrf, "guard": "on", "spend_hour": "2.5", "calls_per_hour": "30",
        "blocked_prefixes": "900 00881", "trip_attempts": "5", "trip_minutes": "10",
        "action": "refuse", "office_on": "1", "office_days": ["0", "1", "2"],
        "office_start": "08:00", "office_end": "18:00", "international_prefixes": "00"})
    text = await resp.text()
    assert resp.status == 200 and "Settings saved." in text, re.findall(r"flash[^<]*<", text)
    saved = await fraud.settings_json()
    assert saved["guard"] is True and saved["defaults"]["spend_hour"] == "2.5000"
    assert saved["defaults"]["office_hours"]["days"] == [0, 1, 2]
    html = await (await c.post("/addons/billing/fraud", data={
        "csrf_token": c.csrf, "spend_day": "1E2"})).text()
    assert "Spend per day" in html and "flash error" in html
    html = await (await c.post("/addons/billing/fraud", data={
        "csrf_token": c.csrf, "spend_day": "1E2"}, headers=ZH)).text()
    assert "每天消费上限" in html
    assert (await c.post("/addons/billing/fraud", data={"spend_day": "1"},
                         allow_redirects=False)).status == 403  # no CSRF token
    await make_extensions("105")
    html = await (await c.post("/addons/billing/fraud/extension", data={
        "csrf_token": c.csrf, "extension": "105", "spend_hour": "0.5",
        "allow_mode": ""})).text()
    assert 'id="fraud-extensions"' in html and "0.5000" in html
    assert await fraud.overrides() == {"105": {"spend_hour": "0.5000"}}
    html = await (await c.post("/addons/billing/fraud/extension", data={
        "csrf_token": c.csrf, "extension": "abc"})).text()
    assert "no extension" in html
    await c.post("/addons/billing/fraud/extension/remove",
                 data={"csrf_token": c.csrf, "extension": "105"})
    assert await fraud.overrides() == {}


async def test_a_trip_on_the_overview_in_the_web_log_and_unlocked_in_one_click(admin_client):
    c = admin_client
    await _tripped("100")
    assert (await Account.get(extension="100")).status == "locked"
    html = await (await c.get("/")).text()
    assert 'id="fraud-trips"' in html and 'data-extension="100"' in html
    assert "spend per hour" in html and "Lock the extension" in html
    zh = await (await c.get("/", headers=ZH)).text()
    assert "每小时消费" in zh and "解锁" in zh
    log = await (await c.get("/weblog")).text()
    assert "fraud.tripped 100" in log
    assert (await c.post("/addons/billing/fraud/unlock", data={"extension": "100"},
                         allow_redirects=False)).status == 403  # CSRF required
    resp = await c.post("/addons/billing/fraud/unlock", data={
        "csrf_token": c.csrf, "extension": "100", "back": "home"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert (await Account.get(extension="100")).status == "unlocked"
    html = await (await c.get("/")).text()
    assert 'id="fraud-trips"' not in html  # the overview shows open trips only
    assert await WebLog.filter(action="POST /addons/billing/fraud/unlock").count() == 2


async def test_api_settings_extensions_trips_unlock(client, admin_token):
    h = {"Authorization": f"Bearer {admin_token}"}
    resp = await client.patch("/api/v1/billing/fraud", json={
        "guard": True, "spend_hour": "5", "blocked_prefixes": ["900"]}, headers=h)
    body = await resp.json()
    assert resp.status == 200 and body["guard"] is True
    assert body["defaults"]["spend_hour"] == "5.0000"
    assert body["defaults"]["blocked_prefixes"] == ["900"]
    for bad, field in (({"spend_hour": "abc"}, "spend_hour"),
                       ({"action": "boom"}, "action"),
                       ({"office_hours": {"days": [0], "start": "25:00", "end": "10:00"}},
                        "office_hours"),
                       ({"surprise": 1}, "surprise")):
        resp = await client.patch("/api/v1/billing/fraud", json=bad, headers=h)
        assert resp.status == 400, bad
        assert (await resp.json())["error"]["field"] == field
    await make_extensions("101")
    resp = await client.put("/api/v1/billing/fraud/extensions/101",
                            json={"concurrent_calls": 2}, headers=h)
    assert (await resp.json()) == {"extension": "101", "limits": {"concurrent_calls": 2}}
    resp = await client.put("/api/v1/billing/fraud/extensions/999",
                            json={"concurrent_calls": 2}, headers=h)
    assert resp.status == 404
    await _tripped("102")
    trips = await (await client.get("/api/v1/billing/fraud/trips", headers=h)).json()
    assert trips["total"] == 1 and trips["items"][0]["extension"] == "102"
    assert trips["items"][0]["reason"] == "spend per hour"
    full = await (await client.get("/api/v1/billing/fraud", headers=h)).json()
    assert full["extensions"] == {"101": {"concurrent_calls": 2}}
    resp = await client.post("/api/v1/billing/fraud/extensions/102/unlock", headers=h)
    assert (await resp.json()) == {"extension": "102", "status": "unlocked", "cleared": 1}
    resp = await client.post("/api/v1/billing/fraud/extensions/777/unlock", headers=h)
    assert resp.status == 404
    resp = await client.delete("/api/v1/billing/fraud/extensions/101", headers=h)
    assert resp.status == 200 and await fraud.overrides() == {}


async def test_billing_users_cannot_reach_the_guard(client, coovox):
    from coovox.users import create_token, create_user

    await create_user("bill", "Bill-pass-123", role="billing")
    _, token = await create_token("bill")
    h = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/billing/fraud", headers=h)).status == 403
    assert (await client.post("/api/v1/billing/fraud/extensions/100/unlock",
                              headers=h)).status == 403

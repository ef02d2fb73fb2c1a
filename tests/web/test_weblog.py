"""The web log (manual §7.9.1): every state-changing request, no secrets, searchable."""

from __future__ import annotations

from datetime import UTC, datetime

from coovox.models import WebLog
from coovox.web.weblog import result_text
from tests.support.web import ADMIN_PASSWORD


async def test_state_changing_requests_are_logged_without_secrets(admin_client, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    created = await (await admin_client.post("/api/v1/users", json={}, headers=auth)).json()
    await admin_client.put(f"/api/v1/users/{created['username']}/password",
                           json={"password": "Secret-pass-99"}, headers=auth)
    token = await (await admin_client.post("/api/v1/tokens", json={"user": "admin"},
                                           headers=auth)).json()
    await admin_client.get("/users")  # a read is not logged
    rows = await WebLog.all().order_by("id")
    actions = [r.action for r in rows]
    assert "POST /sign-in" in actions  # the admin_client fixture signed in
    assert "POST /api/v1/users" in actions
    assert f"PUT /api/v1/users/{created['username']}/password" in actions
    assert not any(a.startswith("GET") for a in actions)
    api_row = next(r for r in rows if r.action == "POST /api/v1/users")
    assert (api_row.username, api_row.role, api_row.ip) == ("admin", "admin", "127.0.0.1")
    assert api_row.result.startswith("201 Created")
    sign_in_row = next(r for r in rows if r.action == "POST /sign-in")
    assert sign_in_row.username == "admin" and sign_in_row.result.startswith("302")
    everything = " ".join(f"{r.action} {r.result}" for r in rows)
    for secret in (ADMIN_PASSWORD, created["password"], "Secret-pass-99", token["token"],
                   admin_token):
        assert secret not in everything


async def test_refusals_and_failed_sign_ins_are_logged(client, admin_user):
    await client.post("/api/v1/users", json={})
    resp = await client.get("/sign-in")
    await client.post("/sign-in", data={"username": "admin", "password": "nope"})
    assert resp.status == 200
    rows = {r.action: r for r in await WebLog.all()}
    assert rows["POST /api/v1/users"].result.startswith("401")
    assert rows["POST /sign-in"].result.startswith("403")  # no CSRF token sent
    assert rows["POST /api/v1/users"].username == ""


def test_result_text():
    assert result_text(404, 0.0123) == "404 Not Found (0.012 s)"
    assert result_text(599, 1).startswith("599 (")


async def _seed():
    def at(day, hour=12):
        return datetime(2026, 3, day, hour, tzinfo=UTC)
    for i, (day, user, action) in enumerate([
        (1, "admin", "POST /users"), (2, "bill-abc", "POST /api/v1/billing/recharges"),
        (3, "admin", "DELETE /api/v1/users/bill-q1w"), (3, "bill-abc", "PATCH /x"),
    ]):
        row = await WebLog.create(ip=f"10.0.0.{i}", username=user, role="admin",
                                  action=action, result="200 OK")
        await WebLog.filter(id=row.id).update(at=at(day))


async def test_weblog_api_search_by_dates_user_keyword(client, admin_token):
    await _seed()
    auth = {"Authorization": f"Bearer {admin_token}"}

    async def q(**params):
        resp = await client.get("/api/v1/weblog", params=params, headers=auth)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    got = await q(**{"from": "2026-03-02", "to": "2026-03-03"})
    assert got["total"] == 3
    assert [e["at"][:10] for e in got["items"]] == ["2026-03-03", "2026-03-03", "2026-03-02"]
    assert (await q(user="bill-abc"))["total"] == 2
    assert [e["action"] for e in (await q(keyword="recharges"))["items"]] == [
        "POST /api/v1/billing/recharges"]
    page = await q(**{"per_page": "2", "page": "2", "to": "2026-03-31"})
    assert page["total"] == 4 and len(page["items"]) == 2
    bad = await client.get("/api/v1/weblog", params={"from": "yesterday"}, headers=auth)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "from"


async def test_weblog_page_filters_and_paginates(admin_client):
    await _seed()
    html = await (await admin_client.get("/weblog", params={"keyword": "recharges"})).text()
    assert "POST /api/v1/billing/recharges" in html and "DELETE /api/v1/users" not in html
    html = await (await admin_client.get("/weblog", params={"from": "bad"})).text()
    assert 'data-field="from"' in html
    html = await (await admin_client.get("/weblog", params={"per_page": "10"})).text()
    assert 'class="pager"' in html


async def test_a_refused_sign_in_is_marked_in_the_web_log(client, admin_user):
    from tests.support.web import csrf_of

    page = await client.get("/sign-in")
    await client.post("/sign-in", data={"username": "admin", "password": "nope",
                                        "csrf_token": csrf_of(await page.text())})
    row = await WebLog.get(action="POST /sign-in")
    assert row.username == "admin" and row.result.endswith("sign-in refused")
    assert "nope" not in row.result

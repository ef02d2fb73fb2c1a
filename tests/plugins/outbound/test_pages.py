"""Administrator pages of the outbound configuration, CSV import/export, call pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from coovox.plugins.calls.models import Call, DialRule, Extension, PinSet, Trunk

CONFIG_PAGES = ["/calls/extensions", "/calls/trunks", "/calls/dial-rules",
                "/calls/dial-permissions", "/calls/pin-sets"]
ALL_PAGES = CONFIG_PAGES + [p + "/new" for p in CONFIG_PAGES] + ["/calls/log", "/calls/live",
                                                                "/calls/extensions/export.csv"]


async def test_pages_render_for_admin_with_menu(admin_client):
    for path in ALL_PAGES:
        resp = await admin_client.get(path)
        assert resp.status == 200, path
    html = await (await admin_client.get("/calls/extensions")).text()
    for route in ("calls_extensions", "calls_trunks", "calls_dial_rules", "calls_dial_permissions",
                  "calls_pin_sets", "calls_log", "calls_live"):
        assert f'data-route="{route}"' in html


async def test_menu_and_pages_in_chinese(admin_client):
    admin_client.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    html = await (await admin_client.get("/calls/dial-rules")).text()
    for label in ("呼出控制", "分机", "中继", "拨号规则", "拨号权限", "PIN码集", "通话记录"):
        assert label in html
    assert "共 0 条数据" in html


async def test_billing_user_is_refused_and_anonymous_redirected(client, coovox):
    from coovox.users import create_billing_user, create_token

    user, _ = await create_billing_user()
    _, token = await create_token(user.username)
    for path in ALL_PAGES:
        resp = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 403, path
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/sign-in"), path


async def test_form_error_is_shown_at_the_field(admin_client):
    resp = await admin_client.post("/calls/trunks/new", data={
        "csrf_token": admin_client.csrf, "name": "carrier", "dial_string": "PJSIP/123@x"})
    html = await resp.text()
    assert resp.status == 400
    assert re.search(r'id="error-dial_string">[^<]*\{number\}', html)
    assert 'value="PJSIP/123@x"' in html  # the input is kept
    assert await Trunk.all().count() == 0
    resp = await admin_client.post("/calls/pin-sets/new", data={"name": "x", "pins": "1"})
    assert resp.status == 403 and await PinSet.all().count() == 0  # no CSRF token


async def test_add_edit_delete_through_forms(admin_client):
    csrf = admin_client.csrf
    await admin_client.post("/calls/trunks/new", data={
        "csrf_token": csrf, "name": "a", "dial_string": "PJSIP/{number}@a", "enabled": "1"})
    await admin_client.post("/calls/trunks/new", data={
        "csrf_token": csrf, "name": "b", "dial_string": "PJSIP/{number}@b"})
    await admin_client.post("/calls/pin-sets/new", data={"csrf_token": csrf, "name": "staff",
                                                         "pins": "1234\n0007"})
    resp = await admin_client.post("/calls/dial-rules/new", data=[
        ("csrf_token", csrf), ("name", "out"), ("prefix", "9"), ("pattern", "NXX."),
        ("trunks", "b"), ("trunks", ""), ("trunks", "a"), ("time_limit", "120"),
        ("pin_set", "staff"), ("condition_on", "1"), ("condition_days", "0"),
        ("condition_days", "4"), ("condition_start", "08:00"), ("condition_end", "18:00")],
        allow_redirects=False)
    assert resp.status == 302, await resp.text()
    rule = await DialRule.get(name="out")
    assert rule.trunks == ["b", "a"] and rule.time_limit == 120 and rule.pin_set == "staff"
    assert rule.condition == {"days": [0, 4], "start": "08:00", "end": "18:00"}
    assert (await PinSet.get(name="staff")).pins == ["1234", "0007"]
    assert (await Trunk.get(name="b")).enabled is False

    edit = await (await admin_client.get("/calls/dial-rules/out/edit")).text()
    assert 'value="NXX."' in edit
    resp = await admin_client.post("/calls/dial-rules/out/edit", data=[
        ("csrf_token", csrf), ("pattern", "X."), ("trunks", "a"), ("time_limit", "")],
        allow_redirects=False)
    assert resp.status == 302
    rule = await DialRule.get(name="out")
    assert rule.pattern == "X." and rule.trunks == ["a"] and rule.time_limit is None

    page = await (await admin_client.post("/calls/trunks/a/delete",
                                          data={"csrf_token": csrf})).text()
    assert "dial rule &#39;out&#39;" in page or "dial rule 'out'" in page
    assert await Trunk.filter(name="a").exists()
    await admin_client.post("/calls/trunks/b/delete", data={"csrf_token": csrf})
    assert not await Trunk.filter(name="b").exists()


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(["number,name,enabled,dial_permission", *lines]) + "\r\n").encode()


async def _import(client, data: bytes):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("csrf_token", client.csrf)
    form.add_field("file", data, filename="ext.csv", content_type="text/csv")
    return await client.post("/calls/extensions/import", data=form, allow_redirects=False)


async def test_csv_import_is_all_or_nothing_with_line_errors(admin_client):
    await Extension.create(number="100", name="Old")
    resp = await _import(admin_client, _csv("100,New,true,", "101,Bob,false,DialPlan1",
                                            "10x,Bad,true,", "102,C,maybe,",
                                            "103,D,true,Nope", "101,Dup,true,"))
    html = await resp.text()
    assert resp.status == 400
    for line, text in [(4, "Extension"), (5, "Enabled"), (6, "Nope"), (7, "line 3")]:
        assert re.search(rf"line {line}: [^<]*{text}", html), (line, html)
    assert await Extension.all().count() == 1 and (await Extension.get(number="100")).name == "Old"

    resp = await _import(admin_client, _csv("100,New,true,", "101,Bob,false,DialPlan1"))
    assert resp.status == 302
    assert {(e.number, e.name, e.enabled) for e in await Extension.all()} == {
        ("100", "New", True), ("101", "Bob", False)}


async def test_csv_export_round_trip(admin_client):
    await Extension.bulk_create([Extension(number=str(200 + i), name=f"名{i},x", enabled=i % 2 == 0)
                                 for i in range(30)])
    resp = await admin_client.get("/calls/extensions/export.csv")
    body = await resp.read()
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert body.decode().count("\r\n") == 31
    before = {(e.number, e.name, e.enabled, e.dial_permission) for e in await Extension.all()}
    await Extension.all().delete()
    assert (await _import(admin_client, body)).status == 302
    after = {(e.number, e.name, e.enabled, e.dial_permission) for e in await Extension.all()}
    assert after == before
    filtered = await (await admin_client.get("/calls/extensions/export.csv?keyword=201")).text()
    assert filtered.count("\r\n") == 2


async def test_5000_extensions_list_pages_in_sql(admin_client):
    await Extension.bulk_create([Extension(number=f"{10000 + i}", name=f"u{i}")
                                 for i in range(5000)])
    resp = await admin_client.get("/calls/extensions?per_page=50&page=3&sort=-number")
    html = await resp.text()
    assert resp.status == 200
    assert 'data-total="5000"' in html and 'data-pages="100"' in html
    assert html.count("<tr data-key=") == 50
    assert 'data-key="14899"' in html and 'data-key="14850"' in html
    html = await (await admin_client.get("/calls/extensions")).text()
    assert 'data-total="5000"' in html and html.count("<tr data-key=") == 20


async def test_call_log_filters_and_download_links(admin_client):
    now = datetime.now(UTC)
    await Call.create(id="c1", started_at=now - timedelta(minutes=5), extension="100",
                      dialed="912345", trunk="carrier", pin="1234", status="answered",
                      duration=65, talk_time=61)
    await Call.create(id="c2", started_at=now - timedelta(days=3), extension="101",
                      dialed="955555", trunk="other", status="busy", duration=3)
    html = await (await admin_client.get("/calls/log?trunk=carrier")).text()
    assert 'data-call="c1"' in html and 'data-call="c2"' not in html
    assert "01:01" in html
    day = (now - timedelta(days=3)).date().isoformat()
    html = await (await admin_client.get(f"/calls/log?from={day}&to={day}&per_page=10")).text()
    assert 'data-call="c2"' in html and 'data-call="c1"' not in html
    assert f"/api/v1/calls?from={day}&amp;to={day}&amp;sort=-started_at&amp;format=csv" in html
    html = await (await admin_client.get("/calls/log?from=yesterday&status=lost")).text()
    assert 'data-field="from"' in html and 'data-field="status"' in html


async def test_live_calls_page_lists_active_calls(admin_client):
    now = datetime.now(UTC)
    await Call.create(id="live1", started_at=now - timedelta(seconds=30),
                      answered_at=now - timedelta(seconds=20), extension="100",
                      dialed="912345", status="active")
    await Call.create(id="done", started_at=now, extension="100", dialed="9", status="busy")
    html = await (await admin_client.get("/calls/live")).text()
    assert 'data-call="live1"' in html and 'data-call="done"' not in html
    assert 'data-events="/calls/live/events"' in html  # pushed by the server (issue 16)
    # the script is a static file (no inline scripts under the CSP, issue 14.5)
    assert '<script src="/static/calls/live.js" defer></script>' in html
    script = await admin_client.get("/static/calls/live.js")
    assert script.status == 200 and "new EventSource(" in await script.text()



def _import_errors(html: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", html[html.index('id="import-errors"'):].split("</ul>")[0])


async def test_csv_import_errors_are_in_the_readers_language(admin_client):
    """Every per-line message of the import in the page's language, fields named by their
    label (issue 15)."""
    bad = _csv("10x,Bad,true,", "102,C,maybe,", "103,D,true,Nope", "104,E,true,", "104,F,true,",
               "105,G,true,DialPlan1,extra")
    resp = await _import(admin_client, bad)
    assert resp.status == 400
    english = _import_errors(await resp.text())
    admin_client.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    resp = await _import(admin_client, bad)
    assert resp.status == 400
    chinese = _import_errors(await resp.text())
    assert len(english) == len(chinese) == 5, (english, chinese)
    assert [e.split(":")[0] for e in english] == [f"line {n}" for n in (2, 3, 4, 6, 7)]
    assert [c.split("：")[0] for c in chinese] == [f"第 {n} 行" for n in (2, 3, 4, 6, 7)]
    for text in chinese:  # nothing English left but the file's own values
        rest = re.sub(r"&#39;Nope&#39;|DialPlan1", "", text)
        assert not re.search(r"[A-Za-z]{3,}", rest), chinese
    assert "104" in chinese[3] and "第 5 行" in chinese[3]  # the line it is already on
    resp = await _import(admin_client, b"name,number\n")
    assert "第 1 行：表头必须是 number,name,enabled,dial_permission" in await resp.text()

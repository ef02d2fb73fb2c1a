"""/api/v1/calls (filters, pagination, exports) and /api/v1/calls/live."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl

from coovox.hookspecs import hookimpl
from coovox.plugins.calls.models import Call

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class CostPlugin:
    PLUGIN_NAME = "costs"

    @hookimpl
    def coovox_call_fields(self, call_ids):
        return {cid: {"cost": "0.1000"} for cid in call_ids}


async def _calls(n=5):
    rows = []
    for i in range(n):
        rows.append(await Call.create(
            id=f"c{i}", node="node1", started_at=T0 + timedelta(hours=i),
            answered_at=T0 + timedelta(hours=i, seconds=3) if i % 2 == 0 else None,
            ended_at=T0 + timedelta(hours=i, seconds=63),
            extension=("100", "101")[i % 2], extension_name=("Alice", "Bob")[i % 2],
            dialed=f"9{i}123", sent=f"{i}123", rule="Out", trunk=("pstn", "voip")[i % 2],
            pin="1234" if i == 4 else None,
            status="answered" if i % 2 == 0 else "busy", reason="", cause=16,
            duration=63.0, talk_time=60.0 if i % 2 == 0 else None))
    return rows


async def test_calls_newest_first_with_fields(admin_client):
    await _calls()
    resp = await admin_client.get("/api/v1/calls?per_page=2")
    assert resp.status == 200
    body = await resp.json()
    assert body["total"] == 5 and [i["id"] for i in body["items"]] == ["c4", "c3"]
    item = body["items"][0]
    for key in ("id", "started_at", "answered_at", "ended_at", "extension", "dialed", "sent",
                "trunk", "pin", "status", "reason", "duration", "talk_time",
                "extension_name", "rule", "cause"):
        assert key in item
    assert item["started_at"].startswith("2026-11-20T13:00:00") and item["pin"] == "1234"
    page2 = await (await admin_client.get("/api/v1/calls?per_page=2&page=3")).json()
    assert [i["id"] for i in page2["items"]] == ["c0"]


FILTER_CASES = [
    ("keyword=Bob", ["c3", "c1"]),
    ("keyword=101", ["c3", "c1"]),
    ("keyword=92123", ["c2"]),
    ("status=busy", ["c3", "c1"]),
    ("trunk=pstn", ["c4", "c2", "c0"]),
    ("pin=1234", ["c4"]),
    ("from=2026-11-20T11:00:00%2B00:00", ["c4", "c3", "c2"]),
    ("to=2026-11-20T10:00:00Z", ["c1", "c0"]),
    ("from=2026-11-20&to=2026-11-20", ["c4", "c3", "c2", "c1", "c0"]),
    ("to=2026-11-19", []),
]
BAD_CASES = [("status=nonsense", "status"), ("from=yesterday", "from"),
             ("per_page=0", "per_page"), ("format=pdf", "format"), ("page=x", "page")]


async def test_calls_filters(admin_client):
    await _calls()
    for query, ids in FILTER_CASES:
        body = await (await admin_client.get("/api/v1/calls?" + query)).json()
        assert [i["id"] for i in body["items"]] == ids and body["total"] == len(ids), query


async def test_calls_bad_filters_name_the_field(admin_client):
    for query, field in BAD_CASES:
        resp = await admin_client.get("/api/v1/calls?" + query)
        assert resp.status == 400, query
        assert (await resp.json())["error"]["field"] == field


async def test_csv_export_all_rows_bom_and_neutralised(admin_client):
    await _calls()
    await Call.filter(id="c1").update(extension_name="=HYPERLINK(1)", dialed="+4412")
    resp = await admin_client.get("/api/v1/calls?format=csv&per_page=1")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode())))
    assert len(rows) == 6  # header + ALL rows, whatever per_page says
    c1 = next(r for r in rows if r[0] == "c1")
    assert "'=HYPERLINK(1)" in c1 and "'+4412" in c1


async def test_xlsx_export(admin_client):
    await _calls()
    resp = await admin_client.get("/api/v1/calls?format=xlsx&status=answered")
    assert resp.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "ID" and sorted(r[0] for r in rows[1:]) == ["c0", "c2", "c4"]


async def test_live_calls_with_running_talk_time(admin_client, coovox):
    now = coovox.now()
    await Call.create(id="live1", node="node1", started_at=now - timedelta(seconds=30),
                      answered_at=now - timedelta(seconds=20), extension="100",
                      dialed="9123", status="active")
    await Call.create(id="live2", node="node1", started_at=now - timedelta(seconds=5),
                      extension="101", dialed="9124", status="active")
    await _calls(1)
    body = await (await admin_client.get("/api/v1/calls/live")).json()
    assert [i["id"] for i in body["items"]] == ["live2", "live1"]
    assert body["items"][1]["talk_time"] >= 20 and body["items"][0]["talk_time"] is None


async def test_plugin_fields_are_merged(config, aiohttp_client):
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False,
                                                   extra=[CostPlugin()]))
    await app.open()
    try:
        await create_user("admin", "Admin-pass-1")
        _, token = await create_token("admin")
        await _calls(2)
        client = await aiohttp_client(create_app(app))
        body = await (await client.get("/api/v1/calls",
                                       headers={"Authorization": f"Bearer {token}"})).json()
        assert [i["cost"] for i in body["items"]] == ["0.1000", "0.1000"]
        raw = await (await client.get("/api/v1/calls?format=csv",
                                      headers={"Authorization": f"Bearer {token}"})).read()
        lines = raw[3:].decode().splitlines()
        assert lines[0].split(",")[-1] == "Cost"  # a plugin's field, by its label
        assert [line.split(",")[-1] for line in lines[1:]] == ["0.10", "0.10"]  # money
    finally:
        await app.close()


async def test_billing_role_reads_calls_but_not_live(client, coovox):
    from coovox.users import create_token, create_user

    await create_user("acct", "Acct-pass-1", role="billing")
    _, token = await create_token("acct")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/calls", headers=headers)).status == 200
    assert (await client.get("/api/v1/calls/live", headers=headers)).status == 403
    assert (await client.get("/api/v1/calls")).status == 401

"""The call-log export reads plain rows in keyset chunks: every row once, in the order and
with the values of the JSON API, whatever the chunk size and ties of start times."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from coovox.plugins.calllog import queries
from coovox.plugins.calls.models import Call
from coovox.web.formats import local_datetime

T0 = datetime(2026, 5, 1, 8, 0, 0, 250000, tzinfo=UTC)


async def make_calls(n: int = 23) -> None:
    for i in range(n):
        start = T0 + timedelta(seconds=i // 3)  # three calls share each start time
        await Call.create(
            id=f"e{i:02d}", node="n", started_at=start,
            answered_at=start + timedelta(seconds=2) if i % 2 else None,
            ended_at=start + timedelta(seconds=30.1234), extension=str(200 + i % 4),
            extension_name=["=cmd", "Ann", "+1 Bob", "", "@x"][i % 5], dialed=f"-9{i}",
            pin="12" if i % 5 == 0 else None, status="answered" if i % 2 else "busy",
            cause=16 if i % 3 else None, duration=30.12345 if i % 2 else None,
            talk_time=28.1236 if i % 2 else None)


@pytest.mark.parametrize("sort", ["-started_at", "started_at"])
async def test_csv_export_matches_the_api_in_small_chunks(admin_client, monkeypatch, sort):
    monkeypatch.setattr(queries, "EXPORT_CHUNK", 4)
    await make_calls()
    body = await (await admin_client.get(f"/api/v1/calls?per_page=100&sort={sort}")).json()
    resp = await admin_client.get(f"/api/v1/calls?format=csv&sort={sort}")
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert [r["ID"] for r in rows] == [i["id"] for i in body["items"]]
    assert len(rows) == 23
    for row, item in zip(rows, body["items"], strict=True):
        for col in queries.COLUMNS:
            value = item[col.key]
            text = "" if value is None else str(value)
            if col.kind == "time":  # as pages show times (PBX time zone: UTC here)
                text = local_datetime(value, "UTC")
            elif text and text[0] in "=+-@" and not re.fullmatch(r"-[0-9]+(\.[0-9]+)?", text):
                text = "'" + text  # formulas neutralised, negative numbers left alone
            assert row[col.header] == text, (col.key, row[col.header], value)


async def test_export_chunks_on_postgresql(pg_url, tmp_path, monkeypatch):
    """Same rows in the same order on PostgreSQL, the next chunk read while one is written."""
    from coovox.plugins.calllog.queries import CALL_LIST, export_chunks, filtered_calls
    from tests.support.apps import opened

    monkeypatch.setattr(queries, "EXPORT_CHUNK", 4)
    async with opened(pg_url, tmp_path / "d") as app:
        await make_calls()
        lq = CALL_LIST.parse({}, strict=True)
        qs = CALL_LIST.order(CALL_LIST.filter(filtered_calls({}, "UTC"), lq), lq)
        page = await CALL_LIST.fetch(filtered_calls({}, "UTC"), CALL_LIST.parse(
            {"per_page": "100"}, strict=True), strict=True)
        exported = [r async for chunk in export_chunks(app, qs, "started_at", True)
                    for r in chunk.dicts()]
        want = [queries.record_of(c) for c in page.items]
        assert [r["id"] for r in exported] == [w["id"] for w in want]
        for got, item in zip(exported, want, strict=True):
            assert {k: got[k] for k in got} == {k: item[k] for k in got}


async def test_downloads_on_postgresql(pg_url, tmp_path, aiohttp_client):
    """The export worker gets PostgreSQL's rows too: CSV and .xlsx of every call."""
    import openpyxl

    from coovox.users import create_token, create_user
    from coovox.web.app import create_app
    from tests.support.apps import opened

    async with opened(pg_url, tmp_path / "d") as app:
        await make_calls()
        await create_user("admin", "Admin-pass-1")
        auth = {"Authorization": f"Bearer {(await create_token('admin'))[1]}"}
        client = await aiohttp_client(create_app(app))
        resp = await client.get("/api/v1/calls?format=csv", headers=auth)
        assert resp.status == 200
        rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
        assert len(rows) == 24 and rows[1][1] == "2026-05-01 08:00:07"
        resp = await client.get("/api/v1/calls?format=xlsx", headers=auth)
        book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
        cells = list(book.active.iter_rows(values_only=True))
        assert len(cells) == 24 and cells[1][1] == datetime(2026, 5, 1, 8, 0, 7, 250000)

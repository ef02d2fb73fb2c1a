"""Call log, statistics and recharge history agree; downloads are complete and safe."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from coovox.plugins.billing import reports
from coovox.plugins.billing.metering import Meter
from coovox.plugins.calls.models import Call
from coovox.users import create_token, create_user
from tests.support.billing import STARTS, TZ, FakeControl, call_info, make_calls


def test_durations_are_shown_like_the_guide():
    # guide: 5 calls 0:12:22 -> average 0:02:28; 2 calls 0:04:37 -> average 0:02:19
    assert (reports.hms(742), reports.hms(742 / 5)) == ("0:12:22", "0:02:28")
    assert (reports.hms(277), reports.hms(277 / 2)) == ("0:04:37", "0:02:19")
    assert reports.hms(238, 2) == "00:03:58"


async def test_statistics_by_day_month_year_in_the_pbx_time_zone(coovox):
    await make_calls()
    by_day, total = await reports.statistics({"by": "day"})
    assert total == 3
    assert [(r["period"], r["calls"], r["cost"]) for r in by_day] == [
        ("2027-01-01", 1, "0.1400"), ("2026-12-01", 1, "0.1200"), ("2026-11-30", 1, "0.1000")]
    by_month, _ = await reports.statistics({"by": "month", "extension": "100"})
    assert [(r["period"], r["calls"], r["talk_time"]) for r in by_month] == [
        ("2027-01", 1, 116.0), ("2026-12", 1, 61.0), ("2026-11", 1, 39.0)]
    assert by_month[0]["extension"] == "=HYPERLINK(\"x\")[100]"
    by_year, _ = await reports.statistics({"by": "year", "from": "2026-12-01",
                                           "to": "2026-12-31"})
    assert [(r["period"], r["calls"], r["cost"], r["average"]) for r in by_year] == [
        ("2026", 1, "0.1200", "0:01:01")]


async def test_call_log_and_statistics_agree(coovox):
    await make_calls()
    tz = ZoneInfo(TZ)
    rows, total = await reports.call_log({}, tz, 0, 100)
    assert total == 4 and rows[0]["id"] == "r2"  # newest first
    stats, _ = await reports.statistics({"by": "year"})
    answered = [r for r in rows if r["status"] == "answered"]
    assert sum(Decimal(r["cost"]) for r in rows) == sum(Decimal(s["cost"]) for s in stats)
    assert sum(r["talk_time"] for r in answered) == sum(s["talk_time"] for s in stats)
    assert sum(s["calls"] for s in stats) == len(answered)
    refused, n = await reports.call_log({"status": "refused"}, tz, 0, 10)
    assert n == 1 and refused[0]["reason"] == "locked" and refused[0]["cost"] == "0.0000"
    day, n = await reports.call_log({"from": "2026-12-01", "to": "2026-12-01"}, tz, 0, 10)
    assert [r["id"] for r in day] == ["r1"]


@pytest.fixture
async def api(client, coovox):
    await create_user("bill-exp", "Bill-pass-123", role="billing")
    _, token = await create_token("bill-exp")
    client.auth = {"Authorization": f"Bearer {token}"}
    return client


async def test_csv_and_xlsx_downloads_hold_every_row_and_no_formulas(api):
    await make_calls()
    resp = await api.get("/api/v1/billing/calls?format=csv&per_page=1", headers=api.auth)
    assert resp.status == 200
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(lines) == 1 + 4  # header + all rows, not one page
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)
    resp = await api.get("/api/v1/billing/statistics?format=xlsx&by=day", headers=api.auth)
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    values = [[c.value for c in row] for row in book.active.iter_rows()]
    assert len(values) == 4 and values[0][0] == "Date"
    assert sorted(v[0] for v in values[1:]) == ["2026-11-30", "2026-12-01", "2027-01-01"]
    resp = await api.get("/api/v1/billing/recharges?format=xlsx", headers=api.auth)
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][1].startswith("'=")  # the name looks like a formula: neutralised
    resp = await api.get("/api/v1/billing/calls?format=pdf", headers=api.auth)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "format"
    resp = await api.get("/api/v1/billing/statistics?by=week", headers=api.auth)
    assert (await resp.json())["error"]["field"] == "by"


@pytest.mark.postgres
async def test_statistics_on_postgresql(pg_url, tmp_path):
    from tests.support.apps import opened

    async with opened(pg_url, tmp_path / "d"):
        await make_calls()
        rows, _ = await reports.statistics({"by": "month"})
        assert [(r["period"], r["cost"]) for r in rows] == [
            ("2027-01", "0.1400"), ("2026-12", "0.1200"), ("2026-11", "0.1000")]
        log, total = await reports.call_log({"keyword": "hyper"}, ZoneInfo(TZ), 0, 10)
        assert total == 3  # the refused call has no name
        day, _ = await reports.call_log({"from": "2026-12-01", "to": "2026-12-01"},
                                        ZoneInfo(TZ), 0, 10)
        assert [r["id"] for r in day] == ["r1"]


async def test_exports_in_chunks_hold_every_row_once_in_order_despite_equal_times(
        coovox, monkeypatch):
    """Exports continue after the last row (keyset): rows sharing a time are neither lost
    nor repeated at a chunk's edge."""
    from coovox.plugins.billing import services

    monkeypatch.setattr(reports, "CHUNK", 3)
    tz = ZoneInfo(TZ)
    await make_calls()
    for i in range(8):  # 8 more calls, pairs starting at the same second
        await Call.create(id=f"t{i}", started_at=STARTS[0] + timedelta(minutes=i // 2),
                          extension="100", dialed="91", status="busy")
    paged, total = await reports.call_log({}, tz, 0, 100)
    exported = [r async for chunk in reports.call_chunks({}, tz) for r in chunk.dicts()]
    assert total == 12 and [r["id"] for r in exported] == [r["id"] for r in paged]
    for _ in range(7):  # recharges of the same instant
        await services.recharge(["100"], "1", "test", STARTS[0])
    paged, total = await reports.recharges({}, tz, 0, 100)
    exported = [r async for chunk in reports.recharge_chunks({}, tz) for r in chunk.dicts()]
    assert total == 8 and [r["id"] for r in exported] == [r["id"] for r in paged]
    stats, total = await reports.statistics({"by": "day"})
    page, n = await reports.statistics({"by": "day"}, 1, 1)
    exported = [r async for chunk in reports.statistics_chunks({"by": "day"}) for r in chunk]
    assert n == total == 3 and page == stats[1:2] and exported == stats


async def test_the_call_log_shows_each_calls_cost_and_rate(coovox):
    """The billing columns of the call log (the plugin's ``coovox_call_fields`` answer):
    the settled cost, the running charge of a live call, nothing for an unrated one."""
    await _check_call_fields()


@pytest.mark.postgres
async def test_the_call_log_shows_each_calls_cost_and_rate_on_postgresql(tmp_path, pg_url):
    from tests.support.apps import opened

    async with opened(pg_url, tmp_path / "p"):
        await _check_call_fields()


async def _check_call_fields() -> None:
    await make_calls()
    info = call_info("live", started_at=STARTS[0])
    meter, control = Meter(TZ), FakeControl()
    await meter.answered(info, control, await meter.gate(info), False)
    await control.run_until("live", 70)  # still talking: charged so far, not settled
    fields = await meter.fields(["r0", "r1", "r2", "refused", "unknown", "live"])
    assert {k: v["cost"] for k, v in fields.items()} == {
        "r0": "0.1000", "r1": "0.1200", "r2": "0.1400", "live": "0.1200"}
    assert len({v["rate"] for v in fields.values()}) == 1 and fields["r0"]["rate"]

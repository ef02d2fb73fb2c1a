"""Exports that add up (issue 15): the reader's language, times in the PBX time zone as
pages show them (real date cells in .xlsx), money with the currency's decimals (numbers in
.xlsx: SUM works), the BOM on every CSV, formulas neutralised but negative amounts left
alone."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from coovox.plugins.billing import services
from coovox.plugins.calls.models import Call
from coovox.plugins.outbound.models import Extension
from coovox.users import create_token
from coovox.web.formats import local_datetime
from coovox.web.keys import ROUTES_KEY
from tests.support.billing import TZ, make_calls

MOMENT = datetime(2026, 11, 20, 23, 30, 5, 123456, tzinfo=UTC)
LOCAL = datetime(2026, 11, 21, 7, 30, 5)  # the same moment in Shanghai, to the second
PAGE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def config(config):
    return config.replace(timezone=TZ)


@pytest.fixture
async def api(admin_client, coovox):
    """Calls with costs, a recharge and a negative correction, formula-looking names."""
    await make_calls()  # extension 100, three billed calls and a refused one (Shanghai)
    await services.recharge(["100"], "5", "=cmd|' /C calc'!A0", MOMENT)
    await services.correct("100", "-1.5", "+1+1", "admin", MOMENT)
    await Extension.create(number="101", name="@x")
    await Call.create(id="neg", started_at=MOMENT, extension="101", extension_name="@x",
                      dialed="-1.50", trunk="+1+1", status="busy")
    admin_client.auth = {"Authorization": f"Bearer {(await create_token('admin'))[1]}"}
    return admin_client


async def _get(api, path: str, lang: str = "en") -> bytes:
    resp = await api.get(path, headers={**api.auth, "Accept-Language": lang})
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.read()


def _book(raw: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(raw)).active.iter_rows(values_only=True))


def _sheet(raw: bytes):
    return openpyxl.load_workbook(io.BytesIO(raw)).active


def _csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith(BOM)
    return list(csv.reader(io.StringIO(raw[len(BOM):].decode())))


async def test_xlsx_money_is_numeric_with_the_currency_decimals_and_adds_up(api):
    total = Decimal(0)
    for item in (await (await api.get("/api/v1/billing/statistics?by=day",
                                      headers=api.auth)).json())["items"]:
        total += Decimal(item["cost"])
    assert total == Decimal("0.36")
    sheet = _sheet(await _get(api, "/api/v1/billing/statistics?format=xlsx&by=day"))
    header = [c.value for c in sheet[1]]
    cost = header.index("Total Cost") + 1
    cells = [sheet.cell(row, cost) for row in range(2, sheet.max_row + 1)]
    assert all(isinstance(c.value, int | float) for c in cells), [c.value for c in cells]
    assert {c.number_format for c in cells} == {"#,##0.00"}
    assert sum(Decimal(str(c.value)) for c in cells) == total  # what SUM() gives

    rows = _book(await _get(api, "/api/v1/billing/calls?format=xlsx"))
    costs = [r[rows[0].index("Cost")] for r in rows[1:]]
    assert all(isinstance(v, int | float) for v in costs)
    assert sum(Decimal(str(v)) for v in costs) == total

    rows = _book(await _get(api, "/api/v1/billing/recharges?format=xlsx"))
    amounts = sorted(r[rows[0].index("Recharge Amount")] for r in rows[1:])
    assert amounts[0] == -1.5 and all(isinstance(v, int | float) for v in amounts)

    await services.update_settings({"currency": "VND"})  # no decimals
    sheet = _sheet(await _get(api, "/api/v1/billing/recharges?format=xlsx"))
    col = [c.value for c in sheet[1]].index("Pre-balance") + 1
    assert {sheet.cell(r, col).number_format for r in range(2, sheet.max_row + 1)} == {"#,##0"}


async def test_xlsx_times_are_date_cells_in_the_pbx_time_zone(api):
    for path, column in [("/api/v1/calls?format=xlsx", "Start time"),
                         ("/api/v1/billing/calls?format=xlsx", "Start Time"),
                         ("/api/v1/billing/recharges?format=xlsx", "Time")]:
        sheet = _sheet(await _get(api, path))
        col = [c.value for c in sheet[1]].index(column) + 1
        cells = [sheet.cell(r, col) for r in range(2, sheet.max_row + 1)]
        assert all(isinstance(c.value, datetime) for c in cells), (path, cells)
        assert all(c.is_date and "yyyy" in c.number_format for c in cells)
        assert LOCAL in {c.value.replace(microsecond=0) for c in cells}, path


async def test_csv_times_have_the_pages_format_in_the_pbx_time_zone(api):
    items = (await (await api.get("/api/v1/calls?per_page=100", headers=api.auth)).json())[
        "items"]
    rows = _csv(await _get(api, "/api/v1/calls?format=csv"))
    header = rows[0]
    for column, key in [("Start time", "started_at"), ("End time", "ended_at")]:
        shown = [r[header.index(column)] for r in rows[1:]]
        assert shown == [local_datetime(i[key], ZoneInfo(TZ)) for i in items]
        assert all(PAGE_TIME.fullmatch(s) or s == "" for s in shown) and any(shown)
    assert "2026-11-21 07:30:05" in [r[header.index("Start time")] for r in rows]
    for path, column in [("/api/v1/billing/calls?format=csv", "Start Time"),
                         ("/api/v1/billing/recharges?format=csv", "Time")]:
        rows = _csv(await _get(api, path))
        shown = [r[rows[0].index(column)] for r in rows[1:]]
        assert shown and all(PAGE_TIME.fullmatch(s) for s in shown), (path, shown)


async def test_exports_follow_the_readers_language(api):
    rows = _book(await _get(api, "/api/v1/calls?format=xlsx", "zh-CN"))
    header = rows[0]
    assert header[:3] == ("序号", "开始时间", "应答时间")
    assert not [h for h in header if re.search(r"[a-z]", h)], header  # (PIN stays PIN)
    statuses = {r[header.index("状态")] for r in rows[1:]}
    assert statuses == {"应答", "拒绝", "忙"}
    rows = _csv(await _get(api, "/api/v1/billing/calls?format=csv", "zh-CN"))
    assert rows[0][:3] == ["开始时间", "主叫", "被叫"]
    assert {r[rows[0].index("状态")] for r in rows[1:]} == {"应答", "拒绝", "忙"}
    rows = _csv(await _get(api, "/api/v1/billing/recharges?format=csv", "zh-CN"))
    assert {r[rows[0].index("类型")] for r in rows[1:]} == {"充值", "更正"}
    rows = _csv(await _get(api, "/api/v1/billing/statistics?format=csv&by=day", "zh-CN"))
    assert rows[0] == ["日期", "分机", "通话数", "总通话时间", "平均通话时间", "总费用"]
    # the same files in English
    rows = _csv(await _get(api, "/api/v1/billing/recharges?format=csv"))
    assert {r[rows[0].index("Type")] for r in rows[1:]} == {"recharge", "correction"}


async def test_negative_amounts_stay_numbers_and_formulas_are_neutralised(api):
    rows = _csv(await _get(api, "/api/v1/billing/recharges?format=csv"))
    header = rows[0]
    amounts = {r[header.index("Recharge Amount")] for r in rows[1:]}
    assert amounts == {"10.00", "5.00", "-1.50"}  # the currency's decimals, no quote
    assert {"'=cmd|' /C calc'!A0", "admin"} <= {r[header.index("By")] for r in rows[1:]}
    assert "'+1+1" in {r[header.index("Reason")] for r in rows[1:]}
    rows = _book(await _get(api, "/api/v1/billing/recharges?format=xlsx"))
    assert -1.5 in [r[rows[0].index("Recharge Amount")] for r in rows[1:]]
    for fmt in ("csv", "xlsx"):
        raw = await _get(api, f"/api/v1/calls?format={fmt}")
        rows = _csv(raw) if fmt == "csv" else [list(r) for r in _book(raw)]
        neg = next(r for r in rows if r[0] == "neg")
        header = rows[0]
        assert neg[header.index("Callee")] == "-1.50"  # a plain negative number: as it is
        assert neg[header.index("Trunk")] == "'+1+1"
        assert neg[header.index("Name")] == "'@x"


async def test_every_csv_starts_with_the_bom(api):
    doc = await (await api.get("/api/v1/openapi.json", headers=api.auth)).json()
    paths = [p for p, ops in doc["paths"].items() if "get" in ops and any(
        q["name"] == "format" for q in ops["get"].get("parameters", []))]
    routes = api.server.app[ROUTES_KEY].values()
    paths += [r.path for r in routes if r.method == "GET" and r.path.endswith(".csv")]
    assert "/calls/extensions/export.csv" in paths and "/api/v1/billing/calls" in paths
    for path in paths:
        url = path if path.endswith(".csv") else f"{path}?format=csv"
        raw = await _get(api, url)
        assert raw.startswith(BOM), path
        assert not raw[len(BOM):].startswith(BOM), path

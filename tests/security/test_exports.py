"""Point 8: every export (each API list with ``format=csv|xlsx``, found in the OpenAPI
document, and the CSV downloads of pages) neutralises cells starting with ``=``, ``+``,
``-`` or ``@`` (formula injection), whoever may download it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import openpyxl

from coovox.plugins.billing import services
from coovox.plugins.calls.models import Call, Extension
from coovox.users import create_token, create_user
from coovox.web.keys import ROUTES_KEY
from tests.support.billing import make_calls

FORMULAS = ("=", "+", "-", "@")
NAMES = {"101": "+SUM(1,2)", "102": "@A1", "103": "-2+3"}


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
        return True
    except InvalidOperation:
        return False


def dangerous(cells) -> list[str]:
    return [c for c in cells if isinstance(c, str) and c.startswith(FORMULAS)
            and not _is_number(c)]


def cells_of(fmt: str, raw: bytes) -> list:
    if fmt == "csv":
        return [c for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for c in row]
    book = openpyxl.load_workbook(io.BytesIO(raw))
    return [c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for c in row]


async def test_every_export_neutralises_formula_cells(admin_client, coovox):
    await make_calls()  # extension 100 is named =HYPERLINK("x")
    for number, name in NAMES.items():
        await Extension.create(number=number, name=name)
        await services.update_accounts([number], {"enabled": True})
        await services.recharge([number], "1", "=cmd|' /C calc'!A0", datetime.now(UTC))
        await Call.create(id=f"f{number}", started_at=datetime.now(UTC), extension=number,
                          extension_name=name, dialed="9123", trunk="@trunk", status="refused",
                          reason="-locked", pin="=1")
    await create_user("bill-x", "Bill-pass-123", role="billing")
    tokens = {"admin": (await create_token("admin"))[1],
              "billing": (await create_token("bill-x"))[1]}
    doc = await (await admin_client.get(
        "/api/v1/openapi.json", headers={"Authorization": f"Bearer {tokens['admin']}"})).json()
    exports = [path for path, ops in doc["paths"].items() if "get" in ops and any(
        p["name"] == "format" for p in ops["get"].get("parameters", []))]
    routes = {r.path: r for r in admin_client.server.app[ROUTES_KEY].values()}
    checked = []
    for path in exports:
        roles = routes[path].roles
        token = tokens["admin"] if "admin" in roles else tokens["billing"]
        for fmt in ("csv", "xlsx"):
            resp = await admin_client.get(f"{path}?format={fmt}",
                                          headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 200, f"{path} {fmt}: {resp.status}"
            cells = cells_of(fmt, await resp.read())
            assert dangerous(cells) == [], f"{path} as {fmt}"
            checked.append((path, fmt, len(cells)))
    for route in routes.values():  # CSV downloads of the pages (session, admin)
        if route.method == "GET" and route.path.endswith((".csv", ".xlsx")):
            resp = await admin_client.get(route.path)
            assert resp.status == 200, route.path
            fmt = "csv" if route.path.endswith(".csv") else "xlsx"
            cells = cells_of(fmt, await resp.read())
            assert dangerous(cells) == [], route.path
            checked.append((route.path, fmt, len(cells)))
    paths = {c[0] for c in checked}
    assert {"/api/v1/calls", "/api/v1/billing/calls", "/api/v1/billing/recharges",
            "/calls/extensions/export.csv"} <= paths, paths
    # the formula texts are in the files, neutralised (not dropped)
    assert all(n > 4 for _, _, n in checked), checked


async def test_the_extensions_csv_round_trips_formula_looking_names(coovox):
    from coovox.plugins.outbound import csv as config_csv

    await Extension.create(number="100", name='=HYPERLINK("x")')
    text = "".join([line async for line in config_csv.export_lines()])
    assert "'=HYPERLINK" in text
    await Extension.filter(number="100").update(name="changed")
    assert (await config_csv.import_extensions(text)).ok
    assert (await Extension.get(number="100")).name == '=HYPERLINK("x")'

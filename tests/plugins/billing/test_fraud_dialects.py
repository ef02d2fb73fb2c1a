"""The fraud guard's conditional updates give the same results on SQLite and PostgreSQL:
a guarded charge refused at the hour's or the day's limit, windows that start again, and
many charges and admissions at once never passing a limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import fraud, ledger, services
from coovox.plugins.billing import fraud_rules as rules
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.ledger import SpendGuard
from coovox.plugins.billing.models import Account, Ledger
from tests.support.billing import setup_billing

RATE = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.02", "unit": 6,
        "extensions": "all"}
D = Decimal
H1, H2, DAY = 2026112012, 2026112013, 20261120


async def _scenario() -> dict[str, Any]:
    await setup_billing(balance="1", rate=RATE)
    rate = (await services.active_rules())[0].to_json()
    hour = SpendGuard(H1, DAY, 500, 900)  # 0.05 an hour, 0.09 a day
    results = []
    await ledger.open_call("a", "100", "Ext 100", rate)
    for seq in (1, 2, 3, 3):  # 0.06 would pass the hour's 0.05
        results.append((await ledger.charge("a", "100", seq, D("0.02"), hour)).value)
    nxt = SpendGuard(H2, DAY, 5000, 900)  # the next hour: the day's 0.09 stops it
    for seq in (3, 4, 5):
        results.append((await ledger.charge("a", "100", seq, D("0.02"), nxt)).value)
    poor = SpendGuard(H2 + 100, DAY + 1, rules.NO_LIMIT, rules.NO_LIMIT)
    results.append((await ledger.charge("a", "100", 5, D("5"), poor)).value)  # the balance
    # ten calls at once, each charging 0.01 ten times, under a fresh limit of 0.25
    together = SpendGuard(H2 + 200, DAY + 2, 2500, rules.NO_LIMIT)
    for i in range(10):
        await ledger.open_call(f"c{i}", "100", "Ext 100", rate)

    async def talk(i: int) -> list[str]:
        return [(await ledger.charge(f"c{i}", "100", s, D("0.01"), together)).value
                for s in range(10)]

    many = await asyncio.gather(*(talk(i) for i in range(10)))
    taken = sum(r.count("taken") for r in many)
    account = await Account.get(extension="100")
    books = sum(await Ledger.all().values_list("amount", flat=True), D(0))
    # admissions at once under 3 simultaneous calls
    limits = rules.Limits(concurrent_calls=3, calls_per_hour=8)
    admitted = await asyncio.gather(*(fraud.admit(f"x{i}", "100", limits, H1, 1_000_000)
                                      for i in range(10)))
    assert await check_invariants() == []
    return {"results": results, "taken_at_once": taken, "balance": account.balance,
            "books": books, "spend_hour": account.spend_hour,
            "admitted": sorted(str(a) for a in admitted)}


EXPECTED = {
    "results": ["taken", "taken", "limit hour", "limit hour", "taken", "taken", "limit day",
                "refused"],
    "taken_at_once": 25, "balance": D("0.67"), "books": D("0.33"), "spend_hour": 2500,
    "admitted": ["None", "None", "None", *["too many simultaneous calls"] * 7],
}


async def _run_on(config) -> dict[str, Any]:
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        return await _scenario()
    finally:
        await app.close()


async def test_sqlite_guarded_charges(tmp_path):
    config = load_config(environ={}, data_dir=str(tmp_path / "s"), secret_key="x")
    assert await _run_on(config) == EXPECTED


@pytest.mark.postgres
async def test_postgresql_guarded_charges_and_admissions(tmp_path, pg_url):
    pg = await _run_on(load_config(environ={}, data_dir=str(tmp_path / "p"),
                                   database_url=pg_url, secret_key="x"))
    assert pg == EXPECTED


async def test_a_guarded_charge_costs_no_statement_more_on_sqlite(coovox, monkeypatch):
    """The spend windows ride on the balance's UPDATE: a guarded charge is the same one
    trip and the same statements as an unguarded one; an admission is one trip."""
    from coovox.storage.work import store

    await setup_billing(balance="1", rate=RATE)
    rate = (await services.active_rules())[0].to_json()
    trips: list[list[str]] = []
    monkeypatch.setattr(store(), "on_trip", lambda name: trips.append([]))
    monkeypatch.setattr(store(), "on_statement", lambda sql: trips[-1].append(sql))
    await ledger.open_call("t", "100", "Ext 100", rate)
    trips.clear()
    assert (await ledger.charge("t", "100", 1, D("0.02"))).value == "taken"
    guard = SpendGuard(H1, DAY, 500, 900)
    assert (await ledger.charge("t", "100", 2, D("0.02"), guard)).value == "taken"
    assert len(trips) == 2 and len(trips[0]) == len(trips[1]) == 3
    assert "spend_hour" in trips[1][2] and ">= -credit" in trips[1][2]
    trips.clear()
    limits = rules.Limits(calls_per_hour=10, concurrent_calls=2)
    assert await fraud.admit("y1", "100", limits, H1, 1_000_000) is None
    assert len(trips) == 1

"""Charges and settlements give the same books on SQLite (one trip per unit of work) and on
PostgreSQL (Tortoise): taken, retried, refused and ended charges, ends with missing charges."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiosqlite.core
import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import ledger, services
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.ledger import ChargeResult
from coovox.plugins.billing.metering import Meter
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from coovox.storage.work import store
from tests.support.billing import NOON, call_info, setup_billing

RATE = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.02", "unit": 6,
        "extensions": "all"}
D = Decimal


async def _scenario() -> dict[str, Any]:
    """Available 0.06 (balance 0.05, credit 0.01), 0.02 per 6 s begun: charge 0 is the
    initial cost (0), charge k+1 the boundary at 6k s."""
    await setup_billing(balance="0.05", credit="0.01", rate=RATE)
    rate = (await services.active_rules())[0].to_json()
    results = []
    row = await ledger.open_call("a", "100", "Ext 100", rate)
    assert row == ledger.CallRow(next_seq=0, warned=False, settled=False)
    results.append((await ledger.charge("a", "100", 0, D("0"))).value)
    for seq in (1, 1, 2, 3, 4):  # the second 1 is a retry; 4 cannot be afforded
        results.append((await ledger.charge("a", "100", seq, D("0.02"))).value)
    assert await ledger.open_call("a", "100", "Ext 100", rate) == ledger.CallRow(4, False, False)
    results.append(str(await ledger.settle("a", D("0.06"), 18.02, "2026-11-20", True, 18.0)))
    results.append(str(await ledger.settle("a", D("0.06"), 18.02, "2026-11-20", True, 18.0)))
    results.append((await ledger.charge("a", "100", 0, D("0.02"))).value)  # retry: TAKEN
    results.append((await ledger.charge("a", "100", 5, D("0.02"))).value)  # settled: ENDED

    await services.recharge(["100"], "0.05", "test", NOON)  # balance 0.04, available 0.05
    meter = Meter("UTC")
    await ledger.open_call("b", "100", "Ext 100", rate)  # answered, no charge taken live
    # ends at 20 s: initial cost, boundaries 0 and 6 paid, 12 cannot be: billed until 12 s
    results.append(str(await meter.ended(call_info("b"), {"status": "answered",
                                                          "talk_time": 20.0})))
    results.append(str(await meter.ended(call_info("c"), {"status": "busy", "talk_time": 0})))
    results.append(str(await meter.ended(call_info("b"), {"status": "answered",
                                                          "talk_time": 20.0})))
    calls = [(c.call_id, c.charged, c.cost, c.settled, c.next_seq, c.talk_time, c.billed_time,
              c.answered, c.rate is not None)
             for c in await BillingCall.all().order_by("call_id")]
    books = [(r.call_id, r.seq, r.amount, r.kind)
             for r in await Ledger.all().order_by("call_id", "seq")]
    balance = (await Account.get(extension="100")).balance
    assert await check_invariants() == []
    return {"results": results, "calls": calls, "ledger": books, "balance": balance}


EXPECTED = {
    "results": ["taken", "taken", "taken", "taken", "taken", "refused", "0.0000", "None", "taken",
                "ended", "0.0000", "0.0000", "None"],
    "calls": [
        ("a", D("0.06"), D("0.06"), True, 4, 18.02, 18.0, True, True),
        ("b", D("0.04"), D("0.04"), True, 3, 20.0, 12.0, True, True),
        ("c", D("0"), D("0"), True, 0, 0.0, 0.0, False, False),
    ],
    "ledger": [("a", 0, D("0"), "charge"), ("a", 1, D("0.02"), "charge"),
               ("a", 2, D("0.02"), "charge"), ("a", 3, D("0.02"), "charge"),
               ("b", 0, D("0"), "charge"), ("b", 1, D("0.02"), "charge"),
               ("b", 2, D("0.02"), "charge")],
    "balance": D("0"),
}


async def _run_on(config) -> dict[str, Any]:
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        return {"one_trip": store().one_trip, **(await _scenario())}
    finally:
        await app.close()


async def test_sqlite_books_of_taken_retried_refused_and_ended_charges(tmp_path):
    config = load_config(environ={}, data_dir=str(tmp_path / "s"), secret_key="x")
    assert await _run_on(config) == {"one_trip": True, **EXPECTED}


@pytest.mark.postgres
async def test_sqlite_and_postgresql_keep_the_same_books(tmp_path, pg_url):
    lite = await _run_on(load_config(environ={}, data_dir=str(tmp_path / "s"), secret_key="x"))
    pg = await _run_on(load_config(environ={}, data_dir=str(tmp_path / "p"),
                                   database_url=pg_url, secret_key="x"))
    assert (lite.pop("one_trip"), pg.pop("one_trip")) == (True, False)
    assert lite == pg == EXPECTED


async def test_a_charge_and_a_settlement_are_one_trip_each_on_sqlite(coovox, monkeypatch):
    """Under load every trip to the database thread waits a turn of the event loop."""
    await setup_billing(balance="1", rate=RATE)
    rate = (await services.active_rules())[0].to_json()
    trips = []
    real = aiosqlite.core.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # Tortoise's trips (none expected)
        trips.append(fn)
        return await real(self, fn, *args, **kwargs)

    meter = Meter("UTC")
    await meter.settings()  # cached (re-read every 2 s, not per call)
    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    monkeypatch.setattr(store(), "on_trip", trips.append)  # the store's units of work
    await ledger.open_call("t", "100", "Ext 100", rate)
    assert len(trips) == 1
    assert await ledger.charge("t", "100", 1, D("0.02")) is ChargeResult.TAKEN  # at 0 s
    assert len(trips) == 2
    assert await meter.ended(call_info("t"), {"status": "answered",
                                              "talk_time": 7.0}) == D("0")
    assert len(trips) == 3  # the missing charge at 6 s and the settlement together
    assert (await Account.get(extension="100")).balance == D("0.96")


async def test_an_end_failing_on_a_database_error_is_retried_and_settles_once(coovox,
                                                                               monkeypatch):
    from tortoise.exceptions import OperationalError

    await setup_billing(balance="1", rate=RATE)
    rate = (await services.active_rules())[0].to_json()
    await ledger.open_call("r", "100", "Ext 100", rate)
    failed = []

    def flaky(name):
        if not failed:
            failed.append(1)
            raise OperationalError("database is locked")

    monkeypatch.setattr(store(), "on_trip", flaky)
    assert await Meter("UTC").ended(call_info("r"), {"status": "answered",
                                                     "talk_time": 7.0}) == D("0")
    assert failed
    row = await BillingCall.get(call_id="r")
    assert (row.settled, row.cost, row.charged) == (True, D("0.04"), D("0.04"))
    assert (await Account.get(extension="100")).balance == D("0.96")
    assert await check_invariants() == []

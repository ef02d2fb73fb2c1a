"""Two app processes sharing one PostgreSQL database never charge more than there is."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from coovox.config import load_config
from coovox.context import Coovox
from coovox.models import set_setting
from coovox.plugin_host import PluginHost
from coovox.plugins.billing.check import check_invariants
from coovox.plugins.billing.models import Account, BillingCall, Ledger
from tests.support.billing import setup_billing

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.postgres
async def test_two_processes_fifty_calls_charge_exactly_twelve_units(pg_url, tmp_path):
    config = load_config(environ={}, data_dir=str(tmp_path / "d"), database_url=pg_url,
                         secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        startup=False)
    try:
        await setup_billing(balance="0.12", rate={
            "prefix": "", "initial_cost": "0", "initial_time": 0, "rate": "0.01", "unit": 1,
            "extensions": "all"})
        # each unit charged when due: the two processes' charges contend for the balance
        await set_setting("billing", "debit_interval", 0)
        go = tmp_path / "go"
        procs = [subprocess.Popen(
            [sys.executable, "-m", "tests.plugins.billing.pg_worker", pg_url,
             str(tmp_path / f"w{k}"), f"p{k}-", "25", str(go)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for k in (1, 2)]
        try:
            for p in procs:
                assert p.stdout.readline().strip() == "ready", p.stderr.read()
            go.touch()
            outs = [p.communicate(timeout=120) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert all(p.returncode == 0 for p in procs), outs
        acc = await Account.get(extension="100")
        assert acc.balance == Decimal(0)
        # a call the gate let through has its billing row; the first answered calls may
        # take all 12 units before the other process's gates run, which then refuse (no
        # money left): that is right, so count what each process placed
        live = sum(int(out.split()[-1]) for out, _err in outs)
        assert 0 < live <= 50
        assert await BillingCall.filter(call_id__startswith="p").count() == live
        assert sum(c.cost for c in await BillingCall.all()) == Decimal("0.12")
        charges = await Ledger.filter(amount__gt=0).values_list("amount", flat=True)
        assert sum(charges) == Decimal("0.12") and len(charges) == 12  # one unit each
        assert await check_invariants() == []
        per_process = {k: await Ledger.filter(call_id__startswith=f"p{k}-", amount__gt=0).count()
                       for k in (1, 2)}
        print("charges (ledger rows) per process:", per_process, "outputs:", [o[0].split() for o in outs])
    finally:
        await app.close()

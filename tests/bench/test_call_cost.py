"""The per-part CPU benchmark of a billed call (issue 17 point 1) runs, and its parts add up."""

from __future__ import annotations

import json
import math

import pytest

from bench import call_cost
from bench.call_cost import Phase, parts
from bench.results import Results


def test_the_parts_add_up_to_the_billed_call():
    billed = {"setup": Phase(3.0, 1.0, 10), "hold": Phase(0.4, 0.6, 30), "end": Phase(1.5, 0.9, 10)}
    unbilled = {"setup": Phase(2.5, 0.5, 10), "end": Phase(1.2, 0.3, 10)}
    p = parts(billed, unbilled, calls=1000, charges=500)
    assert p["setup"] == pytest.approx(2.5)
    assert p["billing_at_answer"] == pytest.approx(1.0)   # 4.0 - 3.0 s over 1,000 calls
    assert p["record"] == pytest.approx(0.8)
    assert p["events_at_end"] == pytest.approx(1.2)
    assert p["settlement"] == pytest.approx(0.9)
    assert p["per_charge"] == pytest.approx(2.0)           # 1.0 s over 500 charges
    five = ("setup", "billing_at_answer", "record", "events_at_end", "settlement")
    assert sum(p[k] for k in five) == pytest.approx(p["total"]) == pytest.approx(6.4)
    assert math.isnan(parts(billed, unbilled, 1000, charges=0)["per_charge"])


@pytest.mark.timeout(120)
async def test_call_cost_benchmark_runs_with_tiny_sizes(tmp_path):
    res = Results(out_dir=tmp_path, mode="smoke")
    await call_cost.bench_call_cost(res, call_cost.Sizes(calls=6, rate=30, rounds=1, idle_s=0.5,
                                                         debit_interval=1))
    data = json.loads((tmp_path / "call_cost.json").read_text())
    assert data["complete"], data["rounds"]
    billed = [r for r in data["rounds"] if r["billed"]][0]
    assert billed["charges_while_held"] >= 6       # every call took one more charge
    assert billed["charges_in_hold"] >= 1          # the measured window holds some
    # the double saw the whole call: StasisStart … bridge on setup, the hang-up at the end
    assert data["counts"]["setup_events_per_call"] > 0
    assert data["counts"]["end_events_per_call"] > 0
    assert data["median_ms"]["total"] > 0
    assert "| 17.1 |" in res.table()

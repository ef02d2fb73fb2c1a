"""The benchmark harness still runs (tiny sizes), so it cannot rot. Figures are not checked."""

from __future__ import annotations

import json

import pytest

from bench import admission, datagen, reports_bench
from bench.results import Results, update_markdown
from bench.rig import Sizes
from bench.stats import percentile, summary_ms


def test_percentiles_use_nearest_rank():
    data = [float(x) for x in range(1, 101)]
    assert percentile(data, 50) == 50.0
    assert percentile(data, 99) == 99.0
    assert summary_ms([0.001, 0.002])["max"] == 2.0


def test_markdown_block_is_replaced_and_the_rest_kept(tmp_path):
    path = tmp_path / "B.md"
    path.write_text("# Benchmarks\n\nhand-written\n")
    update_markdown(path, "table one")
    update_markdown(path, "table two")
    text = path.read_text()
    assert "hand-written" in text and "table two" in text and "table one" not in text


def test_generated_rows_fill_every_column_of_the_call_table():
    from coovox.plugins.calls.models import Call

    calls, bills = next(datagen.call_batches(50))
    cols, rows = datagen.rows_for(Call, calls, "sqlite")
    assert len(rows) == 50 and all(len(r) == len(cols) for r in rows)
    assert {c["extension"] for c in calls} <= {n for n, _ in datagen.extensions()}


@pytest.mark.timeout(120)
async def test_call_and_report_benchmarks_run_with_tiny_sizes(tmp_path, monkeypatch):
    monkeypatch.setattr(admission, "VARIANTS", admission.VARIANTS[:2])
    res = Results(out_dir=tmp_path, mode="smoke")
    sz = Sizes(rounds=1, background=3, attempt_rate=20, attempts=4, ramp_rate=50)
    await admission.bench_admission(res, sz)
    data = json.loads((tmp_path / "admission.json").read_text())
    product = [r for r in data["rounds"] if r["kind"] == "product"][0]
    assert product["admission"]["count"] == 4
    assert product["cutoff"]["calls"] == 4
    db = await reports_bench.measure_db("sqlite", None, reports_bench.Sizes(rows=200, repeats=1))
    assert db["generate"]["rows"] == 200
    assert {f["status"][0] for f in db["queries"].values()} == {200}
    assert db["exports"]["csv"]["status"] == 200
    assert "| 1 |" in res.table()


@pytest.mark.timeout(60)
async def test_rest_client_benchmark_runs(tmp_path):
    from bench import rest_client

    res = Results(out_dir=tmp_path, mode="smoke")
    await rest_client.bench_rest(res, rounds=1, n=20)
    data = json.loads((tmp_path / "rest_client.json").read_text())
    assert data["median"]["aiohttp"] > 0 and data["median"]["product"] > 0
    assert "| 6 |" in res.table()


@pytest.mark.timeout(120)
async def test_decks_benchmark_runs_with_tiny_sizes(tmp_path):
    from bench import decks_bench

    res = Results(out_dir=tmp_path, mode="smoke")
    await decks_bench.bench_decks(res, decks_bench.Sizes(rows=300, calls=20, rounds=1))
    data = json.loads((tmp_path / "decks.json").read_text())
    assert data["apply"]["version"] and data["dry_run"]["added"] == 300
    assert data["re_import_dry_run"]["changed"] == 300
    assert data["admission_with_deck"][0]["count"] == 20


async def test_interference_benchmark_runs_with_tiny_sizes(tmp_path):
    from bench import interference

    res = Results(out_dir=tmp_path, mode="smoke")
    sz = interference.Sizes(calls=4, call_rate=10, background=2, signins_per_s=2, rows=300,
                            import_lines=50, import_after_s=0.2, export_timeout=60)
    await interference.bench_interference(res, sz)
    variants = json.loads((tmp_path / "interference.json").read_text())["variants"]
    assert set(variants) == {"with sign-ins", "without sign-ins"}
    for data in variants.values():
        assert data["cutoff"]["calls"] == 4 and data["admission"]["count"] == 4
        assert data["import"]["ok"] and data["export"]["complete"]
        assert data["healthz"]["latency"]["count"] > 0
    assert variants["with sign-ins"]["signins"]["completed"] > 0
    assert "| 14 |" in res.table()


@pytest.mark.timeout(120)
async def test_ari_client_benchmark_runs_each_client_for_real():
    from bench import ariclient

    expected = {"handwritten": "HttpPool", "aiohttp": "AiohttpTransport"}
    try:
        import aioari  # noqa: F401  (the [bench] extra, not [test])
    except ImportError:
        pass
    else:
        expected["aioari"] = "aioari.Client"
    out = await ariclient.bench_requests(1, 5, ("handwritten", "aiohttp", "aioari"))
    assert set(out["median"]) == set(expected)
    assert all(m["cpu_us_per_request"] > 0 for m in out["median"].values())
    assert out["transports"] == expected


async def test_the_ari_client_switch_of_the_measured_process():
    from bench import ariclients
    from coovox.ari import AriRest

    try:
        ariclients.use_client("aiohttp")
        swapped = AriRest("http://127.0.0.1:1", "u", "p", "coovox")
        assert type(swapped.pool).__name__ == "AiohttpTransport"
    finally:
        ariclients.use_client(None)
    plain = AriRest("http://127.0.0.1:1", "u", "p", "coovox")
    assert type(plain.pool).__name__ == "HttpPool"
    await swapped.close()
    await plain.close()


@pytest.mark.timeout(180)
async def test_memory_benchmark_runs_with_tiny_sizes(tmp_path):
    from bench import memory

    res = Results(out_dir=tmp_path, mode="smoke")
    await memory.bench_memory(res, memory.Sizes.quick())
    data = json.loads((tmp_path / "memory.json").read_text())
    assert data["idle"]["first_start"]["VmRSS"] > 0 and data["idle"]["restart"]["VmRSS"] > 0
    assert [s["calls"] for s in data["per_call"]["steps"]] == [10, 20]
    assert "| 17.7 |" in res.table()


@pytest.mark.postgres
@pytest.mark.timeout(240)
async def test_many_nodes_postgresql_benchmark_runs_with_tiny_sizes(tmp_path):
    from bench import pgnodes
    from tests.support.postgres import pg_bin

    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries not installed")
    res = Results(out_dir=tmp_path, mode="smoke")
    await pgnodes.bench_pgnodes(res, pgnodes.Sizes.quick())
    data = json.loads((tmp_path / "pgnodes.json").read_text())
    assert set(data["runs"]) == {"spread 1", "spread 2", "hot 1", "hot 2", "one-statement 1",
                                 "one-statement 2"}
    assert all(s["done"] == s["asked"] for run in data["runs"].values() for s in run)
    check = data["invariants"]
    assert check["burst"]["taken"] == 70 and check["exhaust"]["balance"] == -2000
    assert not (check["accounts_wrong"] or check["accounts_below_credit"]
                or check["coovox_check"])

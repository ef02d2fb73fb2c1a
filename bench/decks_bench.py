"""Rate decks at carrier scale (issue 18): a 100,000-row deck's import (dry run, apply,
a re-import diffed against it) time and memory, the index build, and call admission
latency (the billing gate) with a 100,000-prefix deck loaded vs 10 single rates.

Runs on SQLite in a temporary data folder, in this process (``Meter.gate`` is timed
directly: the ARI side of admission is the same in both cases).
"""

from __future__ import annotations

import asyncio
import gc
import random
import resource
import shutil
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.results import Results, Target, log
from bench.stats import summary_ms

HEADER = "prefix,length,initial_cost,initial_time,rate,unit,start_time,end_time,remark\r\n"


@dataclass
class Sizes:
    rows: int = 100_000
    calls: int = 3000
    rounds: int = 3

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rows=2000, calls=200, rounds=1)


def write_deck(path: Path, rows: int, price_shift: int = 0) -> None:
    """A carrier-like deck: ``rows`` distinct prefixes of 4 to 8 digits."""
    rnd = random.Random(7)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for i in range(rows):
            prefix = str(1000 + i) if i < 9000 else str(10000 + i * 7 + rnd.randint(0, 6))
            fh.write(f"{prefix},0,0.0000,0,0.{(i + price_shift) % 10000:04d},60,"
                     f"00:00:00,00:00:00,dest {i}\r\n")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _timed(fn) -> tuple[Any, float, float]:
    """(result, seconds, peak MB of Python allocations during the call)."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    out = await fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 1024 / 1024


async def _gate_latency(meter: Any, numbers: list[str], calls: int) -> list[float]:
    from coovox.hooktypes import CallInfo

    samples = []
    now = datetime.now(UTC)
    for i in range(calls):
        dialed = numbers[i % len(numbers)]
        info = CallInfo(call_id=f"b{i}", extension="100", extension_name="Ext 100",
                        dialed=dialed, sent=dialed, rule="r", trunks=("t",), started_at=now)
        t0 = time.perf_counter()
        decision = await meter.gate(info)
        samples.append(time.perf_counter() - t0)
        assert decision is not None and not decision.refuse
    return samples


async def measure(sz: Sizes) -> dict[str, Any]:
    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.models import set_setting
    from coovox.plugin_host import PluginHost
    from coovox.plugins.billing import deck_services, services
    from coovox.plugins.billing.metering import Meter
    from coovox.plugins.calls.models import Extension

    tmp = Path(tempfile.mkdtemp(prefix="bench-decks-"))
    app = Coovox(config=load_config(environ={}, data_dir=str(tmp / "data"),
                                    secret_key="bench"), plugins=PluginHost())
    await app.open(migrate=True, startup=False)
    tz = __import__("zoneinfo").ZoneInfo("UTC")
    out: dict[str, Any] = {"rows": sz.rows}
    try:
        await Extension.create(number="100", name="Ext 100")
        await set_setting("billing", "active", True)
        await services.update_accounts(["100"], {"enabled": True})
        await services.recharge(["100"], "1000000", "bench", datetime.now(UTC))
        for i in range(10):  # 10 single rates: the baseline
            await services.create_rate({"prefix": str(i), "rate": "0.0100", "unit": 60,
                                        "extensions": "all", "remark": f"r{i}"})
        deck = await deck_services.create_deck({"name": "Carrier", "extensions": "all"})
        first, second = tmp / "deck.csv", tmp / "deck2.csv"
        write_deck(first, sz.rows)
        write_deck(second, sz.rows, price_shift=1)
        out["file_mb"] = round(first.stat().st_size / 1024 / 1024, 2)
        now = datetime.now(UTC)

        def run(path: Path, apply: bool):
            return lambda: deck_services.import_file(deck.id, path, "csv", apply=apply, tz=tz,
                                                     now=now)

        # times without tracemalloc (it slows allocation-heavy code several-fold), then
        # the peak of Python allocations of each step in a separate dry run
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        r = await run(first, False)()
        out["dry_run"] = {"seconds": round(time.perf_counter() - t0, 2), "added": r["added"]}
        t0 = time.perf_counter()
        r = await run(first, True)()
        out["apply"] = {"seconds": round(time.perf_counter() - t0, 2), "version": r["version"]}
        t0 = time.perf_counter()
        r = await run(second, False)()
        out["re_import_dry_run"] = {"seconds": round(time.perf_counter() - t0, 2),
                                    "changed": r["changed"]}
        out["rss_growth_mb"] = round(_rss_mb() - rss0, 1)
        _r, _s, peak = await _timed(run(first, False))
        out["dry_run"]["peak_mb"] = round(peak, 1)
        _r, _s, peak = await _timed(run(second, False))
        out["re_import_dry_run"]["peak_mb"] = round(peak, 1)
        out["peak_mb_note"] = ("peak of Python allocations (tracemalloc) during the step: "
                               "the rows of the file and of the deck it is compared with, "
                               "as compact tuples; the file itself is streamed")

        # admission: 10 rates only, then with the deck loaded (index built before timing)
        rnd = random.Random(3)
        prefixes = [line.split(",", 1)[0] for line in
                    first.read_text().splitlines()[1:]]
        numbers = [p + "".join(rnd.choice("0123456789") for _ in range(12 - len(p)))
                   for p in rnd.sample(prefixes, min(1000, len(prefixes)))]
        rounds_base, rounds_deck = [], []
        for _ in range(sz.rounds):
            await deck_services.update_deck(deck.id, {"active": False})
            meter = Meter("UTC")
            await _gate_latency(meter, numbers, 100)  # warm the caches
            base_samples = await _gate_latency(meter, numbers, sz.calls)
            rounds_base.append({**summary_ms(base_samples), "p50_us": _p50_us(base_samples)})
            await deck_services.update_deck(deck.id, {"active": True})
            meter = Meter("UTC")
            t0 = time.perf_counter()
            await _gate_latency(meter, numbers, 1)  # builds the index of the version
            out["index_build_seconds"] = round(time.perf_counter() - t0, 2)
            await _gate_latency(meter, numbers, 100)
            deck_samples = await _gate_latency(meter, numbers, sz.calls)
            rounds_deck.append({**summary_ms(deck_samples), "p50_us": _p50_us(deck_samples)})
        # memory the index of the 100k-row version holds (point 4: memory per 100k rates),
        # on a fresh meter, traced apart from the timings above
        meter = Meter("UTC")
        tracemalloc.start()
        await _gate_latency(meter, numbers, 1)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["index_mb"] = round(held / 2**20, 1)
        out["admission_10_rates"] = rounds_base
        out["admission_with_deck"] = rounds_deck
    finally:
        await app.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _p50_us(samples: list[float]) -> float:
    data = sorted(samples)
    return round(data[len(data) // 2] * 1e6, 2)


def _median(rounds: list[dict[str, Any]], key: str) -> float:
    vals = sorted(r[key] for r in rounds)
    return vals[len(vals) // 2]


async def bench_decks(res: Results, sz: Sizes) -> None:
    log(f"decks: {sz.rows} rows, {sz.calls} gated calls x {sz.rounds} rounds")
    data = await asyncio.wait_for(measure(sz), 900)
    res.save("decks", data)
    base = _median(data["admission_10_rates"], "p50_us")
    with_deck = _median(data["admission_with_deck"], "p50_us")
    ratio = with_deck / base if base else float("nan")
    data["gate_ratio_p50"] = round(ratio, 3)
    total = data["apply"]["seconds"]
    res.add(Target("decks", f"import {sz.rows} rows: apply (parse, validate, diff, write)",
                   f"{total:.2f} s", "< 10 s", total < 10,
                   f"dry run {data['dry_run']['seconds']:.2f} s, peak "
                   f"{data['dry_run']['peak_mb']} MB; re-import diffed against it "
                   f"{data['re_import_dry_run']['seconds']:.2f} s, peak "
                   f"{data['re_import_dry_run']['peak_mb']} MB"))
    full = _full_admission_p50_ms(res)
    extra_us = with_deck - base
    data["gate_extra_us"] = round(extra_us, 2)
    if full:
        data["full_admission_p50_ms"] = full
        data["extra_pct_of_full_admission"] = round(extra_us / (full * 1000) * 100, 2)
    res.save("decks", data)
    res.add(Target("decks", f"billing gate p50 with a {sz.rows}-prefix deck vs 10 rates",
                   f"{with_deck:.1f} µs vs {base:.1f} µs (x{ratio:.2f}, +{extra_us:.1f} µs)",
                   "(no target: the gate alone)", None,
                   f"index built once per version in {data['index_build_seconds']} s, "
                   f"holding {data['index_mb']} MB"))
    if full:
        pct = data["extra_pct_of_full_admission"]
        res.add(Target("decks", f"admission latency with a {sz.rows}-prefix deck vs 10 rates",
                       f"+{extra_us:.1f} µs on a {full} ms admission p50 (+{pct}%)",
                       "within 10%", pct <= 10,
                       "gate difference added to the product's admission p50 of "
                       "admission.json"))


def _full_admission_p50_ms(res: Results) -> float | None:
    """The product's admission p50 (ms) of the last admission benchmark, if any."""
    import json

    try:
        data = json.loads((res.out_dir / "admission.json").read_text())
        return float(data["summary"]["product"]["p50"])
    except (OSError, ValueError, KeyError, TypeError):
        return None

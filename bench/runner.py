"""``python -m bench [--quick] [--sizes K=V ...] [--only NAME ...] [--out DIR]``: run benchmarks, write results.

Full mode writes ``bench/results/*.json`` and the generated block of ``BENCHMARKS.md``;
``--quick`` uses tiny sizes and writes to ``bench/results/quick/`` (a smoke run);
``--sizes KEY=VALUE ...`` changes sizes of the interference benchmark (a short run while
developing; results in ``bench/results/sized/``, BENCHMARKS.md untouched).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from pathlib import Path

from bench import (
    admission,
    ariclient,
    call_cost,
    capacity,
    decks_bench,
    interference,
    memory,
    pgnodes,
    real_asterisk,
    reports_bench,
    rest_client,
)
from bench.results import RESULTS, ROOT, Results, Target, log, update_markdown
from bench.rig import Sizes

BENCHES = ("admission", "cps", "concurrency", "profile", "callcost", "rest", "reports", "real",
           "decks", "interference", "ariclient", "pgnodes", "memory")


def write_markdown(res: Results, seconds: float, final: bool) -> None:
    state = "" if final else " (run in progress: the benchmarks below are done so far)"
    update_markdown(ROOT / "BENCHMARKS.md",
                    f"## Results of the last full run{state}\n\n" + res.machine_md() + "\n\n"
                    + res.table() + f"\n\nWhole run: {seconds:.0f} s. "
                    "Figures per run and round: `bench/results/*.json`.")


async def run(names: list[str], quick: bool, res: Results, rows: int | None = None,
              markdown: bool = False, sizes: list[str] | None = None) -> None:
    sz = Sizes.quick() if quick else Sizes()
    rsz = reports_bench.Sizes.quick() if quick else reports_bench.Sizes()
    isz = interference.Sizes.quick() if quick else interference.Sizes()
    if sizes:
        isz = interference.Sizes.with_overrides(isz, sizes)
    if rows:
        rsz.rows = rows
    run_start = time.monotonic()
    steps = {
        "admission": lambda: admission.bench_admission(res, sz),
        "cps": lambda: capacity.bench_cps(res, sz),
        "concurrency": lambda: capacity.bench_concurrency(res, sz),
        "reports": lambda: reports_bench.bench_reports(res, rsz),
        "rest": lambda: rest_client.bench_rest(res, rounds=1 if quick else 3,
                                               n=300 if quick else 3000),
        "decks": lambda: decks_bench.bench_decks(
            res, decks_bench.Sizes.quick() if quick else decks_bench.Sizes()),
        "interference": lambda: interference.bench_interference(res, isz),
        "profile": lambda: admission.profile_admission(
            res, sz, str(res.out_dir / "profile_admission.txt")),
        "ariclient": lambda: ariclient.bench_ariclient(
            res, ariclient.Sizes.quick() if quick else ariclient.Sizes()),
        "pgnodes": lambda: pgnodes.bench_pgnodes(
            res, pgnodes.Sizes.quick() if quick else pgnodes.Sizes()),
        "memory": lambda: memory.bench_memory(
            res, memory.Sizes.quick() if quick else memory.Sizes()),
        "callcost": lambda: call_cost.bench_call_cost(
            res, call_cost.Sizes.quick() if quick else call_cost.Sizes()),
        "real": lambda: real_asterisk.bench_real(
            res, real_asterisk.Sizes.quick() if quick else real_asterisk.Sizes()),
    }
    for name in names:
        res.current = name
        t0 = time.monotonic()
        log(f"=== {name}")
        try:
            await steps[name]()
        except Exception as exc:  # a benchmark reports, it never fails the suite
            traceback.print_exc()
            res.add(Target("-", f"{name} benchmark", f"did not run: {exc!r}"[:200], "-", None))
            res.save(f"{name}_error", {"error": traceback.format_exc()})
        log(f"=== {name} took {time.monotonic() - t0:.0f} s")
        if markdown:
            write_markdown(res, time.monotonic() - run_start, final=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=BENCHES, help="run only these")
    parser.add_argument("--out", type=Path, help="results folder")
    parser.add_argument("--rows", type=int, help="call records for the reports (default 1M)")
    parser.add_argument("--sizes", nargs="+", metavar="KEY=VALUE",
                        help="interference sizes, e.g. rows=200000 calls=300 "
                        "variants=without (a short run; results in bench/results/sized/)")
    parser.add_argument("--no-markdown", action="store_true",
                        help="do not update BENCHMARKS.md (default in --quick)")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "sized" if args.sizes else "full"
    out = args.out or (RESULTS if mode == "full" else RESULTS / mode)
    res = Results(out_dir=out, mode=mode)
    names = list(args.only or BENCHES)
    if args.only:
        res.keep_previous(names)
    t0 = time.monotonic()
    markdown = mode == "full" and not args.no_markdown
    asyncio.run(run(names, args.quick, res, args.rows, markdown, args.sizes))
    res.write_summary()
    table = res.table()
    print("\n" + res.machine_md() + "\n\n" + table + "\n")
    if markdown:
        write_markdown(res, time.monotonic() - t0, final=True)
    log(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Entry point of the measured process: the product (``coovox run``) or the baseline app.

    python -m bench.appmain product|baseline --lag-file F [--profile OUT.html]

Configuration comes from the environment (``COOVOX_*``) as for ``coovox run``. An
event-loop-lag monitor writes ``<monotonic> <lag seconds>`` lines to the lag file (the
sampler sleeps 10 ms and records how late it wakes). SIGTERM stops it cleanly; with
``--profile`` a pyinstrument profile of the whole run is written at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import time

INTERVAL = 0.01


class QueryCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends (its ``tortoise.db_client`` debug log)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        text = str(record.msg if not record.args else record.args[0]).lstrip()
        verb = text.split(None, 1)[0].upper() if text else "?"
        key = verb
        if verb in ("SELECT", "UPDATE", "INSERT", "DELETE"):
            key = f"{verb} {_table(text)}"
        self.counts[key] = self.counts.get(key, 0) + 1


def count_direct_trips(counts: dict[str, int]) -> None:
    """Also count the units of work of :mod:`coovox.storage.work` (several statements in
    one trip to the store's database thread on SQLite), by unit: ``TRIP <unit>``."""
    from coovox.storage import work

    def trip(name: str) -> None:
        key = f"TRIP {name}"
        counts[key] = counts.get(key, 0) + 1

    work.Store.on_trip = staticmethod(trip)


def _table(sql: str) -> str:
    words = sql.replace('"', " ").replace("`", " ").split()
    for i, w in enumerate(words[:-1]):
        if w.upper() in ("FROM", "INTO", "UPDATE"):
            return words[i + 1]
    return "?"


async def lag_monitor(path: str, stop: asyncio.Event) -> None:
    with open(path, "a", buffering=1 << 16) as fh:
        last_flush = time.monotonic()
        while not stop.is_set():
            t0 = time.monotonic()
            await asyncio.sleep(INTERVAL)
            now = time.monotonic()
            fh.write(f"{now:.6f} {max(0.0, now - t0 - INTERVAL):.6f}\n")
            if now - last_flush > 0.5:
                fh.flush()
                last_flush = now


async def run(kind: str, lag_file: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if os.environ.get("BENCH_ARI_CLIENT"):  # bench/ariclient.py: compare REST clients
        from bench.ariclients import use_client

        use_client(os.environ["BENCH_ARI_CLIENT"])
    if kind == "baseline":
        from bench.baseline import BaselineApp

        app = BaselineApp(os.environ["COOVOX_ARI_URL"], os.environ["COOVOX_ARI_USER"],
                          os.environ["COOVOX_ARI_PASSWORD"], os.environ.get("COOVOX_ARI_APP",
                                                                            "coovox"))
        await app.start()
        closer = app.stop
    else:
        from coovox import runner
        from coovox.config import load_config
        from coovox.context import Coovox
        from coovox.plugin_host import PluginHost

        coovox = Coovox(config=load_config(), plugins=PluginHost())
        web = await runner.start(coovox)

        async def closer() -> None:
            await web.cleanup()
            await coovox.close()

    print("READY", flush=True)
    monitor = loop.create_task(lag_monitor(lag_file, stop))
    await stop.wait()
    await monitor
    await asyncio.wait_for(closer(), 20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["product", "baseline"])
    parser.add_argument("--lag-file", required=True)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--count-queries", default=None, help="write SQL counts (JSON) here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counter = None
    if args.count_queries:
        counter = QueryCounter()
        db_log = logging.getLogger("tortoise.db_client")
        db_log.setLevel(logging.DEBUG)
        db_log.addHandler(counter)
        db_log.propagate = False
        count_direct_trips(counter.counts)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
    trace = os.environ.get("BENCH_TRACE_FILE")
    if trace and args.kind == "product":
        from bench import admission_trace

        admission_trace.install()
    try:
        asyncio.run(run(args.kind, args.lag_file))
    finally:
        if trace and args.kind == "product":
            admission_trace.dump(trace)
        if counter is not None:
            import json

            with open(args.count_queries, "w") as fh:
                json.dump(counter.counts, fh, indent=1, sort_keys=True)
        if profiler is not None:
            profiler.stop()
            with open(args.profile, "w") as fh:
                fh.write(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()

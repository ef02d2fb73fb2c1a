"""Where an admission's time goes inside the app (``BENCH_TRACE_FILE``; bench/appmain.py).

Notes, per call, the app's own instants on its monotonic clock: the StasisStart read from
the websocket (``recv``), the call's task started (``flow``), the gates asked and answered
(``gate0``/``gate1``; with the wait of each store trip in the queue of the store's thread
and its run there), and the trunk leg's create about to be sent (``create``).  Written as
JSON at exit; :func:`summary` turns it into percentiles per stage.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
import time
from typing import Any

from bench.stats import percentile

_call: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_call", default=None)
calls: dict[str, dict[str, float]] = {}
recv: dict[str, float] = {}  # caller channel -> StasisStart read
trips: list[tuple[float, float, float, str]] = []  # (submit, start in thread, end, unit)
locks: list[tuple[float, str]] = []  # BEGIN IMMEDIATE's wait for the write lock, per unit


def install() -> None:
    """Wrap the few functions on the admission path (the measured process only)."""
    threading.Thread(target=_sample_threads, name="trace-threads", daemon=True).start()
    from coovox.ari import connection
    from coovox.plugins.calls import flow, stasis
    from coovox.storage import work

    parse = connection.parse_event

    def parse_event(raw: Any) -> Any:
        event = parse(raw)
        if event and event.get("type") == "StasisStart" and \
                (event.get("args") or [""])[0] == "dialout":
            recv.setdefault(event["channel"]["id"], time.monotonic())
        return event

    connection.parse_event = parse_event

    start_call = stasis.CallController._start_call

    def _start_call(self: Any, event: dict[str, Any], args: list[str]) -> None:
        start_call(self, event, args)
        caller = (event.get("channel") or {}).get("id", "")
        call = self.by_channel.get(caller)
        if call is not None:
            calls.setdefault(call.id, {"recv": recv.pop(caller, float("nan")),
                                       "spawn": time.monotonic()})

    stasis.CallController._start_call = _start_call

    setup = flow.CallFlow._setup_and_dial

    async def _setup_and_dial(self: Any) -> None:
        _call.set(self.call.id)
        if self.call.id in calls:
            calls[self.call.id]["flow"] = time.monotonic()
        await setup(self)

    flow.CallFlow._setup_and_dial = _setup_and_dial

    ask = stasis.CallController.ask_gates

    async def ask_gates(self: Any, info: Any) -> Any:
        t0 = time.monotonic()
        try:
            return await ask(self, info)
        finally:
            if info.call_id in calls:
                calls[info.call_id].update(gate0=t0, gate1=time.monotonic())

    stasis.CallController.ask_gates = ask_gates

    dial = flow.CallFlow._dial

    async def _dial(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.call.id in calls:
            calls[self.call.id].setdefault("create", time.monotonic())
        return await dial(self, *args, **kwargs)

    flow.CallFlow._dial = _dial

    job = work.SqliteStore._job
    run = work.SqliteStore._run
    local = threading.local()

    def on_statement(_sql: str) -> None:
        if getattr(local, "first", 0.0) is None:
            local.first = time.monotonic()

    work.Store.on_statement = staticmethod(on_statement)

    async def _run(self: Any, unit: Any, atomic: bool) -> Any:
        submit = time.monotonic()
        box: list[float] = []

        def timed(u: Any, a: bool) -> Any:
            box.append(time.monotonic())
            local.first = None
            try:
                return job(self, u, a)
            finally:
                box.append(local.first or box[0])

        loop = __import__("asyncio").get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, timed, unit, atomic)
        finally:
            end = time.monotonic()
            name = getattr(unit, "__name__", "?")
            trips.append((submit, box[0] if box else end, end, name))
            if len(box) > 1:
                locks.append((box[1] - box[0], name))
            cid = _call.get()
            if cid in calls and "trip_wait" not in calls[cid] and name == "one":
                calls[cid].update(trip_wait=(box[0] if box else end) - submit,
                                  trip_run=end - (box[0] if box else end))

    work.SqliteStore._run = _run
    del run
    if not hasattr(work.SqliteStore, "_read_job"):  # a version without the read lane
        return
    read_job = work.SqliteStore._read_job

    async def _read(self: Any, unit: Any) -> Any:
        submit = time.monotonic()
        box: list[float] = []

        def timed(u: Any) -> Any:
            box.append(time.monotonic())
            return read_job(self, u)

        loop = __import__("asyncio").get_running_loop()
        try:
            return await loop.run_in_executor(self.read_pool, timed, unit)
        finally:
            end = time.monotonic()
            begun = box[0] if box else end
            trips.append((submit, begun, end, "read " + getattr(unit, "__name__", "?")))
            cid = _call.get()
            if cid in calls and "trip_wait" not in calls[cid]:
                calls[cid].update(trip_wait=begun - submit, trip_run=end - begun)

    work.SqliteStore._read = _read


thread_cpu: dict[str, list[float]] = {}  # thread name -> [first, last] CPU seconds seen


def _sample_threads() -> None:
    """Every second: each thread's CPU time (Linux /proc), by its Python name."""
    tick = os.sysconf("SC_CLK_TCK")
    while True:
        names = {t.native_id: t.name for t in threading.enumerate()}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            cpu = (int(fields[11]) + int(fields[12])) / tick
            name = f"{names.get(int(tid), 'other')}#{tid}"
            thread_cpu.setdefault(name, [cpu, cpu])[1] = cpu
        time.sleep(1)


def dump(path: str) -> None:
    with open(path, "w") as fh:
        json.dump({"calls": calls, "trips": trips, "locks": locks,
                   "thread_cpu_s": {k: round(v[1] - v[0], 2) for k, v in
                                    sorted(thread_cpu.items(), key=lambda kv: kv[0])
                                    if v[1] - v[0] >= 0.05}}, fh)


def summary(path: str, since: float | None = None) -> dict[str, Any]:
    """Percentiles (ms) of each stage of the traced admissions (those whose StasisStart
    was read at ``since`` or later, on the monotonic clock, when given)."""
    with open(path) as fh:
        data = json.load(fh)
    if since is not None:
        data["calls"] = {k: c for k, c in data["calls"].items()
                         if c.get("recv", float("nan")) >= since}
    stages = {"recv->spawn": ("recv", "spawn"), "spawn->flow": ("spawn", "flow"),
              "flow->gate0": ("flow", "gate0"), "gate": ("gate0", "gate1"),
              "gate1->create": ("gate1", "create"), "recv->create": ("recv", "create")}
    out: dict[str, Any] = {}
    for name, (a, b) in stages.items():
        vals = [c[b] - c[a] for c in data["calls"].values() if a in c and b in c]
        out[name] = {"p50": round(percentile(vals, 50) * 1000, 2),
                     "p99": round(percentile(vals, 99) * 1000, 2),
                     "max": round(max(vals, default=0) * 1000, 2), "n": len(vals)}
    for key in ("trip_wait", "trip_run"):
        vals = [c[key] for c in data["calls"].values() if key in c]
        out["gate " + key] = {"p50": round(percentile(vals, 50) * 1000, 2),
                              "p99": round(percentile(vals, 99) * 1000, 2),
                              "max": round(max(vals, default=0) * 1000, 2), "n": len(vals)}
    by_unit: dict[str, list[float]] = {}
    for _s, start, end, name in data["trips"]:
        by_unit.setdefault(name, []).append(end - start)
    waits: dict[str, list[float]] = {}
    for _s, start, _e, name in data["trips"]:
        waits.setdefault(name, []).append(start - _s)
    out["store trips (queue wait ms p50/p99/max)"] = {
        k: (round(percentile(v, 50) * 1000, 2), round(percentile(v, 99) * 1000, 2),
            round(max(v) * 1000, 2)) for k, v in waits.items()}
    out["thread CPU s (whole run)"] = data.get("thread_cpu_s")
    lock_waits = [w for w, _n in data.get("locks", [])]
    if lock_waits:
        out["BEGIN IMMEDIATE wait ms p50/p99/max"] = (
            round(percentile(lock_waits, 50) * 1000, 2),
            round(percentile(lock_waits, 99) * 1000, 2), round(max(lock_waits) * 1000, 2))
    out["store trips (run ms p50/p99/max, count)"] = {
        k: (round(percentile(v, 50) * 1000, 2), round(percentile(v, 99) * 1000, 2),
            round(max(v) * 1000, 2), len(v)) for k, v in by_unit.items()}
    return out


if __name__ == "__main__":
    import sys

    print(json.dumps(summary(sys.argv[1]), indent=1))

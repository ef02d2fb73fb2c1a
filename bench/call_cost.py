"""Issue 17 point 1 on the ARI double: CooVox's CPU in ms per billed call, part by part.

The product runs in its own process (``bench.appmain``) against the double; its CPU is read
per thread from ``/proc`` (the main thread runs the event loop, the others are the
database's) at the edges of each phase of a round of ``calls`` calls:

- **idle**: no call (one recovery sweep included): the rate subtracted from every phase;
- **setup**: the calls are placed at ``rate``/s until every one is bridged (and, billed,
  its billing row opened with its first block of charges);
- **hold** (billed only): from the first to the last call taking one more charge (a block
  of ``debit_interval`` s of 1-s units, as shipped);
- **end**: the phones hang up at ``rate``/s until every record is finished (and, billed,
  settled).

A round runs twice, billing active and billing off, and the parts are differences
(:func:`parts`), so that they add up to what a short billed call costs.  Numbers dialled
begin with ``98`` (1-s units of ``bench.seed``) and end in 5 (the far end answers at once).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, seed
from bench.results import Results, Target, log
from bench.rig import Rig, bridged_count, wait_until

THREADS = ("main_thread", "other_threads")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of a process's main thread (the event loop) and of its other threads
    (the database's), from the scheduler's nanosecond counters (``/proc/…/schedstat``: the
    10-ms ticks of ``stat`` are too coarse for a part of a millisecond per call)."""
    out = dict.fromkeys(THREADS, 0.0)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            ns = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
        out["main_thread" if task.name == str(pid) else "other_threads"] += ns / 1e9
    return out


@dataclass
class Sizes:
    calls: int = 1000
    rate: float = 100          # calls placed (and hung up) per second
    rounds: int = 5
    idle_s: float = 11         # longer than one recovery sweep period (10 s)
    debit_interval: int = 30   # as shipped (billing.md "Charging ahead")

    @classmethod
    def quick(cls) -> Sizes:
        return cls(calls=20, rate=40, rounds=1, idle_s=1, debit_interval=2)


@dataclass
class Phase:
    """CPU seconds of one phase per thread kind, the idle share already taken off."""

    main_thread: float
    other_threads: float
    seconds: float
    events: int = 0     # websocket events the double sent
    requests: int = 0   # REST requests the app made

    @property
    def total(self) -> float:
        return self.main_thread + self.other_threads


def parts(billed: dict[str, Phase], unbilled: dict[str, Phase], calls: int,
          charges: int) -> dict[str, float]:
    """ms per call of each part; the first five add up to a short billed call (``total``).

    - ``setup``: call control from StasisStart to the bridge (routing, dial, answer,
      bridge; the event loop of the unbilled round);
    - ``billing_at_answer``: the gate's balance read and the billing row opened with its
      first block of charges (billed − unbilled setup, all threads);
    - ``record``: the call record's INSERT, answer UPDATE and finish on the database thread
      (unbilled round, setup + end);
    - ``events_at_end``: hang-up, bridge, StasisEnd and destroy events and the requests they
      cause (the event loop of the unbilled end);
    - ``settlement``: the refund of the units not reached and the settled mark (billed −
      unbilled end, all threads);
    - ``per_charge``: one more charge of a live call, ms per charge (the billed hold).
    """
    def per_call(seconds: float) -> float:
        return seconds * 1000 / calls

    out = {
        "setup": per_call(unbilled["setup"].main_thread),
        "billing_at_answer": per_call(billed["setup"].total - unbilled["setup"].total),
        "record": per_call(unbilled["setup"].other_threads + unbilled["end"].other_threads),
        "events_at_end": per_call(unbilled["end"].main_thread),
        "settlement": per_call(billed["end"].total - unbilled["end"].total),
    }
    out["total"] = per_call(billed["setup"].total + billed["end"].total)
    hold = billed.get("hold")
    out["per_charge"] = hold.total * 1000 / charges if hold is not None and charges else float("nan")
    return out


class Probe:
    """The measured process's CPU per thread kind, its idle rate taken off each phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.idle = {k: 0.0 for k in THREADS}
        self._at, self._cpu = time.monotonic(), thread_cpu(pid)

    def restart(self) -> None:
        self._at, self._cpu = time.monotonic(), thread_cpu(self.pid)

    def phase(self) -> Phase:
        now, cpu = time.monotonic(), thread_cpu(self.pid)
        dt = now - self._at
        used = {k: max(0.0, cpu[k] - self._cpu[k] - self.idle[k] * dt) for k in THREADS}
        self._at, self._cpu = now, cpu
        return Phase(used["main_thread"], used["other_threads"], dt)

    def take_idle(self) -> None:
        """The phase since the last restart becomes the idle rate (CPU s per s)."""
        now, cpu = time.monotonic(), thread_cpu(self.pid)
        dt = max(1e-9, now - self._at)
        self.idle = {k: (cpu[k] - self._cpu[k]) / dt for k in THREADS}
        self._at, self._cpu = now, cpu


def db_count(db: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return -1


async def wait_db(db: Path, sql: str, at_least: int, timeout: float) -> bool:
    return await wait_until(lambda: db_count(db, sql) >= at_least, timeout=timeout, step=0.2)


LEDGER = "SELECT count(*) FROM billing_ledger"
OPENED = "SELECT count(*) FROM billing_call"
FINISHED = "SELECT count(*) FROM calls_call WHERE status != 'active'"
SETTLED = "SELECT count(*) FROM billing_call WHERE settled"


def _counted(phase: Phase, double: Any, since: loadgen.Mark) -> Phase:
    phase.events = len(double.sent_events) - since.events
    phase.requests = len(double.requests) - since.requests
    return phase


async def one_round(billed: bool, sz: Sizes) -> dict[str, Any]:
    """One product process, one round of ``sz.calls`` calls; figures per phase."""
    async def prepare(env: dict[str, str]) -> None:
        from coovox.models import set_setting

        app = await seed.open_product(env)
        try:
            await set_setting("billing", "active", billed)
            await set_setting("billing", "debit_interval", sz.debit_interval)
        finally:
            await app.close()

    async with Rig("product", prepare=prepare) as rig:
        assert rig.proc is not None and rig.proc.proc is not None
        db = Path(rig.tmp) / "coovox.sqlite3"
        probe = Probe(rig.proc.proc.pid)
        await asyncio.sleep(sz.idle_s)
        probe.take_idle()
        phases: dict[str, Phase] = {}
        waited: dict[str, bool] = {}
        ramp = sz.calls / sz.rate

        since = loadgen.mark(rig.double)
        probe.restart()
        phones: list[str] = []

        async def place(i: int) -> None:
            phones.append(await rig.double.place_call(seed.LOAD_EXT[i % len(seed.LOAD_EXT)],
                                                      f"98{i:06d}5"))

        await loadgen.paced(sz.rate, sz.calls, place)
        waited["bridged"] = await wait_until(lambda: bridged_count(rig.double) >= sz.calls,
                                             timeout=30 + ramp)
        if billed:
            waited["opened"] = await wait_db(db, OPENED, sz.calls, 30)
        phases["setup"] = _counted(probe.phase(), rig.double, since)

        charges = held_charges = 0
        if billed:  # measured from the first of these charges to the last
            opened = db_count(db, LEDGER)
            waited["first_charge"] = await wait_db(db, LEDGER, opened + 1,
                                                   sz.debit_interval + ramp + 30)
            since = loadgen.mark(rig.double)
            probe.restart()
            before = db_count(db, LEDGER)
            waited["charged"] = await wait_db(db, LEDGER, opened + sz.calls, ramp + 30)
            await asyncio.sleep(0.3)
            phases["hold"] = _counted(probe.phase(), rig.double, since)
            after = db_count(db, LEDGER)
            charges, held_charges = after - before, after - opened

        since = loadgen.mark(rig.double)
        probe.restart()

        async def hang_up(i: int) -> None:
            await rig.double.phone_hangup(phones[i])

        await loadgen.paced(sz.rate, len(phones), hang_up)
        waited["finished"] = await wait_db(db, FINISHED, sz.calls, 30 + ramp)
        if billed:
            waited["settled"] = await wait_db(db, SETTLED, sz.calls, 30)
        phases["end"] = _counted(probe.phase(), rig.double, since)
        return {"billed": billed, "calls": sz.calls, "charges_in_hold": charges,
                "charges_while_held": held_charges,
                "idle_cpu_per_s": {k: round(v, 4) for k, v in probe.idle.items()},
                "waited": waited, "phases": {k: vars(v) for k, v in phases.items()}}


def _phases(data: dict[str, Any]) -> dict[str, Phase]:
    return {k: Phase(**v) for k, v in data["phases"].items()}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


async def bench_call_cost(res: Results, sz: Sizes) -> None:
    rounds: list[dict[str, Any]] = []
    split: list[dict[str, float]] = []
    for r in range(sz.rounds):
        pair = {}
        for billed in (True, False):
            log(f"call cost round {r + 1}/{sz.rounds}: {'billed' if billed else 'billing off'}")
            pair[billed] = await one_round(billed, sz)
            log(f"  -> {pair[billed]['phases']}")
        rounds += [pair[True], pair[False]]
        split.append(parts(_phases(pair[True]), _phases(pair[False]), sz.calls,
                           pair[True]["charges_in_hold"]))
    med = {k: _median([s[k] for s in split]) for k in split[0]}
    counts = {f"{p}_{k}_per_call": _median([x["phases"][p][k] / x["calls"]
                                            for x in rounds if x["billed"]])
              for p in ("setup", "end") for k in ("events", "requests")}
    complete = all(all(x["waited"].values()) for x in rounds)
    res.save("call_cost", {"sizes": vars(sz), "rounds": rounds, "parts_per_round": split,
                           "median_ms": med, "counts": counts, "complete": complete})
    res.add(Target(
        "17.1", "CPU per short billed call on the ARI double, by part (1-s units, ~1 s talk, "
        f"charging ahead {sz.debit_interval} s; {sz.calls} calls x {sz.rounds} rounds)",
        f"{med['total']} ms = setup {med['setup']} + billing at answer "
        f"{med['billing_at_answer']} + record {med['record']} + events at the end "
        f"{med['events_at_end']} + settlement {med['settlement']}; one more charge "
        f"{med['per_charge']} ms; per call {counts['setup_events_per_call'] + counts['end_events_per_call']:.0f} "
        f"events, {counts['setup_requests_per_call'] + counts['end_requests_per_call']:.0f} "
        "REST requests" + ("" if complete else " (a phase timed out: see call_cost.json)"),
        "(no target: the breakdown of point 1)", None))

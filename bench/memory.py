"""Issue 17 point 7: resident memory of an idle ``coovox run`` and per metered call.

Idle: ``python -m coovox run`` exactly as a user starts it (SQLite in a fresh data dir, no
Asterisk reachable, web UI on a free port of 127.0.0.1, no terminal), read from
``/proc/<pid>/status`` once ``/healthz`` answers and the process has been idle for a few
seconds: the first start (the database is created and migrated) and restarts on the same
data dir (nothing to migrate: every later start), medians over rounds. Per call: the product
as the concurrency benchmark runs it (``bench/appmain.py`` against the ARI double), RSS with
no call, then with 1,000 and 5,000 metered calls up (6-s units): (RSS - RSS idle) / calls.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.appproc import free_port
from bench.results import RESULTS, ROOT, Results, Target, log

GOAL_IDLE_MB = 80.0
STATUS_KEYS = ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads")


@dataclass
class Sizes:
    rounds: int = 3
    settle_s: float = 3.0
    call_steps: tuple = (1000, 5000)
    ramp_rate: float = 150
    hold_s: float = 3.0

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rounds=1, settle_s=0.5, call_steps=(10, 20), ramp_rate=50, hold_s=0.5)


def status(pid: int) -> dict[str, float]:
    """Memory figures of a process in MB (``Threads`` as a count)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in STATUS_KEYS:
            n = int(value.split()[0])
            out[key] = n if key == "Threads" else round(n / 1024, 1)
    return out


def _healthz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status in (200, 503)
    except OSError:
        return False


async def idle_once(data_dir: str, settle_s: float) -> dict[str, float]:
    """Start ``coovox run`` on ``data_dir``, wait until it answers and idles; its memory."""
    port = free_port()
    env = {**os.environ, "COOVOX_DATA_DIR": data_dir, "COOVOX_WEB_PORT": str(port),
           "COOVOX_WEB_HOST": "127.0.0.1", "COOVOX_ARI_URL": f"http://127.0.0.1:{free_port()}",
           "COOVOX_SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "coovox", "run"], env=env, cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    loop = asyncio.get_running_loop()
    try:
        t0 = time.monotonic()
        while not await loop.run_in_executor(None, _healthz, port):
            if proc.poll() is not None or time.monotonic() - t0 > 60:
                raise RuntimeError(f"coovox run did not start (exit {proc.poll()})")
            await asyncio.sleep(0.1)
        up_s = time.monotonic() - t0
        await asyncio.sleep(settle_s)
        fig = status(proc.pid)
        fig["start_s"] = round(up_s, 2)
        return fig
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(loop.run_in_executor(None, proc.wait), 20)
        except TimeoutError:
            proc.kill()
            proc.wait()


def median_fig(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in rounds), 1) for k in rounds[0]}


async def idle(sz: Sizes) -> dict[str, Any]:
    first, restart = [], []
    for _ in range(sz.rounds):
        data_dir = tempfile.mkdtemp(prefix="bench-memory-")
        try:
            first.append(await idle_once(data_dir, sz.settle_s))
            restart.append(await idle_once(data_dir, sz.settle_s))
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    log(f"memory idle: first start {median_fig(first)}, restart {median_fig(restart)}")
    return {"first_start": median_fig(first), "restart": median_fig(restart),
            "rounds": {"first_start": first, "restart": restart}}


async def per_call(sz: Sizes) -> dict[str, Any]:
    from bench.rig import Rig, place_background

    steps = []
    async with Rig("product") as rig:
        await asyncio.sleep(sz.settle_s)
        rss0 = rig.proc.rss_mb()
        held = 0
        for target in sz.call_steps:
            up = await place_background(rig, target - held, sz.ramp_rate, start=held)
            held = target
            await asyncio.sleep(sz.hold_s)
            rss = rig.proc.rss_mb()
            steps.append({"calls": target, "bridged": up["bridged"], "all_up": up["all_up"],
                          "rss_mb": round(rss, 1),
                          "kb_per_call": round((rss - rss0) * 1024 / max(up["bridged"], 1), 1)})
            log(f"memory {target} calls: {steps[-1]}")
    return {"rss_no_call_mb": round(rss0, 1), "steps": steps}


def _before() -> dict[str, Any] | None:
    """The figures measured before this round's changes (kept in the results folder)."""
    import json

    try:
        return json.loads((RESULTS / "memory_before.json").read_text())
    except (OSError, ValueError):
        return None


async def bench_memory(res: Results, sz: Sizes) -> None:
    data = {"sizes": sz.__dict__,
            "idle": await idle(sz), "per_call": await per_call(sz)}
    res.save("memory", data)
    before = _before() if res.mode == "full" else None
    b_idle = (before or {}).get("idle", {})
    first, again = data["idle"]["first_start"], data["idle"]["restart"]

    def was(key: str) -> str:
        return f"{b_idle[key]['VmRSS']} MB → " if key in b_idle else ""

    res.add(Target(
        "17.7", "idle `coovox run` RSS (SQLite, no Asterisk): first start / restart",
        f"first start {was('first_start')}{first['VmRSS']} MB, restart "
        f"{was('restart')}{again['VmRSS']} MB (anon {again['RssAnon']} + files "
        f"{again['RssFile']} MB, {int(again['Threads'])} threads, peak {again['VmHWM']} MB, "
        f"up in {again['start_s']} s)", f"< {GOAL_IDLE_MB:.0f} MB",
        max(first["VmRSS"], again["VmRSS"]) < GOAL_IDLE_MB))
    steps = data["per_call"]["steps"]
    b_steps = {s["calls"]: s for s in (before or {}).get("per_call", {}).get("steps", [])}
    parts = [f"{s['calls']:,} calls: "
             + (f"{b_steps[s['calls']]['kb_per_call']} → " if s["calls"] in b_steps else "")
             + f"{s['kb_per_call']} KB/call ({s['rss_mb']} MB)" for s in steps]
    res.add(Target("17.7", "RSS per metered call (product on the ARI double, 6-s units)",
                   "; ".join(parts) + f"; no call {data['per_call']['rss_no_call_mb']} MB",
                   "(no target: before → after)", None))

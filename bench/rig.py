"""The rig of the call benchmarks: an ARI double in this process, the measured app in its own.

The product (or the baseline app) runs as ``bench.appmain`` talking to the double over
127.0.0.1, so the measured app has its own event loop and CPU accounting.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench import loadgen, seed
from bench.appproc import AppProcess, free_port

USER, PASSWORD, APP = "coovox", "bench-secret", "coovox"

@dataclass
class Sizes:
    """Sizes of one run (``full`` is what the issue asks; ``quick`` only proves it runs)."""

    rounds: int = 3
    background: int = 1000        # calls up and metered during admission (point 1)
    attempt_rate: float = 100     # call attempts per second (point 1)
    attempts: int = 300           # attempts per round (cut-off calls, point 2; 900 in all)
    ramp_rate: float = 150        # how fast background calls are placed
    cps_steps: tuple = (10, 25, 50, 100, 150, 200, 250, 300, 350, 400, 500)
    cps_step_s: float = 8
    conc_steps: tuple = (100, 250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000)
    conc_hold_s: float = 12
    profile_attempts: int = 150
    profile_background: int = 100
    admission_budget_s: float = 420  # no new round starts after this (>= 2 rounds always)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rounds=1, background=20, attempt_rate=20, attempts=20, ramp_rate=50,
                   cps_steps=(20, 40), cps_step_s=1, conc_steps=(10, 20), conc_hold_s=1.5,
                   profile_attempts=0, profile_background=0)


class Rig:
    """One double + one measured process (+ its data dir when it is the product)."""

    def __init__(self, kind: str, *, n_cut: int = 0, profile: str | None = None,
                 db_params: str = "", prepare: Any = None) -> None:
        self.kind = kind
        self.prepare = prepare  # async fn(env): more data before the app starts
        self.db_params = db_params
        self.n_cut = n_cut
        self.profile = profile
        self.tmp = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        self.double: Any = None
        self.proc: AppProcess | None = None
        self.env: dict[str, str] = {}

    async def __aenter__(self) -> Rig:
        from coovox.sim import AriDouble

        self.double = AriDouble(app=APP, user=USER, password=PASSWORD)
        await self.double.start(host="127.0.0.1", port=0)
        self.env = {"COOVOX_DATA_DIR": self.tmp, "COOVOX_ARI_URL": self.double.url,
                    "COOVOX_ARI_USER": USER, "COOVOX_ARI_PASSWORD": PASSWORD,
                    "COOVOX_ARI_APP": APP, "COOVOX_WEB_HOST": "127.0.0.1",
                    "COOVOX_WEB_PORT": str(free_port()), "COOVOX_SECRET_KEY": "bench",
                    "COOVOX_TIMEZONE": "UTC"}
        if self.db_params:
            self.env["COOVOX_DATABASE_URL"] = f"sqlite://{self.tmp}/coovox.sqlite3?{self.db_params}"
        if self.kind == "product":
            await seed.seed(self.env, self.n_cut)
        if self.prepare is not None:
            await self.prepare(self.env)
        self.proc = AppProcess(self.kind, self.env, profile=self.profile)
        await self.proc.start()
        await wait_app(self.double)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.proc is not None:
            await self.proc.stop()
        if self.double is not None:
            await self.double.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


async def wait_app(double: Any, timeout: float = 30) -> None:
    """Wait until the measured app's websocket is connected to the double."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine = getattr(double, "engine", None)
        flag = double.connected
        if flag is True and engine is not None and getattr(engine, "app_registered", True):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the measured app never connected to the ARI double")


def channel_count(double: Any) -> int:
    return len(getattr(double, "channels", {}) or {})


def bridged_count(double: Any) -> int:
    bridges = getattr(double, "bridges", {}) or {}
    n = 0
    for b in bridges.values():
        chans = getattr(b, "channels", None)
        if chans is None and isinstance(b, dict):
            chans = b.get("channels")
        n += 1 if chans and len(chans) >= 2 else 0
    return n


async def wait_until(pred: Any, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()


async def place_background(rig: Rig, count: int, rate: float, start: int = 0) -> dict:
    """``count`` calls that answer and stay up (number ends in 5), spread over 400 extensions."""
    exts = seed.LOAD_EXT

    async def one(i: int) -> None:
        await rig.double.place_call(exts[(start + i) % len(exts)], f"95{start + i:06d}5")

    before = bridged_count(rig.double)
    stats = await loadgen.paced(rate, count, one)
    ok = await wait_until(lambda: bridged_count(rig.double) >= before + count,
                          timeout=30 + count / 50)
    stats["all_up"] = ok
    stats["bridged"] = bridged_count(rig.double)
    return stats

"""Points 1-4 of issue 7: admission vs baseline, cut-off precision, concurrent calls, CPS.

The ARI double runs in this process; the product (or the baseline app) runs in its own
process (``bench.appmain``) talking to it over 127.0.0.1, so the measured app has its own
event loop and CPU accounting.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import loadgen, seed
from bench.appproc import AppProcess, free_port
from bench.results import Results, Target, log
from bench.stats import median_of, ratio, summary_ms

USER, PASSWORD, APP = "coovox", "bench-secret", "coovox"


@dataclass
class Sizes:
    """Sizes of one run (``full`` is what the issue asks; ``quick`` only proves it runs)."""

    rounds: int = 3
    background: int = 1000        # calls up and metered during admission (point 1)
    attempt_rate: float = 100     # call attempts per second (point 1)
    attempts: int = 300           # attempts per round (cut-off calls, point 2; 900 in all)
    ramp_rate: float = 150        # how fast background calls are placed
    cps_steps: tuple = (10, 25, 50, 100, 150, 200, 300, 400)
    cps_step_s: float = 8
    conc_steps: tuple = (100, 250, 500, 1000, 1500, 2000, 2500, 3000)
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
                 db_params: str = "") -> None:
        self.kind = kind
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


# --- points 1 and 2 ----------------------------------------------------------------------------


async def admission_round(kind: str, sz: Sizes, profile: str | None = None,
                          db_params: str = "") -> dict:
    """One round: the measured app at ``attempt_rate`` with ``background`` calls up."""
    n = sz.attempts if profile is None else sz.profile_attempts
    async with Rig(kind, n_cut=n if kind == "product" else 0, profile=profile,
                   db_params=db_params) as rig:
        out: dict[str, Any] = {"kind": kind, "label": kind, "db_params": db_params}
        background = sz.background if profile is None else sz.profile_background
        if kind == "product":
            out["background"] = await place_background(rig, background, sz.ramp_rate)
            await asyncio.sleep(1)
        since = loadgen.mark(rig.double)
        lag_since = since.at
        callers: set[str] = set()

        async def one(i: int) -> None:
            ext = seed.cut_extension(i) if kind == "product" else seed.LOAD_EXT[i % 400]
            cid = await rig.double.place_call(ext, f"98{i:06d}5")
            callers.add(cid if isinstance(cid, str) else getattr(cid, "id", str(cid)))

        cpu0 = time.process_time()
        out["load"] = await loadgen.paced(sz.attempt_rate, n, one)
        out["load"]["double_cpu_share"] = round((time.process_time() - cpu0)
                                                / max(1e-9, time.monotonic() - since.at), 2)
        # wait (bounded) until every attempt was admitted: a slow app is measured, not cut off
        creates = loadgen.RequestCounter(rig.double, since, "POST", "/channels/create")
        out["all_admitted"] = await wait_until(lambda: creates() >= n, timeout=60, step=0.25)
        if kind == "product":
            # every attempt is a cut-off call: it ends seed.CUT_UNITS s after its answer
            deletes = loadgen.RequestCounter(rig.double, since, "DELETE", "/channels/")
            await wait_until(lambda: deletes() >= 2 * n, timeout=seed.CUT_UNITS + 60, step=0.25)
        else:
            await asyncio.sleep(1.5)
        lat, missing = loadgen.admissions(rig.double, since, callers)
        out["admission"] = summary_ms(lat)
        out["admission"]["missing"] = missing
        out["lag_p99_ms"] = rig.proc.lag_p99_ms(lag_since)
        if kind == "product":
            out["cutoff"] = await cutoff_figures(rig, since)
        return out


async def wait_records(call_model: Any, timeout: float = 30) -> None:
    """Wait until the app has finished the records of every cut-off call (or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await call_model.filter(extension__gte=str(seed.CUT_BASE),
                                       status="active").exists():
            return
        await asyncio.sleep(1.0)


async def cutoff_figures(rig: Rig, since: loadgen.Mark) -> dict:
    """Cut-off delay = DELETE received − (answer + billed boundary); overspend from the ledger."""
    from tortoise.functions import Sum

    from coovox.calls.models import Call
    from coovox.plugins.billing.models import Account, Ledger

    app = await seed.open_product(rig.env)
    try:
        await wait_records(Call)
        answers = loadgen.answer_times(rig.double, since)
        deletes = loadgen.delete_times(rig.double, since)
        calls = await Call.filter(extension__gte=str(seed.CUT_BASE)).values(
            "id", "extension", "reason", "billed_talk_time", "out_channel", "caller_channel",
            "status")
        delays, uncut = [], 0
        outcomes: dict[str, int] = {}
        for c in calls:
            key = f"{c['status']}: {c['reason']}"
            outcomes[key] = outcomes.get(key, 0) + 1
            if c["billed_talk_time"] is None or "fund" not in (c["reason"] or ""):
                uncut += 1
                continue
            t_ans = answers.get(c["out_channel"])
            t_del = min([deletes[x] for x in (c["out_channel"], c["caller_channel"])
                         if x in deletes], default=None)
            if t_ans is None or t_del is None:
                uncut += 1
                continue
            delays.append(t_del - (t_ans + c["billed_talk_time"]))
        spent = {r["extension"]: r["total"] or 0 for r in await Ledger.filter(
            extension__gte=str(seed.CUT_BASE)).group_by("extension").annotate(
            total=Sum("amount")).values("extension", "total")}
        accounts = await Account.filter(extension__gte=str(seed.CUT_BASE)).values(
            "extension", "balance", "credit")
    finally:
        await app.close()
    allowed = seed.CUT_RATE * seed.CUT_UNITS
    overspend = Decimal(0)
    below = 0
    for a in accounts:
        total = spent.get(a["extension"], 0)
        total = Decimal(total) / 10000 if isinstance(total, int) else Decimal(total)
        overspend += max(Decimal(0), total - allowed - a["credit"])
        below += 1 if a["balance"] < -a["credit"] else 0
    fig = summary_ms(delays)
    fig.update({"calls": len(calls), "outcomes": outcomes, "not_cut": uncut, "overspend": str(overspend),
                "accounts_below_credit": below})
    return fig


# The product as shipped, and the same with SQLite's WAL commits not fsync'd (a config-only
# change through database_url, measured side by side as the "after" of BENCHMARKS.md).
VARIANTS = (("baseline", "baseline", ""), ("product", "product", ""),
            ("product+NORMAL", "product", "synchronous=NORMAL"))


def _variant_summary(rounds: list[dict], label: str, base: list[dict]) -> dict:
    adm = [x["admission"] for x in rounds if x["label"] == label]
    cuts = [x["cutoff"] for x in rounds if x["label"] == label and "cutoff" in x]
    r50 = [ratio(p["p50"], b["p50"]) for p, b in zip(adm, base, strict=False)]
    r99 = [ratio(p["p99"], b["p99"]) for p, b in zip(adm, base, strict=False)]
    out = {"rounds": len(adm), "p50": median_of(adm, "p50"), "p99": median_of(adm, "p99"),
           "ratio_p50": median_of([{"v": v} for v in r50], "v"),
           "ratio_p99": median_of([{"v": v} for v in r99], "v")}
    if cuts:
        out.update({
            "cutoff_p50": median_of(cuts, "p50"), "cutoff_p99": median_of(cuts, "p99"),
            "cutoff_max": max((c["max"] for c in cuts if not math.isnan(c["max"])),
                              default=math.nan),
            "cutoffs": sum(c["count"] for c in cuts),
            "not_cut": sum(c["not_cut"] for c in cuts),
            "overspend": str(sum(Decimal(c["overspend"]) for c in cuts)),
            "below_credit": sum(c["accounts_below_credit"] for c in cuts)})
    return out


async def bench_admission(res: Results, sz: Sizes) -> None:
    rounds = []
    t0 = time.monotonic()
    for r in range(sz.rounds):
        if r >= 2 and time.monotonic() - t0 > sz.admission_budget_s:
            log(f"admission: time budget spent after {r} rounds")
            break
        for label, kind, params in VARIANTS:
            log(f"admission round {r + 1}/{sz.rounds}: {label}")
            fig = await admission_round(kind, sz, db_params=params)
            fig["label"] = label
            rounds.append(fig)
            log(f"  -> {fig.get('admission')}")
    base = [x["admission"] for x in rounds if x["label"] == "baseline"]
    summary = {"baseline": {"p50": median_of(base, "p50"), "p99": median_of(base, "p99")}}
    for label, _kind, _params in VARIANTS[1:]:
        summary[label] = _variant_summary(rounds, label, base)
    res.save("admission", {"sizes": sz.__dict__, "rounds": rounds, "summary": summary})
    b = summary["baseline"]
    for label, _kind, params in VARIANTS[1:]:
        s = summary[label]
        what = "as shipped" if not params else f"database_url ?{params}"
        res.add(Target("1", f"admission p99, billed call ({what}, {s['rounds']} rounds)",
                       f"p50 {s['p50']} ms, p99 {s['p99']} ms", "p99 < 10 ms", s["p99"] < 10))
        res.add(Target("1", f"admission ratio to baseline ({what})",
                       f"p50 ratio {s['ratio_p50']}, p99 ratio {s['ratio_p99']} (baseline p50 "
                       f"{b['p50']} / p99 {b['p99']} ms)",
                       "<= 1.3 (p50 and p99)", s["ratio_p50"] <= 1.3 and s["ratio_p99"] <= 1.3))
        n = s.get("cutoffs", 0)
        res.add(Target("2", f"cut-off delay over {n} cut-offs ({what})",
                       f"p50 {s.get('cutoff_p50')}, p99 {s.get('cutoff_p99')}, "
                       f"max {s.get('cutoff_max')} ms" + (f"; {s['not_cut']} calls not cut"
                                                         if s.get("not_cut") else ""),
                       "p99 <= 50 ms", s["cutoff_p99"] <= 50 if n else None))
        res.add(Target("2", f"overspend from the ledger ({what})",
                       f"{s.get('overspend')}; accounts below -credit: {s.get('below_credit')}",
                       "0", Decimal(s["overspend"]) == 0 and not s["below_credit"] if n else None))


# --- point 4 -------------------------------------------------------------------------------------


DB_VARIANTS = (("as shipped", ""), ("database_url ?synchronous=NORMAL", "synchronous=NORMAL"))


async def bench_cps(res: Results, sz: Sizes) -> None:
    data = {"sizes": sz.__dict__}
    for what, params in DB_VARIANTS:
        data[what] = await _cps(res, sz, what, params)
    res.save("cps", data)


async def _cps(res: Results, sz: Sizes, what: str, params: str) -> dict:
    """Highest attempt rate where admission p99 stays < 50 ms (calls answer, last 1 s)."""
    from coovox.sim import FarEnd

    steps = []
    async with Rig("product", db_params=params) as rig:
        rig.double.far_end("7000000", FarEnd(answer_after=0, hangup_after=1.0))
        for rate in sz.cps_steps:
            n = int(rate * sz.cps_step_s)
            since = loadgen.mark(rig.double)

            async def one(i: int) -> None:
                await rig.double.place_call(seed.LOAD_EXT[i % 400], "97000000")

            load = await loadgen.paced(rate, n, one)
            await asyncio.sleep(2.0)
            lat, missing = loadgen.admissions(rig.double, since)
            fig = summary_ms(lat)
            fig.update({"rate": rate, "missing": missing, **load,
                        "lag_p99_ms": rig.proc.lag_p99_ms(since.at)})
            steps.append(fig)
            log(f"cps {what} {rate}: {fig}")
            await wait_until(lambda: channel_count(rig.double) == 0, timeout=10)
            if not (fig["p99"] < 50) or missing or not rig.proc.alive():
                break
    ok = [s["rate"] for s in steps if s["p99"] < 50 and not s["missing"]
          and s["rate_achieved"] >= 0.9 * s["rate"]]
    best = max(ok, default=0)
    res.add(Target("4", f"sustained call attempts/s with admission p99 < 50 ms ({what})",
                   f"{best} /s (steps tried: {', '.join(str(s['rate']) for s in steps)})",
                   ">= 200 /s", best >= 200,
                   "highest step tried" if best == sz.cps_steps[-1] else ""))
    return {"steps": steps, "best_rate": best}


# --- point 3 -------------------------------------------------------------------------------------


async def bench_concurrency(res: Results, sz: Sizes) -> None:
    data = {"sizes": sz.__dict__}
    for what, params in DB_VARIANTS:
        data[what] = await _concurrency(res, sz, what, params)
    res.save("concurrency", data)


async def _concurrency(res: Results, sz: Sizes, what: str, params: str) -> dict:
    """Metered calls held (unit 6 s) vs event-loop lag p99, CPU/call-hour, RSS/call."""
    steps = []
    async with Rig("product", db_params=params) as rig:
        await asyncio.sleep(1)
        rss0 = rig.proc.rss_mb()
        since_all = loadgen.mark(rig.double)
        held = 0
        for target in sz.conc_steps:
            up = await place_background(rig, target - held, sz.ramp_rate, start=held)
            held = target
            await asyncio.sleep(1)
            t0, cpu0 = time.monotonic(), rig.proc.cpu_seconds()
            await asyncio.sleep(sz.conc_hold_s)
            t1, cpu1 = time.monotonic(), rig.proc.cpu_seconds()
            calls = bridged_count(rig.double)
            rss = rig.proc.rss_mb()
            behind = await charges_behind(rig, since_all)
            fig = {"calls_target": target, "calls_bridged": calls, "all_up": up["all_up"],
                   "lag_p99_ms": rig.proc.lag_p99_ms(t0, t1),
                   "cpu_s": round(cpu1 - cpu0, 2), "hold_s": round(t1 - t0, 2),
                   "cpu_s_per_call_hour": round((cpu1 - cpu0) / (max(calls, 1) * (t1 - t0)
                                                                  / 3600), 2),
                   "rss_mb": round(rss, 1), **behind,
                   "rss_kb_per_call": round((rss - rss0) * 1024 / max(calls, 1), 1)}
            steps.append(fig)
            log(f"concurrency {what} {target}: {fig}")
            if not held_ok(fig) or not rig.proc.alive():
                break
    ok = [s for s in steps if held_ok(s)]
    best = max((s["calls_bridged"] for s in ok), default=0)
    last = ok[-1] if ok else (steps[-1] if steps else {})
    res.add(Target("3", f"metered calls held: loop lag p99 < 20 ms, charges on time ({what})",
                   f"{best} calls; {last.get('cpu_s_per_call_hour')} CPU s per call-hour; "
                   f"{last.get('rss_kb_per_call')} KB RSS per call",
                   ">= 2,000", best >= 2000,
                   "highest step tried" if ok and ok[-1]["calls_target"] == sz.conc_steps[-1]
                   else ""))
    return {"rss0_mb": rss0, "steps": steps, "best_calls": best}


def held_ok(step: dict) -> bool:
    """Calls are held when the loop lag p99 < 20 ms, all got up and no charge is > 1 s late."""
    return step["lag_p99_ms"] < 20 and step["all_up"] and step["charges_late"] == 0


async def charges_behind(rig: Rig, since: loadgen.Mark, grace: float = 1.0) -> dict:
    """Charges that fell due (answer + k * 6 s, more than ``grace`` s ago) but are not in
    the ledger yet: the metering is late even if the event loop is responsive."""
    from tortoise.functions import Count

    from coovox.calls.models import Call
    from coovox.plugins.billing.models import Ledger

    answers = loadgen.answer_times(rig.double, since)
    now = asyncio.get_running_loop().time()
    app = await seed.open_product(rig.env)
    try:
        calls = await Call.filter(status="active").values("id", "out_channel")
        counts = {r["call_id"]: r["n"] for r in await Ledger.filter(kind="charge").group_by(
            "call_id").annotate(n=Count("id")).values("call_id", "n")}
    finally:
        await app.close()
    due = late = 0
    for c in calls:
        t_up = answers.get(c["out_channel"])
        if t_up is None:
            continue
        expected = int(max(0.0, now - grace - t_up) // 6) + 1
        due += expected
        late += max(0, expected - counts.get(c["id"], 0))
    return {"charges_due": due, "charges_late": late}


async def profile_admission(res: Results, sz: Sizes, out_path: str) -> None:
    """One product round under pyinstrument (not measured: the profiler slows it)."""
    if not sz.profile_attempts:
        return
    from bench.sqlite_commit import commit_cost

    log("profiling one product admission round (pyinstrument)")
    fig = await admission_round("product", sz, profile=out_path)
    sql_counts = {}
    try:
        sql_counts = json.loads(Path(out_path + ".sql.json").read_text())
    except (OSError, ValueError):
        pass
    calls = sz.profile_attempts + sz.profile_background
    res.save("profile_admission", {
        "note": "under pyinstrument, latency figures not comparable", "round": fig,
        "profile": out_path, "calls": calls, "sql_statements": sql_counts,
        "sql_statements_per_call": round(sum(sql_counts.values()) / max(calls, 1), 1),
        "sqlite_commit_ms": commit_cost()})

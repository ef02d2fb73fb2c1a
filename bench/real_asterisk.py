"""Issue 12, point 4: billed calls through a real Asterisk, CPU of CooVox next to Asterisk's.

Each round starts the real stack of ``tests/real/kit`` (Asterisk 22 with the project's
``ari-dialplan``, ``coovox run``, a SIPp carrier that answers at once and hangs up after
``talk_s``, one SIPp phone authenticating as the PJSIP endpoint ``100``), switches billing
on (the fresh install's trial licence) with a rate of 0.01 per 1-s unit for the prefix
``9`` and a prepaid account holding enough for every call, then places ``calls`` calls at
``rate`` calls/s (SIPp ``-r``).  Measured over the same window (from just before the first
INVITE until Asterisk has no channel left and one more second): CPU seconds (user + sys,
``/proc/<pid>/stat``) of the CooVox process and of the Asterisk process, per call and as a
ratio; SIPp's CPU apart (the carrier from ``/proc``, the phone from this process's
``RUSAGE_CHILDREN``: it is the only child reaped inside the window).  Then: every call's
record (status not ``answered``, or missing, is a failure for CooVox's reasons; SIPp's
failed-call counters are listed too), and the money: ``coovox check`` on the stack's data,
Σ costs of the records = balance spent, every cost = the rate for its billed talk time,
ledger per call = its cost, at most one settlement per call, one record per call.

Then (``profile_calls``) one more round, not counted in the figures, runs the CooVox
process under cProfile (event-loop thread, CPU clock, switched on and off by signals for
the load window only, see :data:`SITECUSTOMIZE`): CPU per call of the call's phases, REST,
events and database trips (``bench/results/profile_real_asterisk.txt``).

Every process is a child that dies with this one (``tests.real.kit.procs``) and
:class:`RealStack` stops them all, on failure too; each round is bounded in time
(``calls / rate`` + 90 s for the calls, 30 s for Asterisk to go idle).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import resource
import secrets
import shutil
import signal
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.results import RESULTS, Results, Target, log

TICK = os.sysconf("SC_CLK_TCK")
EXT = "100"
RATE = {"prefix": "9", "initial_cost": "0", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all", "remark": "bench real asterisk"}
GOAL_RATIO = 0.5


@dataclass
class Sizes:
    rounds: int = 3
    calls: int = 1000
    rate: float = 30          # calls per second (SIPp -r)
    talk_s: float = 1.0       # the carrier hangs up after this
    limit: int = 300          # at most this many calls at once (SIPp -l)
    idle_s: float = 5.0       # idle CPU measured before the load
    profile_calls: int = 600  # the extra profiled round, not counted (0: none)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rounds=1, calls=50, idle_s=2.0, profile_calls=0)


def _user_sys(stat: Path) -> tuple[float, float] | None:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def cpu_seconds(pid: int) -> float | None:
    """user + sys CPU seconds of a live process (all its threads); None once it is gone."""
    us = _user_sys(Path(f"/proc/{pid}/stat"))
    return None if us is None else us[0] + us[1]


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of a process split into user / sys and into its main thread (the
    event loop, for CooVox) / the other threads (SQLite's, for CooVox)."""
    out = {"user": 0.0, "sys": 0.0, "main_thread": 0.0, "other_threads": 0.0}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        us = _user_sys(task / "stat")
        if us is None:
            continue
        out["user"] += us[0]
        out["sys"] += us[1]
        out["main_thread" if task.name == str(pid) else "other_threads"] += us[0] + us[1]
    return out


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def sipp_counters(result: Any) -> dict[str, Any]:
    """SIPp's end-of-run counters (works without message traces)."""
    names = ("Total Calls created", "Successful call", "Failed call", "Failed Max UDP Retrans",
             "Failed unexpected msg", "Failed Call Rejected", "Failed Cmd Not Sent",
             "Failed Regexp Doesn't Match", "Failed Regexp Hdr Not Found",
             "Failed Outbound Congestion", "Failed Timeout on recv", "Failed Timeout on send",
             "Out-Of-Call Msg (discarded)", "Retransmissions")
    counts = {n: result.stat(n) for n in names}
    return {"exit": result.returncode, **{k: v for k, v in counts.items() if v is not None},
            "messages": [list(m) for m in screen_rows(result.screen)]}


def screen_rows(screen: str) -> list[tuple[str, str, int]]:
    """Rows of SIPp's last scenario screen as (message, "sent" / "received", count).  A UAC
    shows ``INVITE ---------->`` (message first), a UAS ``----------> INVITE`` (arrow first,
    pointing in for what it receives)."""
    text = screen.rsplit("Statistics Screen", 1)[0].rsplit("Scenario Screen", 1)[-1]
    rows = []
    for m in re.finditer(r"^\s+(?:(\S+) (<-+|-+>)|(<-+|-+>) (\S+))\s+(\d+)", text, re.M):
        if m.group(1):  # UAC: "-->" = sent
            rows.append((m.group(1), "sent" if ">" in m.group(2) else "received",
                         int(m.group(5))))
        else:           # UAS: "-->" = received
            rows.append((m.group(4), "received" if ">" in m.group(3) else "sent",
                         int(m.group(5))))
    return rows


def first_row(rows: list[tuple[str, str, int]], message: str, direction: str) -> int:
    return next((n for msg, way, n in rows if msg == message and way == direction), 0)


def expected_cost(billed: float | None) -> Decimal:
    if not billed:
        return Decimal("0")
    return (Decimal(RATE["initial_cost"])
            + Decimal(RATE["rate"]) * math.ceil(billed / RATE["unit"] - 1e-9))


def ledger_figures(db: Path, call_ids: set[str]) -> dict[str, Any]:
    """Per call of this run, from the billing tables (read-only): live charges, settlement
    rows, ledger sum vs cost; and how many billing rows each record has."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        ledger = {cid: (n, settles, total) for cid, n, settles, total in con.execute(
            "SELECT call_id, COUNT(*), SUM(seq = -1), SUM(amount) FROM billing_ledger "
            "GROUP BY call_id")}
        bills = {cid: (cost, settled) for cid, cost, settled in con.execute(
            "SELECT call_id, cost, settled FROM billing_call")}
    finally:
        con.close()
    ours = {c: v for c, v in ledger.items() if c in call_ids}
    problems = []
    for cid in sorted(call_ids):
        cost, settled = bills.get(cid, (None, None))
        if cost is None or not settled:
            problems.append(f"call {cid}: billing row {'missing' if cost is None else 'unsettled'}")
            continue
        n, settles, total = ours.get(cid, (0, 0, 0))
        if settles > 1:
            problems.append(f"call {cid}: {settles} settlements")
        if int(total or 0) != int(cost):
            problems.append(f"call {cid}: ledger {total} != cost {cost}")
    return {"ledger_rows": sum(v[0] for v in ours.values()),
            "live_charges": sum(v[0] - v[1] for v in ours.values()),
            "settlement_rows": sum(v[1] for v in ours.values()),
            "billing_rows_elsewhere": len(set(ledger) - call_ids),
            "problems": problems}


async def wait_asterisk_idle(stack: Any, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if not await stack.ari.channels():
            return True
        await asyncio.sleep(0.5)
    return False


async def one_round(sz: Sizes, calls: int, *, profile_to: Path | None = None,
                    coovox_env: dict[str, str] | None = None) -> dict[str, Any]:
    """A fresh stack, ``calls`` billed calls at ``sz.rate``/s; figures of the round.
    ``coovox_env``: more environment for the CooVox process (not with ``profile_to``)."""
    from tests.real.kit import RealStack, asterisk_prefix

    prefix = asterisk_prefix()
    # 4 RTP ports per call at once (2 legs x RTP/RTCP); the product's own waits
    hook_dir = Path(tempfile.mkdtemp(prefix="bench-real-hook-")) if profile_to else None
    env = profile_env(hook_dir, profile_to) if profile_to else coovox_env
    stack = RealStack(prefix, rtp_ports=max(400, 8 * sz.limit), observe=False,
                      dial_timeout=None, refuse_tone_seconds=None, coovox_env=env)
    try:
        return await _round_on(stack, sz, calls, profile_to)
    finally:
        if hook_dir is not None:
            shutil.rmtree(hook_dir, ignore_errors=True)


async def _round_on(stack: Any, sz: Sizes, calls: int, profile_to: Path | None
                    ) -> dict[str, Any]:
    from tests.real.kit import sipp

    out: dict[str, Any] = {"calls_asked": calls, "rate": sz.rate, "talk_s": sz.talk_s}
    async with stack:
        api = stack.api
        await api.setup_outbound({EXT: "Bench"})
        # enough for every call at 0.01/s (+ margin), so that no call is cut for money
        amount = str(max(100, int(calls * (sz.talk_s + 2) * 0.01 * 2)))
        await api.enable_billing(rates=[RATE], accounts={EXT: amount})
        before = Decimal((await api.account(EXT))["balance"])
        number = "9" + "".join(secrets.choice("0123456789") for _ in range(7))
        await stack.carrier.start(sipp.answer(hangup_after=sz.talk_s), calls=None,
                                  trace=False)
        pids = {"coovox": stack.app.proc.pid, "asterisk": stack.asterisk.proc.pid,
                "carrier": stack.carrier.run.proc.pid}
        await asyncio.sleep(1.0)
        # idle CPU of each process (what the window would cost without calls)
        i0 = {k: cpu_seconds(p) for k, p in pids.items()}
        t0 = time.monotonic()
        await asyncio.sleep(sz.idle_s)
        i1 = {k: cpu_seconds(p) for k, p in pids.items()}
        idle_s = time.monotonic() - t0
        out["idle_cpu_per_s"] = {k: round((i1[k] - i0[k]) / idle_s, 4) for k in pids}

        budget = calls / sz.rate + sz.talk_s + 90
        c0 = {k: cpu_seconds(p) for k, p in pids.items()}
        th0 = {k: thread_cpu(pids[k]) for k in ("coovox", "asterisk")}
        ch0 = children_cpu()
        t0 = time.monotonic()
        phone = await stack.phone(EXT).call(number, calls=calls, rate=sz.rate, limit=sz.limit,
                                            timeout=budget, trace=False)
        if profile_to is not None:
            os.kill(pids["coovox"], signal.SIGUSR1)
        presult = await phone.wait(budget + 10)
        t_phone = time.monotonic() - t0
        idle = await wait_asterisk_idle(stack, 30)
        await asyncio.sleep(1.0)  # CooVox settles the last calls after Asterisk's events
        c1 = {k: cpu_seconds(p) for k, p in pids.items()}
        th1 = {k: thread_cpu(pids[k]) for k in ("coovox", "asterisk")}
        ch1 = children_cpu()
        window = time.monotonic() - t0
        if profile_to is not None:
            os.kill(pids["coovox"], signal.SIGUSR2)
            for _ in range(100):
                if profile_to.exists() and profile_to.stat().st_size:
                    break
                await asyncio.sleep(0.1)
        out["window_s"] = round(window, 2)
        out["phone_done_s"] = round(t_phone, 2)
        # calls were started over (time until the phone's last call ended - one call's length)
        out["rate_achieved_approx"] = round(calls / max(0.1, t_phone - sz.talk_s), 1)
        out["asterisk_idle_after"] = idle
        cpu = {k: round(c1[k] - c0[k], 3) for k in pids if c0[k] is not None and c1[k]}
        cpu["phone"] = round(ch1 - ch0, 3)
        out["cpu_s"] = cpu
        # threads that ended inside the window are missing here (none expected)
        out["cpu_split_s"] = {k: {part: round(th1[k][part] - th0[k][part], 3)
                                  for part in th0[k]} for k in th0}
        out["phone"] = sipp_counters(presult)
        cresult = await stack.carrier.stop()
        out["carrier"] = sipp_counters(cresult)
        placed = out["phone"].get("Total Calls created") or 0
        out["placed"] = placed

        # --- records and money (after the window: the API's own CPU is not counted) ---
        rows = [r for r in await api.calls() if r.get("dialed") == number]
        for _ in range(20):  # normally all are finished already
            if all(r["status"] != "active" for r in rows):
                break
            await asyncio.sleep(0.5)
            rows = [r for r in await api.calls() if r.get("dialed") == number]
        out["records"] = len(rows)
        out["record_ids_distinct"] = len({r["id"] for r in rows})
        out["statuses"] = {f"{s} / {why}": n for (s, why), n in Counter(
            (r["status"], r.get("reason")) for r in rows).most_common()}
        not_answered = [r for r in rows if r["status"] != "answered"]
        missing = max(0, placed - len(rows))
        reasons = Counter(f"{r['status']}: {r.get('reason')} (cause {r.get('cause')})"
                          for r in not_answered)
        if missing:
            reasons["no call record"] = missing
        carrier_answered = first_row(screen_rows(cresult.screen), "200", "sent")
        phone_answered = first_row(out["phone"]["messages"], "200", "received")
        out["carrier_answered"] = carrier_answered
        out["phone_answered"] = phone_answered
        out["sipp_phone_failed"] = out["phone"].get("Failed call", 0)
        out["sipp_carrier_failed"] = out["carrier"].get("Failed call", 0)
        lost_answers = max(0, carrier_answered - phone_answered)
        if out["sipp_phone_failed"]:
            reasons["SIPp phone: failed call"] = out["sipp_phone_failed"]
            out["phone"]["errors_tail"] = presult.errors[-3000:]
        if lost_answers:
            reasons["carrier answered, the phone got no 200"] = lost_answers
        # the sources usually see the same failed call: the largest count, every reason
        out["failed"] = max(len(not_answered) + missing, out["sipp_phone_failed"],
                            lost_answers)
        out["failed_reasons"] = dict(reasons)

        after = Decimal((await api.account(EXT))["balance"])
        costs = [Decimal(r.get("cost") or "0") for r in rows]
        wrong = [r["id"] for r in rows
                 if Decimal(r.get("cost") or "0") != expected_cost(r.get("billed_talk_time"))]
        talk = [r["talk_time"] for r in rows if r.get("talk_time") is not None]
        money: dict[str, Any] = {
            "balance_before": str(before), "balance_after": str(after),
            "spent": str(before - after), "sum_costs": str(sum(costs)),
            "spent_equals_costs": before - after == sum(costs),
            "costs_not_the_rate": len(wrong), "costs_not_the_rate_ids": wrong[:10],
            "talk_time_p50": round(statistics.median(talk), 3) if talk else None}
        ids = {str(r["id"]) for r in rows}
        db = stack.app.dir / "data" / "coovox.sqlite3"
        if db.exists():
            money["ledger"] = ledger_figures(db, ids)
        try:
            money["coovox_check"] = (await stack.app.command("check")).strip() or "ok"
            money["coovox_check_ok"] = True
        except RuntimeError as exc:
            money["coovox_check"] = str(exc)[-2000:]
            money["coovox_check_ok"] = False
        ledger = money.get("ledger", {})
        ledger_ok = not ledger.get("problems") and not ledger.get("billing_rows_elsewhere")
        money["ok"] = (money["spent_equals_costs"] and not wrong and money["coovox_check_ok"]
                       and ledger_ok and out["record_ids_distinct"] == len(rows))
        out["money"] = money
    per = max(placed, 1)
    out["cpu_ms_per_call"] = {k: round(v * 1000 / per, 3) for k, v in cpu.items()}
    out["idle_corrected_cpu_ms_per_call"] = {
        k: round((cpu[k] - out["idle_cpu_per_s"][k] * window) * 1000 / per, 3)
        for k in ("coovox", "asterisk") if k in cpu}
    if cpu.get("asterisk"):
        out["ratio"] = round(cpu["coovox"] / cpu["asterisk"], 3)
    return out


# --- profile ---------------------------------------------------------------------------------

# ``sitecustomize`` for the profiled CooVox process (on its PYTHONPATH): SIGUSR1 starts
# cProfile on the main thread (the event loop) with the thread's CPU clock, SIGUSR2 stops
# it and writes the stats.  Nothing changes in the product or in how the kit starts it.
# The database thread is not profiled (that needed a private hook into aiosqlite); its CPU
# per call is measured from /proc like the process's.
SITECUSTOMIZE = """\
import os as _os
_out = _os.environ.get("BENCH_CPROFILE_OUT")
if _out:
    import cProfile as _cp, signal as _sig, time as _time
    _wall = _os.environ.get("BENCH_CPROFILE_TIMER") == "wall"
    def _new():
        return _cp.Profile() if _wall else _cp.Profile(_time.thread_time)
    _prof = _new()
    _on = [False]
    def _start(*_):
        _on[0] = True
        _prof.enable()
    def _stop(*_):
        _on[0] = False
        _prof.disable()
        _prof.dump_stats(_out)
    _sig.signal(_sig.SIGUSR1, _start)
    _sig.signal(_sig.SIGUSR2, _stop)
"""

# (label, file suffix, function): CPU of the event-loop thread spent inside these, per call
# (cumulative: a coroutine's own steps and what it awaits inline; rows overlap)
KEY_FUNCTIONS = (
    ("events: websocket read, parse, route (whole receive loop)", "ari/connection.py",
     "_receive"),
    ("events: json parse", "ari/connection.py", "parse_event"),
    ("events: per-call dispatch (CallController.on_event)", "calls/stasis.py", "on_event"),
    ("events: router workers", "ari/router.py", "_work"),
    ("call task: whole life of the call (CallFlow.run)", "calls/flow.py", "run"),
    ("setup: outbound config, routing", "calls/services.py", "route_with"),
    ("setup: gate (billing balance read)", "calls/stasis.py", "ask_gates"),
    ("setup: call record INSERT", "calls/services.py", "create_call"),
    ("setup: dial (create, ring, wait, dial, wait answer)", "calls/flow.py", "_dial"),
    ("answer: ring-stop, answer, bridge, record, hooks", "calls/flow.py", "_answer"),
    ("answer: record UPDATE", "calls/services.py", "update_call"),
    ("answer: billing hook (open call, first charges, timers)", "calls/stasis.py",
     "announce_answered"),
    ("charges: live charges after answer (metering timers)", "billing/metering.py",
     "run"),
    ("charges: one charge", "billing/metering.py", "_charge"),
    ("end: hang up, destroy bridge, finish record, settle", "calls/flow.py", "_end"),
    ("end: record finish", "calls/services.py", "finish_call"),
    ("end: billing settlement (coovox_call_ended)", "calls/stasis.py", "announce_ended"),
    ("REST: every ARI request (AriRest.request)", "ari/rest.py", "request"),
    ("DB: every unit of work on the store (Store.run)", "storage/work.py", "run"),
    ("DB: Tortoise queries (execute_query)", "backends/sqlite/client.py", "execute_query"),
    ("logging", "logging/__init__.py", "_log"),
    ("web server (aiohttp request handler)", "aiohttp/web_protocol.py", "_handle_request"),
)


# the database threads: one trip = a unit of work of the store or one aiosqlite call (Tortoise)
def _label(key: tuple[str, int, str]) -> str:
    file, line, name = key
    short = "/".join(Path(file).parts[-2:]) if file != "~" else "~"
    return f"{name} ({short}:{line})"


def _matching(entries: dict, suffix: str, func: str) -> tuple[float, float]:
    ct = nc = 0.0
    for (file, _line, name), (_cc, ncalls, _tt, cum, _callers) in entries.items():
        if file.endswith(suffix) and (name == func or (func.endswith("_")
                                                       and name.startswith(func))):
            ct += cum
            nc += ncalls
    return ct, nc


def _thread_section(title: str, path: Path, per: int, keys: tuple, top: int,
                    lines: list[str]) -> dict[str, Any]:
    import pstats

    entries = pstats.Stats(str(path)).stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    total = sum(v[2] for v in entries.values())
    lines += [f"== {title}: profiled CPU {total:.2f} s = {1000 * total / per:.2f} ms per call",
              "", "Where it goes (cumulative CPU, rows overlap; n/call = calls, or steps of a "
              "coroutine, per call):", f"  {'ms/call':>8} {'share':>6} {'n/call':>7}  what"]
    keyrows = []
    for what, suffix, func in keys:
        ct, nc = _matching(entries, suffix, func)
        row = {"what": what.strip(), "ms_per_call": round(1000 * ct / per, 3),
               "share": round(100 * ct / total, 1) if total else None,
               "n_per_call": round(nc / per, 2)}
        keyrows.append(row)
        lines.append(f"  {row['ms_per_call']:8.3f} {row['share'] or 0:5.1f}% "
                     f"{row['n_per_call']:7.2f}  {what}")
    by_tt = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    by_ct = sorted(entries.items(), key=lambda kv: kv[1][3], reverse=True)[:top]
    lines += ["", f"Top {top} by own CPU (ms per call, share, n per call):"]
    lines += [f"  {1000 * v[2] / per:8.3f} {100 * v[2] / total:5.1f}% {v[1] / per:7.2f}  "
              f"{_label(k)}" for k, v in by_tt]
    lines += ["", f"Top {top} by cumulative CPU:"]
    lines += [f"  {1000 * v[3] / per:8.3f} {100 * v[3] / total:5.1f}% {v[1] / per:7.2f}  "
              f"{_label(k)}" for k, v in by_ct]
    lines.append("")
    return {"profiled_cpu_s": round(total, 3), "key_functions": keyrows,
            "top_own": [[_label(k), round(1000 * v[2] / per, 3), round(v[1] / per, 2)]
                        for k, v in by_tt],
            "top_cumulative": [[_label(k), round(1000 * v[3] / per, 3), round(v[1] / per, 2)]
                               for k, v in by_ct]}


def summarize_cprofile(path: Path, calls: int, cpu: dict[str, Any],
                       top: int = 30) -> tuple[str, dict[str, Any]]:
    """Text and figures of the cProfile dump (thread CPU clock) of the event-loop thread."""
    per = max(calls, 1)
    lines = [f"cProfile of CooVox over {calls} billed calls through the real Asterisk, CPU",
             "clock of each thread (time.thread_time); cProfile's own overhead inflates every",
             "figure, most of all in small functions called often: compare shares, and the",
             "unprofiled CPU per call of real_asterisk.json.",
             f"Whole process in the same (profiled) round: {cpu}", ""]
    data = {"loop_thread": _thread_section("event-loop thread", path, per, KEY_FUNCTIONS,
                                           top, lines)}
    return "\n".join(lines) + "\n", data


def profile_env(workdir: Path, out: Path) -> dict[str, str]:
    """Environment of a CooVox process that loads :data:`SITECUSTOMIZE`."""
    hook = workdir / "profile-hook"
    hook.mkdir(parents=True, exist_ok=True)
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.environ.get("PYTHONPATH", "")
    return {"BENCH_CPROFILE_OUT": str(out),
            "PYTHONPATH": str(hook) + (os.pathsep + path if path else "")}


# --- the benchmark ---------------------------------------------------------------------------


def _median(rounds: list[dict], *keys: str) -> float | None:
    vals = []
    for r in rounds:
        v: Any = r
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(v)
    return round(statistics.median(vals), 3) if vals else None


def _per_call(seconds: float | None, calls: int) -> float | None:
    return None if seconds is None else round(1000 * seconds / max(calls, 1), 2)


async def bench_real(res: Results, sz: Sizes) -> None:
    rounds = []
    t_start = time.monotonic()
    for i in range(sz.rounds):
        log(f"real asterisk round {i + 1}/{sz.rounds}: {sz.calls} calls at {sz.rate}/s")
        r = await one_round(sz, sz.calls)
        log(f"real asterisk round {i + 1}: placed {r['placed']}, failed {r['failed']}, "
            f"cpu ms/call {r['cpu_ms_per_call']}, ratio {r.get('ratio')}, "
            f"money ok {r['money']['ok']}")
        rounds.append(r)
    data: dict[str, Any] = {"sizes": sz.__dict__, "rate_rule": RATE, "rounds": rounds}
    med = {k: _median(rounds, "cpu_ms_per_call", k)
           for k in ("coovox", "asterisk", "phone", "carrier")}
    med_idle = {k: _median(rounds, "idle_corrected_cpu_ms_per_call", k)
                for k in ("coovox", "asterisk")}
    ratio = _median(rounds, "ratio")
    split = {k: _median(rounds, "cpu_split_s", "coovox", k)
             for k in ("main_thread", "other_threads", "user", "sys")}
    data["median"] = {"cpu_ms_per_call": med, "idle_corrected_cpu_ms_per_call": med_idle,
                      "ratio": ratio, "window_s": _median(rounds, "window_s"),
                      "rate_achieved_approx": _median(rounds, "rate_achieved_approx"),
                      "coovox_cpu_split_s": split}
    placed = sum(r["placed"] for r in rounds)
    failed = sum(r["failed"] for r in rounds)
    sipp_failed = sum(r["sipp_phone_failed"] + r["sipp_carrier_failed"] for r in rounds)
    reasons: Counter[str] = Counter()
    for r in rounds:
        reasons.update(r["failed_reasons"])
    money_ok = all(r["money"]["ok"] for r in rounds)
    data["seconds"] = round(time.monotonic() - t_start, 1)
    if sz.profile_calls:
        res.out_dir.mkdir(parents=True, exist_ok=True)
        # the binary dump stays out of git (bench/results/tmp/ is ignored)
        dump = RESULTS / "tmp" / "profile_real_asterisk.prof"
        dump.parent.mkdir(parents=True, exist_ok=True)
        dump.unlink(missing_ok=True)
        log(f"real asterisk: profiled round, {sz.profile_calls} calls under cProfile")
        pr = await one_round(sz, sz.profile_calls, profile_to=dump)
        if dump.exists():
            text, summary = summarize_cprofile(dump, pr["placed"], {
                "cpu_s": pr["cpu_s"]["coovox"], **pr["cpu_split_s"]["coovox"]})
            (res.out_dir / "profile_real_asterisk.txt").write_text(text)
            data["profile"] = {"round": pr, "dump": str(dump), **summary}
    res.save("real_asterisk", data)
    n = len(rounds)
    if not n:  # a profile-only run (python -m bench.real_asterisk --rounds 0)
        return
    res.add(Target(
        "12.4", f"real Asterisk: {sz.calls} billed calls at {sz.rate:g}/s, ~{sz.talk_s:g} s "
        f"talk, 1-s units ({n} round{'s' if n > 1 else ''})",
        f"placed {placed}, failed {failed}"
        + (f" ({'; '.join(f'{k}: {v}' for k, v in reasons.items())})" if failed else "")
        + f", SIPp failed {sipp_failed}; money "
        + ("right (coovox check, Σ costs = spent, 1 settlement per call)" if money_ok
           else "**wrong** (see real_asterisk.json)"),
        "0 failed, money right", failed == 0 and sipp_failed == 0 and money_ok))
    res.add(Target(
        "12.4", "real Asterisk: CPU per call, CooVox vs Asterisk (same window; median)",
        f"CooVox {med['coovox']} ms, Asterisk {med['asterisk']} ms, ratio {ratio} (rounds: "
        f"{', '.join(str(r.get('ratio')) for r in rounds)}); CooVox's event loop "
        f"{_per_call(split['main_thread'], sz.calls)} ms + SQLite thread "
        f"{_per_call(split['other_threads'], sz.calls)} ms; idle-corrected "
        f"{med_idle['coovox']} / {med_idle['asterisk']} ms; SIPp phone {med['phone']} ms, "
        f"carrier {med['carrier']} ms; {_median(rounds, 'window_s')} s per round "
        f"(~{_median(rounds, 'rate_achieved_approx')} calls/s)",
        f"ratio <= {GOAL_RATIO}", ratio is not None and ratio <= GOAL_RATIO))


def main() -> int:  # python -m bench.real_asterisk [--quick] [--calls N] [--rounds N] ...
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench.real_asterisk", description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--calls", type=int)
    p.add_argument("--rate", type=float)
    p.add_argument("--rounds", type=int)
    p.add_argument("--profile-calls", type=int)
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    sz = Sizes.quick() if a.quick else Sizes()
    for key in ("calls", "rate", "rounds", "profile_calls"):
        if getattr(a, key) is not None:
            setattr(sz, key, getattr(a, key))
    res = Results(out_dir=a.out or RESULTS / "tmp", mode="quick" if a.quick else "full")
    res.current = "real"
    asyncio.run(bench_real(res, sz))
    print(res.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 14, point 5: do heavy web work and attacks disturb the calls?

One product process (``bench.appmain product``, SQLite as shipped) with 1,000,000 call
records in its database and ``background`` metered calls held (rate unit 6 s).  During
one window, all at once:

- ``calls`` metered cut-off calls placed on the ARI double at ``call_rate`` per second
  (each extension holds exactly 2 units of a 1-s rate, as in the admission benchmark);
- ``signins_per_s`` anonymous sign-in attempts per second (sign-in page, then a wrong
  password for an unknown user name, as a password-guessing client does);
- the .xlsx export of every call record (``/api/v1/calls?format=xlsx``, API token);
- after ``import_after_s``, a CSV import of ``import_lines`` extensions (the page's form);
- ``/healthz`` every ``health_every_s``.

The web loads (sign-ins, export download, import, probes) run in a process of their own
(``bench.interference_loads``), apart from the ARI double that measures the calls.

Measured: cut-off delay (DELETE received - answer - billed boundary, as the admission
benchmark) p99, admission (StasisStart -> POST /channels/create) p99, /healthz latency max,
charges more than 1 s late among the held calls (from the ledger, at the end of the call
window), and what the load achieved (sign-ins per second and their latency, export and
import times, the app's event-loop lag).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench import admission_trace, datagen, loadgen, seed
from bench.admission import cutoff_figures
from bench.capacity import charges_behind
from bench.reports_bench import timed_get
from bench.results import Results, Target, log
from bench.rig import Rig, place_background, wait_until
from bench.stats import percentile, summary_ms

PASSWORD = "Bench-pass-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Sizes:
    calls: int = 1000
    call_rate: float = 10          # cut-off calls per second (1,000 over ~100 s)
    background: int = 200          # metered calls held during the window (unit 6 s)
    signins_per_s: float = 40
    max_inflight_signins: int = 600
    rows: int = 1_000_000          # call records of the .xlsx export
    import_lines: int = 99_000
    import_after_s: float = 10
    export_timeout: float = 900
    health_every_s: float = 0.25
    # the same window with and without the sign-in load: what the exports and the import
    # cost the calls, apart from what password guessing costs them
    variants: tuple = (("with sign-ins", True), ("without sign-ins", False))

    @classmethod
    def with_overrides(cls, base: Sizes, pairs: list[str]) -> Sizes:
        """``base`` with ``KEY=VALUE`` changes (``variants=with|without|both``)."""
        out = cls(**base.__dict__)
        for pair in pairs:
            key, _, value = pair.partition("=")
            if key == "variants":
                chosen = {"with": (True,), "without": (False,), "both": (True, False)}[value]
                out.variants = tuple(v for v in cls().variants if v[1] in chosen)
            elif key in out.__dict__ and key != "variants":
                setattr(out, key, type(getattr(cls(), key))(float(value)))
            else:
                raise SystemExit(f"--sizes: unknown size {key!r}")
        return out

    @classmethod
    def quick(cls) -> Sizes:
        return cls(calls=30, call_rate=15, background=10, signins_per_s=4, rows=3000,
                   import_lines=2000, import_after_s=0.5, export_timeout=120)


class Box:
    """The admin's token (exports) from the preparation."""

    token = ""


async def prepare(env: dict[str, str], sz: Sizes, box: Box) -> None:
    """Admin user and API token, then ``rows`` call records, before the app starts."""
    from coovox.users import create_token, create_user

    app = await seed.open_product(env)
    try:
        await create_user("admin", PASSWORD)
        box.token = (await create_token("admin"))[1]
    finally:
        await app.close()
    log(f"interference: generating {sz.rows:,} call records")
    fig = await asyncio.get_running_loop().run_in_executor(
        None, lambda: datagen.fill_sqlite(f"{env['COOVOX_DATA_DIR']}/coovox.sqlite3", sz.rows,
                                          config=False))
    log(f"interference: generated in {fig['seconds']} s")


async def csrf_of(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as resp:
        match = CSRF_RE.search(await resp.text())
    if match is None:
        raise RuntimeError(f"no CSRF token on {url}")
    return match.group(1)


async def admin_session(base: str) -> aiohttp.ClientSession:
    """A signed-in administrator (before the sign-in load: the throttle is per address)."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900),
                                    cookie_jar=aiohttp.CookieJar(unsafe=True))  # 127.0.0.1
    token = await csrf_of(session, base + "/sign-in")
    async with session.post(base + "/sign-in", allow_redirects=False, data={
            "csrf_token": token, "username": "admin", "password": PASSWORD,
            "next": "/"}) as resp:
        if resp.status != 302:
            await session.close()
            raise RuntimeError(f"admin sign-in failed: HTTP {resp.status}")
    return session


async def signin_load(base: str, sz: Sizes, stop: asyncio.Event, out: dict[str, Any]) -> None:
    """``signins_per_s`` attempts per second on a fixed schedule (a late start does not shift
    the next ones) until ``stop``; at most ``max_inflight_signins`` at once (the rest are
    counted as skipped)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    inflight = 0
    skipped = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(
            unsafe=True), timeout=aiohttp.ClientTimeout(total=300)) as session:

        async def one(i: int) -> None:
            nonlocal inflight
            inflight += 1
            t0 = time.perf_counter()
            try:
                token = await csrf_of(session, base + "/sign-in")
                async with session.post(base + "/sign-in", allow_redirects=False, data={
                        "csrf_token": token, "username": f"guess{i % 5000}",
                        "password": "Wrong-pass-1", "next": "/"}) as resp:
                    await resp.read()
                    key = str(resp.status)
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted, the load goes on
                key = type(exc).__name__
            finally:
                inflight -= 1
            statuses[key] = statuses.get(key, 0) + 1

        tasks = []
        t0 = loop.time()
        i = 0
        while not stop.is_set():
            due = t0 + i / sz.signins_per_s
            delay = due - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            if inflight >= sz.max_inflight_signins:
                skipped += 1
            else:
                tasks.append(loop.create_task(one(i)))
            i += 1
        asked = i
        elapsed = loop.time() - t0
        done, pending = await asyncio.wait(tasks, timeout=60) if tasks else (set(), set())
        for task in pending:
            task.cancel()
    out.update({"asked": asked, "asked_per_s": round(asked / elapsed, 1) if elapsed else 0,
                "completed": len(latencies),
                "completed_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0,
                "skipped_inflight_cap": skipped, "unfinished": len(pending),
                "statuses": statuses, "latency": summary_ms(latencies)})


async def health_probe(base: str, every: float, stop: asyncio.Event,
                       out: dict[str, Any]) -> None:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                async with session.get(base + "/healthz") as resp:
                    await resp.read()
                    key = str(resp.status)
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                pass
    out.update({"latency": summary_ms(latencies), "statuses": statuses})


async def xlsx_export(base: str, token: str, sz: Sizes, out: dict[str, Any]) -> None:
    timeout = aiohttp.ClientTimeout(total=sz.export_timeout + 30)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"},
                                     timeout=timeout) as session:
        try:
            t, status, size, _lines, complete = await timed_get(
                session, base + "/api/v1/calls", {"format": "xlsx"}, deadline=sz.export_timeout)
            out.update({"seconds": round(t, 1), "status": status, "bytes": size,
                        "complete": complete,
                        "rows_per_s": round(sz.rows / t) if complete and t else None})
        except Exception as exc:  # noqa: BLE001 - reported
            out.update({"error": repr(exc)[:200], "complete": False})


def import_file(lines: int) -> bytes:
    rows = ["number,name,enabled,dial_permission"]
    rows += [f"{800000 + i},Imported {i},true,DialPlan1" for i in range(lines)]
    return ("\n".join(rows) + "\n").encode()


async def csv_import(base: str, admin: aiohttp.ClientSession, sz: Sizes, after: float,
                     out: dict[str, Any]) -> None:
    await asyncio.sleep(after)
    data = import_file(sz.import_lines)
    token = await csrf_of(admin, base + "/calls/extensions")
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", data, filename="extensions.csv", content_type="text/csv")
    t0 = time.perf_counter()
    try:
        async with admin.post(base + "/calls/extensions/import", data=form,
                              allow_redirects=False) as resp:
            await resp.read()
            out.update({"status": resp.status, "ok": resp.status == 302})
    except Exception as exc:  # noqa: BLE001 - reported
        out.update({"error": repr(exc)[:200], "ok": False})
    out.update({"seconds": round(time.perf_counter() - t0, 2), "lines": sz.import_lines,
                "bytes": len(data)})


async def start_loads(base: str, token: str, sz: Sizes, signins: bool
                      ) -> asyncio.subprocess.Process:
    """The web loads in their own process (bench/interference_loads.py), once its admin
    is signed in."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.interference_loads", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.stdin is not None and proc.stdout is not None
    sizes = {k: v for k, v in sz.__dict__.items() if k != "variants"}
    proc.stdin.write((json.dumps({"base": base, "token": token, "signins": signins,
                                  "sizes": sizes}) + "\n").encode())
    await proc.stdin.drain()
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"READY":
        proc.kill()
        raise RuntimeError(f"the loads process did not start: {line[:200]!r}")
    return proc


async def stop_loads(proc: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:
    """Stop the sign-ins and probes; wait for the export and the import; their figures."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"stop\n")
    await proc.stdin.drain()
    try:
        while line := await asyncio.wait_for(proc.stdout.readline(), timeout):
            if line.startswith(b"RESULT "):
                return json.loads(line[7:])
        raise RuntimeError("the loads process ended without its results")
    finally:
        if proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()


async def own_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """The lag of this process's loop (the ARI double's): the measuring side's share."""
    while not stop.is_set():
        t0 = time.monotonic()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, time.monotonic() - t0 - 0.01))


async def run_window(rig: Rig, sz: Sizes, token: str, signins: bool) -> dict[str, Any]:
    base = f"http://127.0.0.1:{rig.env['COOVOX_WEB_PORT']}"
    out: dict[str, Any] = {}
    bg_since = loadgen.mark(rig.double)
    out["background"] = await place_background(rig, sz.background, 100)
    loads = await start_loads(base, token, sz, signins)
    await asyncio.sleep(1)
    since = loadgen.mark(rig.double)
    out["window_start"] = since.at  # time.monotonic(): the same clock in the app
    cpu0 = rig.proc.cpu_seconds()
    stop, lags = asyncio.Event(), []
    lag_task = asyncio.create_task(own_lag(stop, lags))
    callers: set[str] = set()

    async def one(i: int) -> None:
        cid = await rig.double.place_call(seed.cut_extension(i), f"98{i:06d}5")
        callers.add(cid if isinstance(cid, str) else getattr(cid, "id", str(cid)))

    try:
        out["load"] = await loadgen.paced(sz.call_rate, sz.calls, one)
        creates = loadgen.RequestCounter(rig.double, since, "POST", "/channels/create")
        out["all_admitted"] = await wait_until(lambda: creates() >= sz.calls, timeout=120,
                                               step=0.25)
        deletes = loadgen.RequestCounter(rig.double, since, "DELETE", "/channels/")
        out["all_cut"] = await wait_until(lambda: deletes() >= 2 * sz.calls,
                                          timeout=seed.CUT_UNITS + 120, step=0.25)
        out["window_s"] = round(time.monotonic() - since.at, 1)
        ended = time.monotonic()
        out["late"] = await charges_behind(rig, bg_since)
    finally:
        stop.set()
        await lag_task
    lat, missing = loadgen.admissions(rig.double, since, callers)
    out["admission"] = summary_ms(lat)
    out["admission"]["missing"] = missing
    app_lags = rig.proc.lag_samples(since.at)
    out["loop_lag_ms"] = {"p99": round(percentile(app_lags, 99) * 1000, 1),
                          "max": round(max(app_lags, default=math.nan) * 1000, 1)}
    out["double_loop_lag_ms"] = {"p99": round(percentile(lags, 99) * 1000, 1),
                                 "max": round(max(lags, default=math.nan) * 1000, 1)}
    out["app_cpu_s_per_s"] = round((rig.proc.cpu_seconds() - cpu0)
                                   / max(1e-9, time.monotonic() - since.at), 2)
    log("interference: calls done; waiting for the export and the import to finish")
    found = await stop_loads(loads, sz.export_timeout + 120)
    out.update({k: found[k] for k in ("signins", "healthz", "export", "import")})
    out["loads_loop_lag_ms"] = found["loop_lag_ms"]
    out["export_running_at_end"] = found["export"].get("done_at", math.inf) > ended
    out["export"].pop("done_at", None)
    out["cutoff"] = await cutoff_figures(rig, since)
    return out


def argon2_cost_ms(repeat: int = 5) -> float:
    """What one verification of a wrong password costs here (the product's hasher)."""
    from coovox.users import _hasher, _verify_now  # the synchronous check HASH_POOL runs

    stored = _hasher.hash("Bench-pass-1")
    t0 = time.perf_counter()
    for _ in range(repeat):
        _verify_now(stored, "Wrong-pass-1")
    return round((time.perf_counter() - t0) / repeat * 1000, 1)


async def bench_interference(res: Results, sz: Sizes) -> None:
    figs: dict[str, Any] = {}
    for label, signins in sz.variants:
        box = Box()
        trace = tempfile.NamedTemporaryFile(prefix="bench-trace-", suffix=".json",
                                            delete=False).name

        async def prep(env: dict[str, str], box: Box = box, trace: str = trace) -> None:
            await prepare(env, sz, box)
            env["BENCH_TRACE_FILE"] = trace  # where an admission's time goes in the app

        log(f"interference: {label}")
        async with Rig("product", n_cut=sz.calls, prepare=prep) as rig:
            fig = await run_window(rig, sz, box.token, signins)
        try:
            fig["inside_app"] = admission_trace.summary(trace, fig.get("window_start"))
        except (OSError, ValueError) as exc:
            fig["inside_app"] = {"error": repr(exc)[:200]}
        finally:
            os.unlink(trace)
        fig["argon2_verify_ms"] = argon2_cost_ms() if signins else None
        figs[label] = fig
        log(f"interference {label}: {fig}")
        res.save("interference", {"sizes": sz.__dict__, "variants": figs})
        targets(res, sz, label, fig)


def targets(res: Results, sz: Sizes, label: str, fig: dict[str, Any]) -> None:
    cut, adm, health = fig["cutoff"], fig["admission"], fig["healthz"]["latency"]
    sign, export, imp = fig["signins"], fig["export"], fig["import"]
    note = ""
    if sign:
        argon2_s = fig["argon2_verify_ms"] / 1000 * (sign.get("completed_per_s") or 0)
        if argon2_s > 0.5:
            note = (f"sign-ins dominate: {sign.get('completed_per_s')} /s x "
                    f"{fig['argon2_verify_ms']} ms of argon2 each = {argon2_s:.1f} CPU s/s "
                    f"on {os.cpu_count()} CPUs")
    n = cut.get("count", 0)
    res.add(Target("14", f"cut-off delay over {n} cut-offs, {label}",
                   f"p50 {cut.get('p50')}, p99 {cut.get('p99')}, max {cut.get('max')} ms"
                   + (f"; {cut['not_cut']} calls not cut" if cut.get("not_cut") else ""),
                   "p99 <= 50 ms", bool(n) and cut["p99"] <= 50, note))
    res.add(Target("14", f"admission of {adm['count']} calls, {label}",
                   f"p50 {adm['p50']}, p99 {adm['p99']}, max {adm['max']} ms"
                   + (f"; {adm['missing']} never admitted" if adm.get("missing") else ""),
                   "p99 <= 10 ms", bool(adm["count"]) and adm["p99"] <= 10
                   and not adm.get("missing")))
    res.add(Target("17", f"cut-off delay, {label} (issue 17's tighter target)",
                   f"p99 {cut.get('p99')} ms", "p99 <= 20 ms",
                   bool(n) and cut["p99"] <= 20))
    res.add(Target("17", f"admission, {label} (issue 17)", f"p99 {adm['p99']} ms",
                   "p99 <= 10 ms", bool(adm["count"]) and adm["p99"] <= 10
                   and not adm.get("missing")))
    inside = fig.get("inside_app") or {}
    if "recv->create" in inside:
        stage = inside
        res.add(Target("14", f"admission inside the app, {label}",
                       f"websocket read -> create sent p50 {stage['recv->create']['p50']} / "
                       f"p99 {stage['recv->create']['p99']} ms, of which the outbound "
                       f"configuration p99 {stage['flow->gate0']['p99']} ms and the gates "
                       f"p99 {stage['gate']['p99']} ms (their store read: waiting for its "
                       f"thread p99 {stage['gate trip_wait']['p99']}, running p99 "
                       f"{stage['gate trip_run']['p99']} ms); "
                       f"{stage['recv->create']['n']} calls of the window",
                       "(no target)", None))
    res.add(Target("14", f"/healthz latency, {label}",
                   f"max {health['max']} ms, p99 {health['p99']} ms over {health['count']} "
                   f"probes ({fig['healthz'].get('statuses')})", "max < 100 ms",
                   bool(health["count"]) and health["max"] < 100))
    late = fig["late"]
    res.add(Target("14", f"charges more than 1 s late ({sz.background} held calls), {label}",
                   f"{late['charges_late']} of {late['charges_due']} due", "0",
                   late["charges_late"] == 0))
    load = (f"sign-ins {sign.get('completed_per_s')}/s of {sz.signins_per_s} asked (latency "
            f"p50 {sign.get('latency', {}).get('p50')} / p99 "
            f"{sign.get('latency', {}).get('p99')} ms; HTTP {sign.get('statuses')}); "
            if sign else "")
    res.add(Target("14", f"interference load achieved, {label}",
                   load + f".xlsx of {sz.rows:,} rows "
                   + (f"in {export.get('seconds')} s" if export.get("complete")
                      else f"not complete ({export.get('error') or export.get('status')})")
                   + f"; import of {sz.import_lines:,} lines in {imp.get('seconds')} s "
                   f"(HTTP {imp.get('status')}); app loop lag p99 "
                   f"{fig['loop_lag_ms']['p99']} / max {fig['loop_lag_ms']['max']} ms, "
                   f"{fig['app_cpu_s_per_s']} CPU s/s; the double's loop lag p99 "
                   f"{fig['double_loop_lag_ms']['p99']} / max "
                   f"{fig['double_loop_lag_ms']['max']} ms, the loads process's p99 "
                   f"{fig['loads_loop_lag_ms'].get('p99')} ms", "(no target)", None))

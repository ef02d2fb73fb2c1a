"""Issue 13 point 5: which HTTP client for ARI's REST calls, measured side by side.

The clients of ``bench/ariclients.py`` (hand-written, tuned aiohttp, aiohttp's defaults,
aioari), each driving the same call-path sequence (create, dial, bridge, play, add, hang
up, destroy: 7 requests) against the ARI double in a child process (so the CPU of this
process, ``time.process_time``, is the client's alone).

Rounds alternate the clients; figures are medians over rounds.  The same against a real
Asterisk 22 (``tests/real/kit``, Asterisk alone; a Local channel never dialled: create,
bridge, get, addChannel, hang up, destroy).  Then the admission benchmark (issue 7 point
1) with the product and the baseline on the hand-written client and on the tuned aiohttp
one, and billed calls through the real Asterisk (issue 12 point 4) on each, alternating,
fresh processes each round.  ``python -m bench.ariclient [--real]`` runs the request part
alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.ariclients import APP, PASSWORD, USER, AioariCalls, AriRestCalls
from coovox.ari import basic_auth

__all__ = ["Sizes", "bench_ariclient", "bench_requests", "bench_requests_real"]

REQUESTS_PER_CALL = 7


@dataclass
class Figures:
    cpu_us_per_request: dict[str, list[float]] = field(default_factory=dict)
    wall_us_per_request: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, cpu: float, wall: float) -> None:
        self.cpu_us_per_request.setdefault(name, []).append(round(cpu, 1))
        self.wall_us_per_request.setdefault(name, []).append(round(wall, 1))

    def medians(self, per_call: int = REQUESTS_PER_CALL) -> dict[str, dict[str, float]]:
        return {name: {"cpu_us_per_request": round(statistics.median(cpu), 1),
                       "cpu_us_per_call": round(statistics.median(cpu) * per_call, 1),
                       "wall_us_per_request": round(statistics.median(
                           self.wall_us_per_request[name]), 1)}
                for name, cpu in self.cpu_us_per_request.items()}


async def _measure(client: Any, start: int, n: int, warm: int = 30,
                   per_call: int = REQUESTS_PER_CALL) -> tuple[float, float]:
    """(CPU µs, wall µs) of this process per request over ``n`` calls of ``client.call``
    after ``warm`` (requests sent again, ``client.extra``, counted)."""
    for i in range(warm):
        await client.call(start + i)
    extra0 = client.extra
    t0, w0 = time.process_time(), time.perf_counter()
    for i in range(warm, warm + n):
        await client.call(start + i)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    requests = n * per_call + client.extra - extra0
    return cpu / requests * 1e6, wall / requests * 1e6


# --- the double in a child process --------------------------------------------------------


async def _serve(port: int) -> None:
    """The ARI double plus a websocket reader of its events (the app must be registered
    for ``channels/create``), both in this child process."""
    from coovox.sim import AriDouble

    double = AriDouble(app=APP, user=USER, password=PASSWORD)
    double.stasis_entry_delay = 0.0
    await double.start(host="127.0.0.1", port=port)
    auth = {"Authorization": basic_auth(USER, PASSWORD)}
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/ari/events",
                                      params={"app": APP}) as ws:
            print("READY", flush=True)
            async for _ in ws:
                pass


async def _listen(url: str, user: str, password: str) -> None:
    """Registers the app on a real Asterisk and drains its events (child process)."""
    auth = {"Authorization": basic_auth(user, password)}
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.ws_connect(url.replace("http", "ws", 1) + "/ari/events",
                                      params={"app": APP}) as ws:
            print("READY", flush=True)
            async for _ in ws:
                pass


def _child(args: list[str]) -> subprocess.Popen:
    from bench.results import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "bench.ariclient", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "READY":
        proc.kill()
        raise RuntimeError(f"bench.ariclient {args[0]} did not start")
    return proc


REAL_REQUESTS_PER_CALL = 6  # create, bridge, get, addChannel, hang up, destroy


async def bench_requests_real(rounds: int, n: int, clients: tuple[str, ...]) -> dict | None:
    """The same clients against a real Asterisk 22 (``tests/real/kit``, Asterisk alone,
    an events reader in a child process); the channel is a Local one never dialled."""
    try:
        from tests.real.kit import RealStack, asterisk_prefix

        prefix = asterisk_prefix()
    except Exception as exc:  # no kit on this machine: the figure is left out
        _log(f"ariclient: no real Asterisk ({exc!r})")
        return None
    try:
        import aioari  # noqa: F401
    except ImportError:
        clients = tuple(c for c in clients if c != "aioari")
    stack = RealStack(prefix, with_coovox=False, observe=False)
    figures = Figures()
    retries: dict[str, int] = {}
    load = {"before": _load()}
    async with stack:
        cfg = stack.cfg
        listener = _child(["--listen", cfg.ari_url, "--user", cfg.ari_user,
                           "--password", cfg.ari_password])
        try:
            seq = 0
            for r in range(rounds):
                for name in clients:
                    client: Any = (AioariCalls(cfg.ari_url, cfg.ari_user, cfg.ari_password,
                                               real=True) if name == "aioari" else
                                   AriRestCalls(cfg.ari_url, name, cfg.ari_user,
                                                cfg.ari_password, real=True))
                    if name == "aioari":
                        await client.start()
                    try:
                        cpu, wall = await _measure(client, seq, n,
                                                   per_call=REAL_REQUESTS_PER_CALL)
                    finally:
                        await client.close()
                    retries[name] = retries.get(name, 0) + client.extra
                    seq += n + 100
                    figures.add(name, cpu, wall)
                _log(f"ariclient real-Asterisk round {r + 1}: " + ", ".join(
                    f"{c} {figures.cpu_us_per_request[c][-1]} µs" for c in clients))
        finally:
            listener.terminate()
            listener.wait(10)
    load["after"] = _load()
    return {"calls_per_round": n, "requests_per_call": REAL_REQUESTS_PER_CALL,
            "rounds": rounds, "cpu_us_per_request": figures.cpu_us_per_request,
            "wall_us_per_request": figures.wall_us_per_request,
            "median": figures.medians(REAL_REQUESTS_PER_CALL),
            "addchannel_422_retries": retries, "loadavg": load}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def bench_requests(rounds: int, n: int, clients: tuple[str, ...]) -> dict:
    """Per-request CPU and wall time of each client, rounds alternating the clients."""
    from bench.appproc import free_port

    port = free_port()
    proc = _child(["--serve", str(port)])
    url = f"http://127.0.0.1:{port}"
    figures = Figures()
    transports: dict[str, str] = {}
    load = {"before": _load()}
    seq = 0
    try:
        try:
            import aioari  # noqa: F401  (bench extra only)
        except ImportError:
            _log("ariclient: aioari is not installed (pip install '.[bench]'); left out")
            clients = tuple(c for c in clients if c != "aioari")
        for r in range(rounds):
            for name in clients:
                client: Any = AioariCalls(url) if name == "aioari" else AriRestCalls(url, name)
                if name == "aioari":
                    await client.start()
                transports[name] = getattr(client, "transport", "aioari.Client")
                try:
                    cpu, wall = await _measure(client, seq, n)
                finally:
                    await client.close()
                seq += n + 100
                figures.add(name, cpu, wall)
            _log(f"ariclient round {r + 1}: " + ", ".join(
                f"{c} {figures.cpu_us_per_request[c][-1]} µs" for c in clients))
    finally:
        proc.terminate()
        proc.wait(10)
    load["after"] = _load()
    return {"calls_per_round": n, "requests_per_call": REQUESTS_PER_CALL, "rounds": rounds,
            "cpu_us_per_request": figures.cpu_us_per_request,
            "wall_us_per_request": figures.wall_us_per_request,
            "median": figures.medians(), "transports": transports, "loadavg": load}


# --- admission and real Asterisk, client (a) vs (b) ---------------------------------------


@dataclass
class Sizes:
    rounds: int = 3            # request rounds (each client once per round)
    calls: int = 400           # call sequences per client and round (7 requests each)
    admission_rounds: int = 3  # each: baseline and product, on each of the two clients
    real_rounds: int = 2       # each: one real-Asterisk round per client (0: none)
    real_calls: int = 600
    small_admission: bool = False  # the admission rounds at bench.rig.Sizes.quick()

    @classmethod
    def quick(cls) -> Sizes:
        return cls(rounds=1, calls=50, admission_rounds=1, real_rounds=0, small_admission=True)


AB = ("handwritten", "aiohttp")
SITECUSTOMIZE = """\
import os, sys
if os.environ.get("BENCH_ARI_CLIENT"):
    sys.path.insert(0, os.environ["BENCH_ROOT"])
    from bench.ariclients import use_client
    use_client(os.environ["BENCH_ARI_CLIENT"])
"""


async def bench_admission_ab(rounds: int, small: bool = False) -> dict:
    """Admission (issue 7 point 1 at its full size) with each client, alternating."""
    from bench.admission import admission_round
    from bench.rig import Sizes as RigSizes
    from bench.stats import median_of, ratio

    sz = RigSizes.quick() if small else RigSizes()
    runs: list[dict] = []
    for r in range(rounds):
        for client in AB:
            for kind in ("baseline", "product"):
                fig = await admission_round(kind, sz, client=client)
                fig.update(client=client, round=r + 1, loadavg=_load())
                runs.append(fig)
                _log(f"ariclient admission {r + 1} {client} {kind}: {fig['admission']}")
    out: dict[str, Any] = {"rounds": runs}
    base_a = [x["admission"] for x in runs if x["kind"] == "baseline" and x["client"] == AB[0]]
    for client in AB:
        prod = [x["admission"] for x in runs if x["kind"] == "product" and x["client"] == client]
        base = [x["admission"] for x in runs if x["kind"] == "baseline" and x["client"] == client]
        out[client] = {
            "baseline_p50": median_of(base, "p50"), "baseline_p99": median_of(base, "p99"),
            "p50": median_of(prod, "p50"), "p99": median_of(prod, "p99"),
            # ratio to the baseline on the same client, and to the baseline on (a)
            "ratio_p50": median_of([{"v": ratio(p["p50"], b["p50"])}
                                    for p, b in zip(prod, base, strict=False)], "v"),
            "ratio_p99": median_of([{"v": ratio(p["p99"], b["p99"])}
                                    for p, b in zip(prod, base, strict=False)], "v"),
            "ratio_p99_to_handwritten_baseline": median_of(
                [{"v": ratio(p["p99"], b["p99"])} for p, b in zip(prod, base_a, strict=False)],
                "v")}
    return out


async def bench_real_ab(rounds: int, calls: int) -> dict | None:
    """CPU per call through the real Asterisk (issue 12 point 4) with each client."""
    import shutil
    import tempfile
    from pathlib import Path

    from bench import real_asterisk
    from bench.results import ROOT

    try:
        from tests.real.kit import asterisk_prefix

        asterisk_prefix()
    except Exception as exc:  # no kit on this machine: the figure is left out
        _log(f"ariclient: no real Asterisk ({exc!r})")
        return None
    hook = Path(tempfile.mkdtemp(prefix="bench-ariclient-hook-"))
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.environ.get("PYTHONPATH", "")
    sz = real_asterisk.Sizes(calls=calls, profile_calls=0)
    runs: list[dict] = []
    try:
        for r in range(rounds):
            for client in AB:
                env = {"BENCH_ARI_CLIENT": client, "BENCH_ROOT": str(ROOT),
                       "PYTHONPATH": str(hook) + (os.pathsep + path if path else "")}
                fig = await real_asterisk.one_round(sz, calls, coovox_env=env)
                runs.append({"client": client, "round": r + 1, "loadavg": _load(),
                             "placed": fig.get("placed"), "failed": fig.get("failed"),
                             "cpu_ms_per_call": fig.get("cpu_ms_per_call"),
                             "ratio": fig.get("ratio"), "money_ok": fig["money"]["ok"]})
                _log(f"ariclient real {r + 1} {client}: {runs[-1]}")
    finally:
        shutil.rmtree(hook, ignore_errors=True)
    out: dict[str, Any] = {"calls_per_round": calls, "rounds": runs}
    for client in AB:
        mine = [x for x in runs if x["client"] == client]
        out[client] = {
            "coovox_ms_per_call": round(statistics.median(
                x["cpu_ms_per_call"]["coovox"] for x in mine), 3),
            "asterisk_ms_per_call": round(statistics.median(
                x["cpu_ms_per_call"]["asterisk"] for x in mine), 3),
            "ratio": round(statistics.median(x["ratio"] for x in mine), 3)}
    return out


async def bench_ariclient(res: Any, sz: Sizes) -> None:
    """Everything above in one run; ``bench/results/ariclient.json`` and table rows."""
    from bench.results import Target

    data: dict[str, Any] = {"sizes": sz.__dict__, "loadavg_start": _load()}
    data["requests"] = await bench_requests(sz.rounds, sz.calls,
                                            ("handwritten", "aiohttp", "aiohttp-defaults",
                                             "aioari"))
    data["requests_real_asterisk"] = (await bench_requests_real(
        sz.rounds, sz.calls, ("handwritten", "aiohttp", "aiohttp-defaults", "aioari"))
        if sz.real_rounds else None)
    data["admission"] = await bench_admission_ab(sz.admission_rounds, sz.small_admission)
    data["real"] = await bench_real_ab(sz.real_rounds, sz.real_calls) if sz.real_rounds else None
    data["loadavg_end"] = _load()
    res.save("ariclient", data)
    m = data["requests"]["median"]
    res.add(Target("13.5", "ARI REST client CPU per request, call path (same run)",
                   "; ".join(f"{k} {v['cpu_us_per_request']} µs ({v['cpu_us_per_call']} µs "
                             f"per 7-request call, wall {v['wall_us_per_request']} µs)"
                             for k, v in m.items()), "(decides the client)", None))
    real_requests = data["requests_real_asterisk"]
    if real_requests:
        res.add(Target("13.5", "ARI REST client CPU per request, real Asterisk 22 (same run)",
                       "; ".join(f"{k} {v['cpu_us_per_request']} µs (wall "
                                 f"{v['wall_us_per_request']} µs)"
                                 for k, v in real_requests["median"].items()),
                       "(decides the client)", None))
    a, b = data["admission"][AB[0]], data["admission"][AB[1]]
    res.add(Target("13.5", "admission with each REST client (billed, 1,000 metered, 100/s)",
                   f"hand-written p99 {a['p99']} ms, ratio {a['ratio_p99']}; aiohttp p99 "
                   f"{b['p99']} ms, ratio {b['ratio_p99']} (to the baseline on the same "
                   f"client; to the hand-written baseline {b['ratio_p99_to_handwritten_baseline']})",
                   "p99 < 5 ms, ratio <= 1.2",
                   None))
    real = data["real"]
    if real:
        ra, rb = real[AB[0]], real[AB[1]]
        res.add(Target("13.5", "real Asterisk CPU per call with each REST client",
                       f"hand-written: CooVox {ra['coovox_ms_per_call']} ms / Asterisk "
                       f"{ra['asterisk_ms_per_call']} ms = {ra['ratio']}; aiohttp: "
                       f"{rb['coovox_ms_per_call']} / {rb['asterisk_ms_per_call']} ms = "
                       f"{rb['ratio']}", "ratio <= 0.5", None))


def _log(text: str) -> None:
    from bench.results import log

    log(text)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ariclient")
    parser.add_argument("--serve", type=int, help="run the double on this port (child)")
    parser.add_argument("--listen", help="drain the app's events of this ARI url (child)")
    parser.add_argument("--user", default=USER)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--real", action="store_true", help="against the real Asterisk kit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    if args.listen:
        asyncio.run(_listen(args.listen, args.user, args.password))
        return
    import json

    run = bench_requests_real if args.real else bench_requests
    out = asyncio.run(run(args.rounds, args.calls,
                          ("handwritten", "aiohttp", "aiohttp-defaults", "aioari")))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

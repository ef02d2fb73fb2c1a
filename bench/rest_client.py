"""Point 6 of issue 7: CPU of one ARI REST request in the client, aiohttp vs the product's.

The ARI double runs in a child process (``python -m coovox.sim``), so the CPU measured in
this process (``time.process_time``) is the client's alone.  Rounds alternate the two
clients; the figure is the median over rounds of CPU µs per request.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time

import aiohttp

from bench.appproc import free_port
from bench.results import ROOT, Results, Target, log
from coovox.ari import basic_auth

USER, PASSWORD = "bench", "bench-pass"


async def _aiohttp_client(url: str, n: int) -> float:
    """The REST layer as it was: one aiohttp session with Basic auth, JSON decoded."""
    auth = {"Authorization": basic_auth(USER, PASSWORD)}
    async with aiohttp.ClientSession(headers=auth) as session:
        async def one() -> None:
            async with asyncio.timeout(5):
                async with session.request("POST", url + "/ari/channels/none/ring",
                                           params={"x": "1"}) as resp:
                    await resp.text()

        return await _cpu_us(one, n)


async def _product_client(url: str, n: int) -> float:
    from coovox.ari import AriError, AriRest

    rest = AriRest(url, USER, PASSWORD, "coovox")

    async def one() -> None:
        try:
            await rest.request("POST", "/channels/none/ring", {"x": "1"})
        except AriError:
            pass  # 404: the same answer for both clients

    try:
        return await _cpu_us(one, n)
    finally:
        await rest.close()


async def _cpu_us(one, n: int) -> float:
    """CPU µs of this process per ``await one()``, after 50 to warm up."""
    for _ in range(50):
        await one()
    t0 = time.process_time()
    for _ in range(n):
        await one()
    return (time.process_time() - t0) / n * 1e6


async def bench_rest(res: Results, rounds: int = 3, n: int = 3000) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "coovox.sim", "--host", "127.0.0.1",
                             "--port", str(port), "--user", USER, "--password", PASSWORD],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                async with aiohttp.ClientSession() as s, s.get(url + "/ari/api-docs/resources.json"):
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        figures: dict[str, list[float]] = {"aiohttp": [], "product": []}
        for r in range(rounds):
            figures["aiohttp"].append(round(await _aiohttp_client(url, n), 1))
            figures["product"].append(round(await _product_client(url, n), 1))
            log(f"rest round {r + 1}: {figures['aiohttp'][-1]} vs {figures['product'][-1]} µs")
    finally:
        proc.terminate()
        proc.wait(10)
    a, p = statistics.median(figures["aiohttp"]), statistics.median(figures["product"])
    res.save("rest_client", {"requests_per_round": n, "cpu_us_per_request": figures,
                             "median": {"aiohttp": a, "product": p}})
    res.add(Target("6", "ARI REST request, client CPU (aiohttp before → coovox.ari.http)",
                   f"{a} µs → {p} µs per request (median of {rounds} rounds of {n})",
                   "(no target: hot spot fix)", None))

"""One CooVox node of the many-nodes benchmark (``python -m bench.pgnode DB_URL DATA_DIR``).

Opens CooVox on the shared PostgreSQL exactly as a node does (Tortoise, the product's
pool), prints ``ready``, then follows JSON commands on stdin, one per line, answering each
with one JSON line on stdout:

- ``{"cmd": "calls", "calls": [[call_id, extension], ...]}``: the calls' billing rows
  (``ledger.open_call``, untimed);
- ``{"cmd": "charge", "rate": R, "seconds": S}``: open loop, R charges per second for S
  seconds over those calls round robin (each call's next seq), each through the billing
  plugin's ledger charge with the fraud guard's spend windows (``ledger.charge`` with a
  :class:`~coovox.plugins.billing.ledger.SpendGuard`); latency = end - scheduled instant
  (a late start counts, no coordinated omission);
- ``{"cmd": "burst", "n": N}``: N charges at once (the overspend check);
- ``{"cmd": "mode", "mode": "product" | "function"}``: ``function`` sends each charge as
  ONE statement, ``SELECT bench_charge(...)`` (the prototype of :mod:`bench.pgnodes`: the
  same statements in a PL/pgSQL function, one round trip instead of five);
- ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

AMOUNT = Decimal("0.01")


def guard_now() -> Any:
    """The spend windows of now (limits never reached: the UPDATE still checks them)."""
    from coovox.plugins.billing.fraud_rules import NO_LIMIT, day_key, hour_key
    from coovox.plugins.billing.ledger import SpendGuard

    now = datetime.now().astimezone()
    return SpendGuard(hour_key(now), day_key(now), NO_LIMIT, NO_LIMIT)


class Node:
    def __init__(self) -> None:
        self.calls: list[list[Any]] = []  # [call_id, extension, next seq]
        self.turn = 0
        self.guard = guard_now()
        self.mode = "product"

    async def open_calls(self, calls: list[list[str]]) -> dict[str, Any]:
        from coovox.plugins.billing import ledger

        self.calls, self.turn = [], 0
        sem = asyncio.Semaphore(8)

        async def one(call_id: str, ext: str) -> None:
            async with sem:
                row = await ledger.open_call(call_id, ext, "bench", {"rate": "0.01"})
            self.calls.append([call_id, ext, row.next_seq])

        await asyncio.gather(*(one(c, e) for c, e in calls))
        return {"calls": len(self.calls)}

    async def _one(self, scheduled: float, lat: list[float], results: Counter) -> None:
        from coovox.plugins.billing import ledger

        call = self.calls[self.turn % len(self.calls)]
        self.turn += 1
        seq = call[2]
        call[2] += 1
        try:
            if self.mode == "function":
                results[await self._function(call[0], call[1], seq)] += 1
            else:
                result = await ledger.charge(call[0], call[1], seq, AMOUNT, self.guard)
                results[result.value] += 1
        except Exception as exc:  # counted and reported, the run goes on
            results[f"error {type(exc).__name__}: {str(exc)[:80]}"] += 1
        lat.append(time.monotonic() - scheduled)

    async def _function(self, call_id: str, extension: str, seq: int) -> str:
        from coovox.plugins.billing import sql
        from coovox.storage.money import to_units

        g = self.guard
        rows = await sql.fetch("SELECT bench_charge(?, ?, ?, ?, ?, ?, ?, ?) AS r",
                               [call_id, seq, extension, to_units(AMOUNT), g.hour_key,
                                g.hour_limit, g.day_key, g.day_limit])
        return str(rows[0]["r"])

    async def charge(self, rate: float, seconds: float) -> dict[str, Any]:
        """Open loop at ``rate`` per second for ``seconds``."""
        lat: list[float] = []
        results: Counter = Counter()
        tasks: set[asyncio.Task] = set()
        total = int(rate * seconds)
        cpu0, t0 = time.process_time(), time.monotonic()
        i = 0
        while i < total:
            now = time.monotonic()
            while i < total and t0 + i / rate <= now:
                task = asyncio.create_task(self._one(t0 + i / rate, lat, results))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            if i < total:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        sent = time.monotonic()
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        end = time.monotonic()
        return {"asked": total, "done": len(lat), "send_s": round(sent - t0, 3),
                "wall_s": round(end - t0, 3), "cpu_s": round(time.process_time() - cpu0, 3),
                "results": dict(results), "lat_ms": [round(x * 1000, 3) for x in lat]}

    async def burst(self, n: int) -> dict[str, Any]:
        lat: list[float] = []
        results: Counter = Counter()
        now = time.monotonic()
        await asyncio.gather(*(self._one(now, lat, results) for _ in range(n)))
        return {"done": len(lat), "results": dict(results)}


async def main(url: str, data_dir: str) -> None:
    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost

    config = load_config(environ={}, data_dir=data_dir, database_url=url, secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        migrate=False, startup=False)
    node = Node()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    try:
        while line := await reader.readline():
            cmd = json.loads(line)
            if cmd["cmd"] == "calls":
                out = await node.open_calls(cmd["calls"])
            elif cmd["cmd"] == "charge":
                out = await node.charge(float(cmd["rate"]), float(cmd["seconds"]))
            elif cmd["cmd"] == "mode":
                node.mode = cmd["mode"]
                out = {"mode": node.mode}
            elif cmd["cmd"] == "burst":
                out = await node.burst(int(cmd["n"]))
            else:
                break
            print(json.dumps(out), flush=True)
    finally:
        await app.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

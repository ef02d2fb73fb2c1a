"""The web loads of the interference benchmark, in a process of their own.

    python -m bench.interference_loads   (one JSON line of arguments on stdin)

The ARI double that measures admissions and cut-offs runs in the benchmark's process; the
40 sign-ins a second (two requests and an HTML parse each), the download of the export
and the health probes ran on the same event loop and delayed the double's own reading
and writing, which counted as the app's delay.  Here they run apart, as clients on other
machines would.  Protocol: arguments as one JSON line on stdin; ``READY`` once the admin
is signed in; the line ``stop`` ends the sign-ins and the probes; the export and the
import run to their end; then one JSON line of results (``RESULT {...}``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bench.interference import (
    Sizes,
    admin_session,
    csv_import,
    health_probe,
    signin_load,
    xlsx_export,
)
from bench.stats import percentile


async def loop_lag(stop: asyncio.Event, out: dict[str, Any]) -> None:
    """How late this process's loop wakes (10 ms sleeps): its own share of the figures."""
    lags: list[float] = []
    while not stop.is_set():
        t0 = time.monotonic()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, time.monotonic() - t0 - 0.01))
    out.update({"p99": round(percentile(lags, 99) * 1000, 1),
                "max": round(max(lags, default=0.0) * 1000, 1)})


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    args = json.loads(await reader.readline())
    sz = Sizes(**{k: v for k, v in args["sizes"].items() if k != "variants"})
    base, token, signins = args["base"], args["token"], args["signins"]
    out: dict[str, Any] = {"signins": {}, "healthz": {}, "export": {}, "import": {},
                           "loop_lag_ms": {}}
    admin = await admin_session(base)  # before the sign-in load (throttled per address)
    print("READY", flush=True)
    stop = asyncio.Event()
    loads = [asyncio.create_task(health_probe(base, sz.health_every_s, stop, out["healthz"])),
             asyncio.create_task(loop_lag(stop, out["loop_lag_ms"]))]
    if signins:
        loads.append(asyncio.create_task(signin_load(base, sz, stop, out["signins"])))

    async def export() -> None:
        await xlsx_export(base, token, sz, out["export"])
        out["export"]["done_at"] = time.monotonic()

    work = [asyncio.create_task(export()),
            asyncio.create_task(csv_import(base, admin, sz, sz.import_after_s, out["import"]))]
    try:
        while (await reader.readline()).strip() not in (b"stop", b""):
            pass
        stop.set()
        await asyncio.gather(*loads, return_exceptions=True)
        await asyncio.gather(*work, return_exceptions=True)
    finally:
        await admin.close()
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

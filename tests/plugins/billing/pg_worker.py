"""One app process of the two-process PostgreSQL invariant test (run with ``python -m``).

Usage: ``python -m tests.plugins.billing.pg_worker DB_URL DATA_DIR PREFIX N GO_FILE``.
Opens CooVox on the shared database, prints ``ready``, waits for GO_FILE, then places N
simultaneous 1-second-unit calls through the billing services and prints ``done``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.billing.metering import Meter
from tests.support.billing import FakeControl, call_info


async def main(url: str, data_dir: str, prefix: str, n: int, go: str) -> None:
    config = load_config(environ={}, data_dir=data_dir, database_url=url, secret_key="x")
    app = await Coovox(config=config, plugins=PluginHost(load_entry_points=False)).open(
        migrate=False, startup=False)
    try:
        meter, control = Meter("UTC"), FakeControl()
        print("ready", flush=True)
        deadline = time.monotonic() + 60
        while not Path(go).exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        infos = [call_info(f"{prefix}{i}") for i in range(n)]
        decisions = await asyncio.gather(*(meter.gate(i) for i in infos))
        live = [(i, d) for i, d in zip(infos, decisions, strict=True) if not d.refuse]
        await asyncio.gather(*(meter.answered(i, control, d, False) for i, d in live))
        await asyncio.gather(*(control.run_until(i.call_id, 30) for i, _ in live))
        for i, _ in live:
            cut = control.cut_of(i.call_id)
            record = {"status": "answered", "talk_time": 30}
            if cut:
                record.update(billed_talk_time=cut[2], talk_time=cut[2] + 0.01)
            await meter.ended(i, record)
        print("done", len(live), flush=True)
    finally:
        await app.close()


if __name__ == "__main__":
    url, data_dir, prefix, n, go = sys.argv[1:6]
    asyncio.run(main(url, data_dir, prefix, int(n), go))

"""The app in a subprocess over the test's data dir (kill -9, restart): the machinery of the
restart, crash and log tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.calls.models import DialRule
from tests.support.call_app import ARI_PASSWORD, app_config, seed

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(config, double, log: Path) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("COOVOX_")}
    env.update({
        "COOVOX_DATA_DIR": config.data_dir, "COOVOX_ARI_URL": double.url,
        "COOVOX_ARI_USER": "coovox", "COOVOX_ARI_PASSWORD": ARI_PASSWORD,
        "COOVOX_SECRET_KEY": "test-secret", "COOVOX_WEB_PORT": str(free_port()),
    })
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "coovox", "run", cwd=str(ROOT), env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT)


async def until(check, timeout: float, what: str):
    async with asyncio.timeout(timeout):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


class App:
    """The app in a subprocess over one data dir; the test shares its database."""

    def __init__(self, tmp_path, double):
        self.config = app_config(tmp_path, double)
        self.double = double
        self.log = tmp_path / "app.log"
        self.procs: list[asyncio.subprocess.Process] = []
        self.local = Coovox(config=self.config, plugins=PluginHost(load_entry_points=False))

    async def __aenter__(self):
        await self.local.open(startup=False)
        await seed()
        await DialRule.filter(name="Limited").update(time_limit=TIME_LIMIT)
        await self.local.set_plugin_enabled("billing", False)
        return self

    async def spawn(self):
        self.procs.append(await spawn(self.config, self.double, self.log))

    async def kill(self):
        proc = self.procs[-1]
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    async def __aexit__(self, *exc):
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        await self.local.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

"""The app as a separate ``coovox run`` process (killable with -9), for chaos and log tests.

Reuses the restart machinery of ``tests/support/restart.py`` (free port, polling).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from tests.support.call_app import ARI_PASSWORD
from tests.support.restart import ROOT
from tests.support.restart import free_port as _free_port
from tests.support.restart import until as _until

__all__ = ["App", "until"]
until = _until


class App:
    """One ``python -m coovox run`` process logging to ``log`` (appended)."""

    def __init__(self, data_dir: str, ari_url: str, log: Path, *, verbose: bool = False,
                 **env: str) -> None:
        self.port = _free_port()
        self.log = log
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
        self.env.update({
            "COOVOX_DATA_DIR": data_dir, "COOVOX_ARI_URL": ari_url,
            "COOVOX_ARI_USER": "coovox", "COOVOX_ARI_PASSWORD": ARI_PASSWORD,
            "COOVOX_SECRET_KEY": "test-secret", "COOVOX_WEB_PORT": str(self.port)})
        self.env.update(env)
        self.args = ["-v"] if verbose else []
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> App:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "coovox", *self.args, "run", cwd=str(ROOT), env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=self.log.open("ab"),
            stderr=asyncio.subprocess.STDOUT)
        return self

    async def wait_web(self, timeout: float = 30) -> None:
        async def up() -> bool:
            if self.proc.returncode is not None:
                raise AssertionError(f"app exited: {self.log.read_text()[-2000:]}")
            try:
                async with aiohttp.ClientSession() as s, s.get(self.url + "/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False
        await until(up, timeout, "web up")

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

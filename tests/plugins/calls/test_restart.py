"""Process restart mid-call: the app runs in a subprocess, is killed (-9) and restarted.

The call resumes (its time limit re-armed from the talk time already elapsed) and ends
with exactly one record.
"""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.calls.models import Call, DialRule
from tests.support.call_app import ARI_PASSWORD, app_config, seed

ROOT = Path(__file__).resolve().parents[3]
TIME_LIMIT = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(config, double, log: Path) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("COOVOX_")}
    env.update({
        "COOVOX_DATA_DIR": config.data_dir, "COOVOX_ARI_URL": double.url,
        "COOVOX_ARI_USER": "coovox", "COOVOX_ARI_PASSWORD": ARI_PASSWORD,
        "COOVOX_SECRET_KEY": "test-secret", "COOVOX_WEB_PORT": str(_free_port()),
    })
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "coovox", "run", cwd=str(ROOT), env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT)


async def _until(check, timeout: float, what: str):
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
        self.procs.append(await _spawn(self.config, self.double, self.log))

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


@pytest.mark.timeout(90)
async def test_kill_and_restart_mid_call_resumes(tmp_path, double):
    async with App(tmp_path, double) as app:
        await app.spawn()
        await double.wait_connected(30)
        caller = await double.place_call("100", "6123455")  # answers and waits
        row = await _until(lambda: Call.filter(answered_at__isnull=False).first(), 15, "answer")
        await asyncio.sleep(0.5)
        await app.kill()
        assert caller in double.channels and row.out_channel in double.channels

        await app.spawn()
        done = await _until(lambda: Call.exclude(status="active").first(), 45, "the cut")
        # the time limit was re-armed from the talk time already elapsed
        assert (done.id, done.status, done.reason) == (row.id, "answered", "time limit")
        assert done.billed_talk_time == pytest.approx(TIME_LIMIT, abs=0.1)
        assert done.talk_time >= TIME_LIMIT
        assert await Call.all().count() == 1
        await _until(lambda: _no_channels(double), 5, "teardown")
        assert not double.bridges
        assert "resumed" in app.output(), app.output()[-3000:]


@pytest.mark.timeout(90)
async def test_call_that_ended_while_down_is_closed_once(tmp_path, double):
    async with App(tmp_path, double) as app:
        await app.spawn()
        await double.wait_connected(30)
        await double.place_call("100", "9123455")  # answers and waits
        row = await _until(lambda: Call.filter(answered_at__isnull=False).first(), 15, "answer")
        await asyncio.sleep(2.5)  # at least one heartbeat after the answer
        await app.kill()
        killed_at = app.local.now()
        await double.far_hangup(row.out_channel)  # nobody hears it
        await asyncio.sleep(1.0)
        restarted_at = app.local.now()
        await app.spawn()
        done = await _until(lambda: Call.exclude(status="active").first(), 45, "closing")
        assert (done.id, done.status, done.reason) == (row.id, "answered", "ended while away")
        # closed at the last moment the killed process was known alive, not at the restart
        assert done.ended_at <= killed_at < restarted_at
        assert (killed_at - done.ended_at).total_seconds() < 2.5
        assert done.talk_time == pytest.approx((done.ended_at - done.answered_at).total_seconds())
        await _until(lambda: _no_channels(double), 5, "teardown")  # the caller was hung up
        assert await Call.all().count() == 1


async def _no_channels(double) -> bool:
    return not double.channels

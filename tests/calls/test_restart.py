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

from coovox.calls.models import Call, DialRule
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from tests.calls.conftest import ARI_PASSWORD, app_config, seed

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.timeout(90)
async def test_kill_and_restart_mid_call(tmp_path, double):
    config = app_config(tmp_path, double)
    local = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await local.open(startup=False)  # the test reads/writes the same database
    procs = []
    log = tmp_path / "app.log"
    try:
        await seed()
        await DialRule.filter(name="Limited").update(time_limit=TIME_LIMIT)
        await local.set_plugin_enabled("billing", False)
        from coovox.users import create_user

        await create_user("admin", "Admin-pass-1")

        procs.append(await _spawn(config, double, log))
        await double.wait_connected(30)
        caller = await double.place_call("100", "6123455")  # answers and waits
        row = await _until(lambda: Call.filter(answered_at__isnull=False).first(), 15, "answer")
        await asyncio.sleep(0.5)
        procs[0].send_signal(signal.SIGKILL)
        await procs[0].wait()
        assert caller in double.channels and row.out_channel in double.channels

        procs.append(await _spawn(config, double, log))
        done = await _until(lambda: Call.exclude(status="active").first(), 45, "the cut")
        assert (done.id, done.status, done.reason) == (row.id, "answered", "time limit")
        assert done.billed_talk_time == pytest.approx(TIME_LIMIT, abs=0.1)
        assert done.talk_time >= TIME_LIMIT
        assert await Call.all().count() == 1
        await _until(lambda: _no_channels(double), 5, "teardown")
        assert not double.bridges
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        await local.close()
    text = log.read_text(errors="replace")
    assert "resumed" in text, text[-3000:]


async def _no_channels(double) -> bool:
    return not double.channels

"""``coovox simulate``: the product runs against the double with a stream of demo calls."""

import argparse
import asyncio
import os
import signal
import socket

import aiohttp

from coovox.cli import build_parser
from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost
from coovox.plugins.calls.models import Call, Extension
from coovox.plugins.calls.simulate import demo_number


def test_simulate_is_a_subcommand():
    args = build_parser(PluginHost(load_entry_points=False)).parse_args(
        ["simulate", "--interval", "0.5"])
    assert args.interval == 0.5 and args.handler.__name__ == "cmd_simulate"


def test_demo_numbers_pick_every_outcome():
    import random

    rng = random.Random(1)
    numbers = [demo_number(rng) for _ in range(300)]
    assert all(n.startswith("9") and n.isdigit() and len(n) == 8 for n in numbers)
    assert {n[-1] for n in numbers} == set("0123456")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_simulate_runs_calls_and_says_so(tmp_path):
    from coovox.plugins.calls.simulate import cmd_simulate

    port, ari_port = _free_port(), _free_port()
    # the configuration of `coovox run` (its data folder must stay untouched)
    run_config = load_config(environ={}, data_dir=str(tmp_path / "data"), secret_key="x")
    config = load_config(environ={}, data_dir=str(tmp_path / "sim-data"), secret_key="x")
    coovox = Coovox(config=run_config, plugins=PluginHost(load_entry_points=False))
    task = asyncio.create_task(cmd_simulate(coovox, argparse.Namespace(
        interval=0.2, calls=0, ari_port=ari_port, port=port,
        data_dir=str(tmp_path / "sim-data"))))
    try:
        async with asyncio.timeout(30), aiohttp.ClientSession() as http:
            while True:  # until the app has dialled the trunk for three demo calls
                await asyncio.sleep(0.1)
                assert not task.done(), task.exception()
                try:
                    async with http.get(f"http://127.0.0.1:{ari_port}/_sim/requests") as resp:
                        requests = await resp.json()
                except aiohttp.ClientError:
                    continue
                if sum(1 for r in requests if r["path"].endswith("/channels/create")) >= 3:
                    break
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                health = await resp.json()
            async with http.get(f"http://127.0.0.1:{port}/sign-in") as resp:
                page = await resp.text()
        assert health["simulation"] is True and health["ari"]["connected"]
        assert health["ari"]["url"] == f"http://127.0.0.1:{ari_port}"
        assert "simulation-banner" in page
    finally:
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: the command stops cleanly
        assert await asyncio.wait_for(task, 20) == 0
    check = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await check.open(startup=False)
    try:
        assert await Extension.filter(number__in=["100", "101", "102", "103", "104"]).count() == 5
        rows = await Call.all()
        assert len(rows) >= 3
        assert all(r.extension in {"100", "101", "102", "103", "104"} for r in rows)
        # the simulator's callers hung up at the stop: no call stays active
        assert not [r for r in rows if r.status == "active"]
        assert all(r.trunk == "pstn" for r in rows if r.status not in ("refused", "no answer"))
        assert any(r.trunk == "pstn" for r in rows)
    finally:
        await check.close()
    assert not (tmp_path / "data").exists()  # nothing written into coovox run's data

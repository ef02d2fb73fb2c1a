"""``coovox simulate`` as a user runs it (issue 15): its own data folder, ``--port``,
billing at work (rates, recharged accounts, Eve cut when her money runs out, costs in
the call log and the statistics) and, on Ctrl-C or SIGTERM, every call closed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.postgres import free_port


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    env["COOVOX_SECRET_KEY"] = "sim-test"
    return env


def _start(cwd: Path, *args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "coovox", "simulate", "--port", str(port), *args],
        cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                health = json.loads(r.read())
            if health["ari"]["connected"]:
                return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            pytest.fail("coovox simulate exited:\n" + proc.communicate()[1])
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("coovox simulate did not start:\n" + proc.communicate()[1])
        time.sleep(0.2)


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return list(conn.execute(sql))


def _wait(predicate, seconds: float, proc: subprocess.Popen, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"{what} did not happen in {seconds} s:\n" + proc.communicate()[1])


def _stop(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("coovox simulate did not stop:\n" + proc.communicate()[1])
    err = proc.communicate()[1]
    assert code == 0, err
    assert "Traceback" not in err
    return err


def test_ctrl_c_closes_every_call_and_billing_was_at_work(tmp_path):
    data = tmp_path / "sim"
    proc, port = _start(tmp_path, "--data-dir", str(data), "--interval", "0.7")
    db = data / "coovox.sqlite3"
    try:
        # Eve (104) has 0.20: her first call is answered and cut when the money runs out
        cut = _wait(lambda: _rows(db, "SELECT id FROM calls_call WHERE extension = '104' "
                                      "AND reason = 'insufficient funds'"), 60, proc,
                    "the cut of Eve's call")
        assert cut
        # more calls are up at this moment: Ctrl-C must close them
        _wait(lambda: _rows(db, "SELECT id FROM calls_call WHERE status = 'active'"), 20,
              proc, "an active call")
    finally:
        err = _stop(proc, signal.SIGINT)
    assert _rows(db, "SELECT COUNT(*) FROM calls_call WHERE status = 'active'") == [(0,)], err
    assert not (tmp_path / "coovox-data").exists()  # coovox run's default data untouched
    # billing at work: on, a rate, recharges, costs in the call log and the statistics
    settings = dict(_rows(db, "SELECT key, value FROM core_setting WHERE namespace = 'billing'"))
    assert json.loads(settings["active"]) is True
    assert _rows(db, "SELECT COUNT(*) FROM billing_rate WHERE active")[0][0] >= 1
    assert _rows(db, "SELECT COUNT(*) FROM billing_recharge")[0][0] >= 5
    costs = _rows(db, "SELECT SUM(cost) FROM billing_call WHERE settled")[0][0]
    assert costs and costs > 0
    eve = _rows(db, "SELECT balance, credit FROM billing_account WHERE extension = '104'")[0]
    # spent, never below 0; what another of her calls held ahead when the first was cut
    # was given back at its end (billing.md "Charging ahead"), so not always to < 1 unit
    assert 0 <= eve[0] < 2000
    assert _rows(db, "SELECT COUNT(*) FROM billing_call WHERE NOT settled") == [(0,)]
    log, stats = asyncio.run(_reports(data))
    assert any(Decimal(r["cost"]) > 0 for r in log)
    assert any(r["extension"] == "104" and r["reason"] == "insufficient funds" for r in log)
    assert stats and Decimal(stats[0]["cost"]) > 0 and stats[0]["calls"] > 0


async def _reports(data: Path):
    """The billing user's call log and statistics of the simulation's data."""
    from zoneinfo import ZoneInfo

    from coovox.config import load_config
    from coovox.context import Coovox
    from coovox.plugin_host import PluginHost
    from coovox.plugins.billing import reports

    app = Coovox(config=load_config(environ={}, data_dir=str(data)),
                 plugins=PluginHost(load_entry_points=False))
    await app.open(startup=False)
    try:
        log, _ = await reports.call_log({}, ZoneInfo("UTC"), 0, 1000)
        stats, _ = await reports.statistics({})
        return log, stats
    finally:
        await app.close()


def test_sigterm_closes_the_calls_and_the_default_data_dir_is_its_own(tmp_path):
    proc, port = _start(tmp_path, "--interval", "0.3")
    db = tmp_path / "coovox-sim-data" / "coovox.sqlite3"
    try:
        _wait(lambda: _rows(db, "SELECT id FROM calls_call WHERE status = 'active'")
              if db.exists() else None, 30, proc, "an active call")
    finally:
        err = _stop(proc, signal.SIGTERM)
    assert _rows(db, "SELECT COUNT(*) FROM calls_call WHERE status = 'active'") == [(0,)], err
    assert _rows(db, "SELECT COUNT(*) FROM calls_call")[0][0] >= 1
    assert not (tmp_path / "coovox-data").exists()
    assert f"web UI on http://127.0.0.1:{port}/" in err

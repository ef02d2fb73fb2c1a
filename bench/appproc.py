"""The measured process (product or baseline) as a subprocess, with its lag, CPU and memory."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.results import ROOT
from bench.stats import percentile

TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``python -m bench.appmain <kind>`` with COOVOX_* pointing at the double."""

    def __init__(self, kind: str, env: dict[str, str], *, profile: str | None = None,
                 log_path: Path | None = None) -> None:
        self.kind = kind
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.lag_file = tempfile.mktemp(prefix=f"bench-lag-{kind}-")
        self.profile = profile
        self.log_path = log_path or Path(tempfile.mktemp(prefix=f"bench-{kind}-", suffix=".log"))
        self.proc: subprocess.Popen | None = None

    async def start(self, timeout: float = 60) -> None:
        cmd = [sys.executable, "-m", "bench.appmain", self.kind, "--lag-file", self.lag_file]
        if self.profile:
            cmd += ["--profile", self.profile, "--count-queries", self.profile + ".sql.json"]
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True)
        loop = asyncio.get_running_loop()
        line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stdout.readline),
                                      timeout)
        if "READY" not in line:
            await self.stop()
            raise RuntimeError(f"{self.kind} did not start: see {self.log_path}:\n"
                               + self.log_path.read_text()[-2000:])

    async def stop(self, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            loop = asyncio.get_running_loop()
            try:
                await asyncio.wait_for(loop.run_in_executor(None, self.proc.wait), timeout)
            except TimeoutError:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """user + system CPU seconds of the process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_mb(self) -> float:
        return self._status_kb("VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return self._status_kb("VmHWM") / 1024

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux clear_refs 5)."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            pass

    def _status_kb(self, key: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
        return float("nan")

    def lag_samples(self, since: float, until: float | None = None) -> list[float]:
        """Event-loop lag samples (seconds) recorded between two monotonic instants."""
        until = until or time.monotonic()
        out = []
        try:
            with open(self.lag_file) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) == 2:
                        t = float(parts[0])
                        if since <= t <= until:
                            out.append(float(parts[1]))
        except FileNotFoundError:
            pass
        return out

    def lag_p99_ms(self, since: float, until: float | None = None) -> float:
        return round(percentile(self.lag_samples(since, until), 99) * 1000, 2)

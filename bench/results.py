"""Results: one JSON file per benchmark in ``bench/results/``, a summary table, BENCHMARKS.md."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MARK_START = "<!-- bench:generated:start -->"
MARK_END = "<!-- bench:generated:end -->"


@dataclass
class Target:
    """One line of the table: what was measured against which target."""

    point: str
    name: str
    measured: str
    target: str
    met: bool | None  # None = not measured (e.g. the code under test is missing)
    note: str = ""
    bench: str = ""  # which benchmark produced it (set by the runner)


def machine() -> dict[str, Any]:
    """nproc, CPU model, RAM, Python and OS version, load average at the start."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = math.nan
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": mem_gb,
            "python": platform.python_version(), "os": platform.platform(),
            "loadavg": list(os.getloadavg()), "git_head": commit,
            "time": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def _clean(value: Any) -> Any:
    """JSON without NaN (null instead)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass
class Results:
    out_dir: Path = RESULTS
    mode: str = "full"
    targets: list[Target] = field(default_factory=list)
    benches: dict[str, Any] = field(default_factory=dict)
    current: str = ""

    def save(self, name: str, data: dict[str, Any]) -> Path:
        """Write ``<out>/<name>.json`` (machine-readable figures of one benchmark)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.benches[name] = data
        path = self.out_dir / f"{name}.json"
        payload = {"benchmark": name, "mode": self.mode, "machine": machine(), **data}
        path.write_text(json.dumps(_clean(payload), indent=2, default=str) + "\n")
        return path

    def add(self, target: Target) -> None:
        target.bench = target.bench or self.current
        self.targets.append(target)

    def keep_previous(self, run: list[str]) -> None:
        """Take over the targets of benchmarks not run now from the last ``summary.json``
        (``--only`` re-runs one part and keeps the rest of the table)."""
        try:
            old = json.loads((self.out_dir / "summary.json").read_text())["targets"]
        except (OSError, ValueError, KeyError):
            return
        by_point = {"1": "admission", "2": "admission", "3": "concurrency", "4": "cps",
                    "5": "reports", "12.4": "real", "14": "interference",
                    "13.5": "ariclient", "17.1": "callcost"}
        kept = []
        for t in old:
            t["bench"] = t.get("bench") or by_point.get(t["point"], t["name"].split(" ")[0])
            if t["bench"] not in run:
                kept.append(Target(**t))
        self.targets[:0] = kept

    def table(self) -> str:
        """Markdown table of every target."""
        rows = ["| point | measure | measured | target | met |", "|---|---|---|---|---|"]
        for t in self.targets:
            met = {True: "met", False: "**not met**", None: "not measured"}[t.met]
            if t.met is None and t.target.startswith("(no target"):
                met = "-"
            note = f" ({t.note})" if t.note else ""
            rows.append(f"| {t.point} | {t.name} | {t.measured}{note} | {t.target} | {met} |")
        return "\n".join(rows)

    def write_summary(self) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / "summary.json"
        path.write_text(json.dumps(_clean({
            "mode": self.mode, "machine": machine(),
            "targets": [asdict(t) for t in self.targets]}), indent=2, default=str) + "\n")
        return path

    def machine_md(self) -> str:
        m = machine()
        return (f"- Machine: {m['nproc']} CPUs ({m['cpu'] or 'unknown model'}), "
                f"{m['ram_gb']} GB RAM, Python {m['python']}, {m['os']}\n"
                f"- Load average when the run ended: {', '.join(f'{x:.2f}' for x in m['loadavg'])}"
                f" (the machine is shared; figures are medians over runs)\n"
                f"- Run: {m['time']}, mode `{self.mode}`, tree at `{m['git_head']}` + working changes")


def update_markdown(path: Path, generated: str) -> None:
    """Replace the generated block of ``path`` (between the markers), keeping the rest."""
    block = f"{MARK_START}\n{generated.rstrip()}\n{MARK_END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n"
    if MARK_START in text and MARK_END in text:
        text = re.sub(re.escape(MARK_START) + r".*?" + re.escape(MARK_END),
                      lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def fmt_ms(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.2f} ms"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

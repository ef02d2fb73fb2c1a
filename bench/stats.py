"""Percentiles and summaries of latency samples (seconds in, milliseconds out)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    data = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[min(rank, len(data)) - 1]


def summary_ms(seconds: Iterable[float]) -> dict[str, float | int]:
    """count, p50, p90, p99, max and mean in milliseconds (rounded to 0.01 ms)."""
    data = [s * 1000 for s in seconds]
    if not data:
        return {"count": 0, "p50": math.nan, "p90": math.nan, "p99": math.nan,
                "max": math.nan, "mean": math.nan}
    return {"count": len(data), "p50": round(percentile(data, 50), 2),
            "p90": round(percentile(data, 90), 2), "p99": round(percentile(data, 99), 2),
            "max": round(max(data), 2), "mean": round(statistics.fmean(data), 2)}


def median_of(runs: Sequence[dict], key: str) -> float:
    """Median of ``run[key]`` over runs, ignoring missing/NaN values."""
    vals = [r[key] for r in runs if key in r and r[key] is not None
            and not (isinstance(r[key], float) and math.isnan(r[key]))]
    return round(statistics.median(vals), 2) if vals else math.nan


def ratio(a: float, b: float) -> float:
    if not b or math.isnan(a) or math.isnan(b):
        return math.nan
    return round(a / b, 2)

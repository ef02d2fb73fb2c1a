"""Bar charts drawn by the server as SVG: pure geometry here, drawing in ``_chart.html``.

No JavaScript and no style attribute (the CSP forbids inline styles): the template draws
the rectangles and texts computed by :func:`bar_chart` and ``app.css`` colours them by
class.  Everything here is a pure function of its input, tested without I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WIDTH, HEIGHT = 480, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 6, 10, 24  # room for the value axis and the labels
MAX_LABELS = 12  # at most this many labels under the bars (every n-th one)
TICKS = 4  # lines of the value axis above 0
MAX_BAR = 48  # a bar is never wider than this (few periods: slim bars, centred)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the period (under the bar when shown, and in its tooltip)
    value: float
    text: str  # the value as shown in the tooltip


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    top: float
    right: float  # x of the plot's right edge
    bottom: float  # y of the plot's base line (value 0)
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]
    top_value: float
    empty: bool  # no value above 0: the page says so instead of drawing nothing


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least ``value`` (1 for 0 or less): the top
    of the value axis, so that its ticks are round numbers."""
    if not value or value <= 0 or math.isnan(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * power
        if top >= value * (1 - 1e-12):
            return float(top)
    return 10 * power  # pragma: no cover (10 always fits)


def label_step(count: int, max_labels: int = MAX_LABELS) -> int:
    """Show every n-th label so that at most ``max_labels`` are shown."""
    return max(1, math.ceil(count / max_labels)) if count else 1


def _number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, Decimal):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _plain(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(points: Sequence[tuple[str, Any]], *, width: int = WIDTH, height: int = HEIGHT,
              fmt: Callable[[float], str] | None = None,
              integer: bool = False) -> Chart:
    """The geometry of a bar chart of ``points`` (label, value) in their order.

    Negative values count as 0 (a chart of calls or costs); ``integer`` keeps the ticks
    whole numbers (counts of calls); ``fmt`` formats the values of ticks and tooltips."""
    show = fmt or _plain
    values = [max(0.0, _number(v)) for _, v in points]
    # round steps between the ticks (whole ones for counts), the top TICKS steps up
    step = nice_ceiling(max(values, default=0.0) / TICKS)
    if integer:
        step = float(max(1, math.ceil(step)))
    top = step * TICKS
    left, right = float(LEFT), float(width - RIGHT)
    plot_top, base = float(TOP), float(height - BOTTOM)
    plot_h = base - plot_top
    n = len(points)
    slot = (right - left) / n if n else 0.0
    gap = min(slot * 0.2, 6.0)
    bars = []
    for i, ((label, _), value) in enumerate(zip(points, values, strict=True)):
        h = plot_h * value / top
        bar_w = min(max(slot - gap, 1.0), MAX_BAR)
        bars.append(Bar(x=round(left + i * slot + (slot - bar_w) / 2, 2), y=round(base - h, 2),
                        width=round(bar_w, 2), height=round(h, 2),
                        label=str(label), value=value, text=show(value)))
    ticks = tuple(Tick(y=round(base - plot_h * k / TICKS, 2), text=show(top * k / TICKS))
                  for k in range(TICKS + 1))
    step = label_step(n)
    labels = tuple(Label(x=round(left + (i + 0.5) * slot, 2), text=str(label))
                   for i, (label, _) in enumerate(points) if i % step == 0)
    return Chart(width=width, height=height, left=left, top=plot_top, right=right,
                 bottom=base, bars=tuple(bars), ticks=ticks, labels=labels, top_value=top,
                 empty=not any(values))

"""Lay out a single-series bar chart for an inline SVG (pure; the template draws it).

One series per chart on purpose: several zones are shown as several small charts, each with its own
heading, so nothing is told apart by colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    show_label: bool  # with many bars only every n-th axis label fits


@dataclass(frozen=True)
class Tick:
    value: float
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    left: float  # plot area
    right: float
    top: float
    bottom: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    maximum: float


def nice_ceiling(value: float) -> float:
    """Return the smallest 1, 2, 5 or 10 × 10^n not below `value` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - 10 × power is always >= value


def _tick_text(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: float = 640.0,
    height: float = 200.0,
    margin_left: float = 40.0,
    margin_bottom: float = 28.0,
    margin_top: float = 10.0,
    label_px: float = 44.0,
) -> BarChart:
    """Return the geometry of a bar per label, the y axis from 0 to a round maximum, and its ticks."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    if any(v < 0 or not math.isfinite(v) for v in values):
        raise ValueError("values must be finite and not negative")
    left, right = margin_left, width - 8.0
    top, bottom = margin_top, height - margin_bottom
    maximum = nice_ceiling(max(values, default=0.0))
    slot = (right - left) / max(len(values), 1)
    bar_width = max(slot * 0.7, 1.0)
    every = max(1, math.ceil(label_px / slot))  # keep axis labels from overlapping
    bars = tuple(
        Bar(
            label=label,
            value=value,
            x=round(left + i * slot + (slot - bar_width) / 2, 1),
            y=round(bottom - (bottom - top) * value / maximum, 1),
            width=round(bar_width, 1),
            height=round((bottom - top) * value / maximum, 1),
            show_label=i % every == 0,
        )
        for i, (label, value) in enumerate(zip(labels, values, strict=True))
    )
    steps = 4 if maximum >= 4 and maximum % 4 == 0 else (5 if maximum >= 5 else int(maximum))
    ticks = tuple(
        Tick(
            maximum * j / steps,
            round(bottom - (bottom - top) * j / steps, 1),
            _tick_text(maximum * j / steps),
        )
        for j in range(steps + 1)
    )
    return BarChart(width, height, left, right, top, bottom, bars, ticks, maximum)

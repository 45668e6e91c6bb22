"""Percentiles and the latency / skew summaries every fan-out benchmark reports (pure functions)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) of values, interpolating linearly between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float | int]:
    """Return n, min, p50, p90, p99, max and mean of durations given in seconds, in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [value * 1000 for value in seconds]
    return {
        "n": len(ms),
        "min": round(min(ms), 3),
        "p50": round(percentile(ms, 50), 3),
        "p90": round(percentile(ms, 90), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
        "mean": round(statistics.fmean(ms), 3),
    }


def skew_ms(instants: Sequence[float]) -> dict[str, float | int]:
    """Return how far apart instants are: max - min, and p99 / max of |instant - median|, in ms."""
    if not instants:
        return {"n": 0}
    median = statistics.median(instants)
    deviations = [abs(value - median) * 1000 for value in instants]
    return {
        "n": len(instants),
        "range": round((max(instants) - min(instants)) * 1000, 3),
        "p99_abs_from_median": round(percentile(deviations, 99), 3),
        "max_abs_from_median": round(max(deviations), 3),
    }


def ratio(numerator: float | int | None, denominator: float | int | None) -> float | None:
    """Return numerator / denominator rounded to 2 places, or None if either is missing or zero."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def pooled_skew_ms(groups: Sequence[Sequence[float]]) -> dict[str, float | int]:
    """Return skew over several fan-outs: widest range, and p99 / max of |instant - its group's median|."""
    groups = [group for group in groups if group]
    if not groups:
        return {"n": 0}
    deviations = [abs(value - statistics.median(group)) * 1000 for group in groups for value in group]
    return {
        "n": len(deviations),
        "range_max": round(max((max(group) - min(group)) * 1000 for group in groups), 3),
        "p99_abs_from_median": round(percentile(deviations, 99), 3),
        "max_abs_from_median": round(max(deviations), 3),
    }

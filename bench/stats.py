"""Percentiles and small summaries (no numpy: the figures must be reproducible by reading this)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summary(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    """p50 / p95 / p99 (and the count) of a sample, rounded."""
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def mean(values: Sequence[float]) -> float:
    return float(statistics.fmean(values)) if values else math.nan

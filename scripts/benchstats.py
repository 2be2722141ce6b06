"""Statistics shared by the benchmark scripts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of the samples."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency_summary(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies (inf = never answered); NaN for no samples."""
    if not values:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan}
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values),
    }


def median(values: Iterable[float | None]) -> float:
    """Median of the known values (None and NaN left out); NaN when there are none."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(known) if known else math.nan


def fmt(value: float | None, digits: int = 0, unit: str = "") -> str:
    """A figure for a table: '—' when unknown, '∞' when never reached."""
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}{unit}"

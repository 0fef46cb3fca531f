"""Durations kept as counts per bucket, so that medians and 90th percentiles can be summed over
days and clients without keeping every value.

The buckets are a minute wide up to an hour, then widen (5 minutes up to 4 hours, 15 up to a day,
an hour up to a week, 6 hours up to 30 days, a day up to 180 days): a percentile is reported as
its bucket's upper edge, at most that much above the exact value. Raw and rolled-up figures use
the same buckets, so they agree exactly.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping

Histogram = dict[str, int]


def _edges() -> list[int]:
    edges: list[int] = []
    for start, stop, step in (
        (0, 60, 1),
        (60, 240, 5),
        (240, 1440, 15),
        (1440, 10080, 60),
        (10080, 43200, 360),
        (43200, 259200, 1440),
    ):
        edges.extend(range(start, stop, step))
    edges.append(259200)
    return [minutes * 60 for minutes in edges]


EDGES = _edges()  # upper edge of each bucket, in seconds


def bucket(seconds: float) -> int:
    """The bucket of a duration; negative durations (clock skew) count as zero."""
    return min(bisect_left(EDGES, max(0.0, seconds)), len(EDGES) - 1)


def add(hist: Histogram, seconds: float, count: int = 1) -> None:
    key = str(bucket(seconds))
    hist[key] = hist.get(key, 0) + count


def merge(into: Histogram, other: Mapping[str, int]) -> None:
    for key, count in other.items():
        into[key] = into.get(key, 0) + count


def total(hist: Mapping[str, int]) -> int:
    return sum(hist.values())


def percentile(hist: Mapping[str, int], p: float) -> int | None:
    """The nearest-rank percentile in seconds (the bucket's upper edge); None when empty."""
    n = total(hist)
    if n == 0:
        return None
    rank = max(1, math.ceil(p / 100 * n))
    seen = 0
    for key in sorted(hist, key=int):
        seen += hist[key]
        if seen >= rank:
            return EDGES[int(key)]
    return EDGES[-1]  # pragma: no cover


def of(values: Iterable[float]) -> Histogram:
    hist: Histogram = {}
    for value in values:
        add(hist, value)
    return hist

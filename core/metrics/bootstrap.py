"""Bootstrap confidence intervals shared by the metric modules.

Two resampling schemes, both exact draws of a row bootstrap:

* ``resample_group_cells`` resamples the confusion counts of each group: a multinomial
  over the group's four cells with the group's own size. This is the stratified bootstrap
  by group (group sizes fixed), the usual choice for per-group metrics: a per-group rate
  then varies only through its own rows, never because the group happened to be drawn
  larger or smaller. It costs ``replicates x groups`` draws, independent of the rows.
* ``resample_cell_counts`` is the plain row bootstrap for metrics that need rows (ROC AUC,
  KS, calibration, log loss): rows are first grouped into cells of identical values, and
  each replicate draws ``n`` rows with replacement, as cell counts.

Intervals are percentile intervals; replicates in which a metric is undefined are left
out of its interval, and an interval is undefined (None) when no replicate defines it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from core.metrics.plain import plain_floats

__all__ = [
    "Estimate",
    "estimate_table",
    "estimates",
    "make_rng",
    "percentile_bounds",
    "resample_cell_counts",
    "resample_group_cells",
]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval; None marks an undefined value."""

    value: float | None
    lower: float | None = None
    upper: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "lower": self.lower, "upper": self.upper}


def make_rng(seed: int, key: str) -> np.random.Generator:
    """A generator for one named part of a result, so parts do not depend on each other."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def percentile_bounds(replicates: np.ndarray, *, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each row of ``(M, R)`` replicates, ignoring NaN replicates.

    Linear interpolation between order statistics, as ``np.quantile``, on the defined
    replicates of each row, without the warnings ``np.nanquantile`` raises for rows with
    none defined (their bounds are NaN).
    """
    ordered = np.sort(np.asarray(replicates, dtype=np.float64), axis=1)  # NaN sorts last
    width, n_boot = ordered.shape
    if ordered.size == 0:
        return np.full(width, np.nan), np.full(width, np.nan)
    if np.isnan(ordered[:, -1]).any():  # some row has undefined replicates: count them
        defined = n_boot - np.count_nonzero(np.isnan(ordered), axis=1)
    else:
        defined = np.full(width, n_boot)
    last = np.maximum(defined - 1, 0)
    rows = np.arange(width)
    tail = (1.0 - ci) / 2.0
    bounds = []
    for q in (tail, 1.0 - tail):
        position = q * last
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, last)
        low, high = ordered[rows, below], ordered[rows, above]
        value = low + (position - below) * (high - low)
        bounds.append(np.where(defined > 0, value, np.nan))
    return bounds[0], bounds[1]


def estimate_table(
    values: Mapping[str, np.ndarray],
    replicates: Mapping[str, np.ndarray] | None,
    *,
    ci: float,
) -> dict[str, list[Estimate]]:
    """Estimates of several metrics at once: ``values[k]`` has one entry per group and
    ``replicates[k]`` shape ``(groups, R)``. One sort serves every interval.

    A value that is undefined stays undefined, with no interval.
    """
    keys = list(values)
    points = [np.asarray(values[k], dtype=np.float64).reshape(-1) for k in keys]
    flat = plain_floats(np.concatenate(points))
    if replicates is None:
        lows: list[float | None] = [None] * len(flat)
        highs: list[float | None] = [None] * len(flat)
    else:
        stacked = np.concatenate(
            [
                np.asarray(replicates[k]).reshape(len(p), -1)
                for k, p in zip(keys, points, strict=True)
            ]
        )
        lower, upper = percentile_bounds(stacked, ci=ci)
        lows, highs = plain_floats(lower), plain_floats(upper)
    made = [
        Estimate(v) if v is None else Estimate(v, lo, hi)
        for v, lo, hi in zip(flat, lows, highs, strict=True)
    ]
    table, start = {}, 0
    for key, point in zip(keys, points, strict=True):
        table[key] = made[start : start + len(point)]
        start += len(point)
    return table


def estimates(values: np.ndarray, replicates: np.ndarray | None, *, ci: float) -> list[Estimate]:
    """Estimates for a vector of values and their replicates (shape ``(len(values), R)``)."""
    table = estimate_table(
        {"values": values}, None if replicates is None else {"values": replicates}, ci=ci
    )
    return table["values"]


def resample_group_cells(
    counts: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Stratified bootstrap of a ``(groups, cells)`` count table: shape ``(R, groups, cells)``.

    Each replicate draws every group's cells from a multinomial with the group's size and
    observed cell shares, which is exactly what resampling the group's rows would give.
    """
    counts = np.asarray(counts, dtype=np.int64)
    sizes = counts.sum(axis=1)
    shares = counts / sizes[:, np.newaxis]
    return rng.multinomial(sizes, shares, size=(n_boot, len(counts)))


def resample_cell_counts(
    counts: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Row bootstrap of rows grouped into cells: yields ``n_boot`` vectors of cell counts.

    Each vector is the number of times each cell's rows are drawn when ``n`` rows are
    drawn with replacement. With few cells a multinomial over cells is cheapest; with
    many (continuous scores) drawing row positions and counting them is. Rows are laid
    out in cell order, so the result does not depend on the order of the input rows.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if len(counts) * 8 < n:
        shares = counts / n
        for _ in range(n_boot):
            yield rng.multinomial(n, shares)
        return
    starts = np.cumsum(counts) - counts
    for _ in range(n_boot):
        per_row = np.bincount(rng.integers(0, n, size=n), minlength=n)
        yield per_row if len(counts) == n else np.add.reduceat(per_row, starts)

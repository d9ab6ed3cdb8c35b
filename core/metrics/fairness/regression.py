"""Fairness of regression predictions: mean prediction and mean absolute error per group.

Sums per group come from ``sum_cells`` of centred arrays; intervals are the normal approximation
to the per-group bootstrap of a mean.
"""

from __future__ import annotations

import numpy as np

from core.metrics.bootstrap import Estimate, estimate_table, make_rng
from core.metrics.fairness.between import spread
from core.metrics.fairness.classification import excluded_groups
from core.metrics.fairness.names import REGRESSION_BETWEEN, REGRESSION_GROUP_METRICS
from core.metrics.fairness.results import FeatureResult, GroupResult
from core.metrics.plain import to_float

__all__ = ["regression_feature", "regression_overall"]

# Prefix of between-group keys in a combined estimate table.
_BETWEEN = "between:"


def _means(
    sums: np.ndarray, shifts: tuple[float, float]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Means and their standard errors from ``sum_cells`` totals of centred arrays."""
    n = sums[:, 0]
    means, errors = {}, {}
    for i, (key, shift) in enumerate(zip(REGRESSION_GROUP_METRICS, shifts, strict=True)):
        total, squares = sums[:, 1 + 2 * i], sums[:, 2 + 2 * i]
        means[key] = shift + total / n
        deviation = np.maximum(squares - total * total / n, 0.0)
        variance = np.full(n.shape, np.nan)
        np.divide(deviation, n - 1, out=variance, where=n > 1)
        errors[key] = np.sqrt(variance / n)
    return means, errors


def regression_overall(sums: np.ndarray, shifts: tuple[float, float]) -> dict[str, Estimate]:
    """Mean prediction and mean absolute error of all rows together."""
    means, _ = _means(sums[np.newaxis], shifts)
    return {key: Estimate(to_float(values[0])) for key, values in means.items()}


def regression_feature(
    *,
    name: str,
    columns: tuple[str, ...],
    labels: list[str],
    sums: np.ndarray,
    shifts: tuple[float, float],
    n_rows: int,
    min_group_size: int,
    n_boot: int,
    seed: int,
    ci: float,
) -> FeatureResult:
    """Figures of one sensitive column or intersection from its ``sum_cells`` totals."""
    sizes = sums[:, 0].astype(np.int64)
    eligible = sizes >= min_group_size
    means, errors = _means(sums, shifts)
    replicates = None
    if n_boot:
        normal = make_rng(seed, name).standard_normal((len(means), len(labels), n_boot))
        replicates = {
            key: means[key][:, None] + errors[key][:, None] * normal[i]
            for i, key in enumerate(means)
        }
    values = dict(means)
    draws_by_key = None if replicates is None else dict(replicates)
    for key, metric in zip(REGRESSION_BETWEEN, means, strict=True):
        values[_BETWEEN + key] = spread(means[metric], eligible)[0]
        if draws_by_key is not None and replicates is not None:
            draws_by_key[_BETWEEN + key] = spread(replicates[metric], eligible)[0]
    table = estimate_table(values, draws_by_key, ci=ci)
    groups = tuple(
        GroupResult(
            group=label,
            count=int(sizes[g]),
            share=float(sizes[g] / n_rows),
            eligible=bool(eligible[g]),
            metrics={key: table[key][g] for key in means},
        )
        for g, label in enumerate(labels)
    )
    between = {key: table[_BETWEEN + key][0] for key in REGRESSION_BETWEEN}
    excluded = excluded_groups(labels, sizes, eligible, min_group_size)
    return FeatureResult(
        name=name,
        columns=columns,
        reference_group=None,
        reference_rule=None,
        groups=groups,
        between_groups=between,
        excluded_groups=excluded,
        notes=(),
    )

"""Between-group summaries: gaps and ratios over eligible groups, for points and replicates alike.

Every function takes figures with groups on axis 0 and bootstrap replicates, if any, after it, so
one code path serves the point estimates and every replicate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.metrics.counts import rates_from_counts

__all__ = ["between_classification", "ratio_to", "replicate_rates", "spread"]


def spread(values: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest minus smallest, and smallest over largest, over eligible defined groups.

    ``values`` has groups on its first axis (replicates, if any, after it); NaN where fewer
    than two groups are defined, and the ratio also where the largest value is zero.
    """
    usable = along_groups(eligible, values) & ~np.isnan(values)
    enough = np.count_nonzero(usable, axis=0) >= 2
    high = np.where(usable, values, -np.inf).max(axis=0)
    low = np.where(usable, values, np.inf).min(axis=0)
    difference = np.full(np.shape(high), np.nan)
    np.subtract(high, low, out=difference, where=enough)
    ratio = np.full(np.shape(high), np.nan)
    np.divide(low, high, out=ratio, where=enough & (high > 0))
    return difference, ratio


def along_groups(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A per-group mask shaped to broadcast against ``values`` (groups on axis 0)."""
    return mask.reshape(mask.shape + (1,) * (values.ndim - 1))


def ratio_to(values: np.ndarray, reference: int | None) -> np.ndarray:
    out = np.full(np.shape(values), np.nan)
    if reference is None:
        return out
    denominator = values[reference : reference + 1]
    np.divide(values, denominator, out=out, where=denominator > 0)
    return out


def between_classification(
    rates: Mapping[str, np.ndarray], eligible: np.ndarray, reference: int | None, chosen: bool
) -> dict[str, np.ndarray]:
    """Between-group summaries of rates with groups on axis 0 (replicates after it)."""
    stacked = np.stack(
        [rates["selection_rate"], rates["true_positive_rate"], rates["false_positive_rate"]],
        axis=1,
    )
    gaps, ratios_of_extremes = spread(stacked, eligible)
    dp_difference, tpr_gap, fpr_gap = gaps
    dp_ratio, tpr_ratio, fpr_ratio = ratios_of_extremes
    if not chosen:
        lowest_ratio = dp_ratio
    elif reference is not None and eligible[reference]:
        others = eligible.copy()
        others[reference] = False
        ratios = rates["selection_rate_ratio"]
        usable = along_groups(others, ratios) & ~np.isnan(ratios)
        lowest = np.where(usable, ratios, np.inf).min(axis=0)
        lowest_ratio = np.where(usable.any(axis=0), lowest, np.nan)
    else:
        lowest_ratio = np.full(np.shape(dp_ratio), np.nan)
    return {
        "demographic_parity_difference": dp_difference,
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": np.fmax(tpr_gap, fpr_gap),
        "equalized_odds_ratio": np.fmin(tpr_ratio, fpr_ratio),
        "true_positive_rate_gap": tpr_gap,
        "selection_rate_ratio": lowest_ratio,
    }


def replicate_rates(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Rates of ``(R, groups, 4)`` replicate counts, as ``(groups, R)`` arrays."""
    cells = np.ascontiguousarray(np.transpose(draws, (2, 1, 0)), dtype=np.float64)
    return rates_from_counts(cells, axis=0)

"""Fairness of classification decisions from per-group confusion counts.

Per group: base rate, selection rate, accuracy, true-, false-positive and false-negative rates,
precision and the selection-rate ratio to the reference group; between groups: demographic
parity and equalized odds (difference and ratio), the true-positive-rate gap and the lowest
selection-rate ratio. Intervals resample each group's confusion counts (stratified bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.metrics.bootstrap import Estimate, estimate_table, make_rng, resample_group_cells
from core.metrics.counts import rates_from_counts
from core.metrics.fairness.between import between_classification, ratio_to, replicate_rates
from core.metrics.fairness.messages import (
    REFERENCE_CHOSEN,
    REFERENCE_MOST_FAVOURED,
    SMALL_GROUP_REASON,
    UNDEFINED_NOTE,
)
from core.metrics.fairness.names import (
    CLASSIFICATION_BETWEEN,
    CLASSIFICATION_GROUP_METRICS,
    UNDEFINED_BECAUSE,
)
from core.metrics.fairness.results import ExcludedGroup, FeatureResult, GroupResult

__all__ = ["classification_feature", "classification_overall", "excluded_groups"]

# Prefix of between-group keys in a combined estimate table.
_BETWEEN = "between:"


def excluded_groups(
    labels: Sequence[str], sizes: np.ndarray, eligible: np.ndarray, min_group_size: int
) -> tuple[ExcludedGroup, ...]:
    """The groups below the minimum size, each with the reason it is left out."""
    return tuple(
        ExcludedGroup(
            group=labels[int(g)],
            count=int(sizes[g]),
            reason=SMALL_GROUP_REASON.format(count=int(sizes[g]), minimum=min_group_size),
        )
        for g in np.flatnonzero(~eligible)
    )


def _reference_index(
    labels: list[str], rates: dict[str, np.ndarray], eligible: np.ndarray, reference: str | None
) -> int | None:
    """The chosen reference group, else the most-favoured eligible one (highest selection)."""
    if reference is not None:
        return labels.index(reference)
    if not eligible.any():
        return None
    candidates = np.flatnonzero(eligible)
    return int(candidates[np.argmax(rates["selection_rate"][candidates])])


def _estimates(
    rates: dict[str, np.ndarray],
    replicates: dict[str, np.ndarray] | None,
    *,
    eligible: np.ndarray,
    ref: int | None,
    chosen: bool,
    ci: float,
) -> dict[str, list[Estimate]]:
    """Group figures and between-group summaries in one table, so one sort serves them all."""
    point = between_classification(rates, eligible, ref, chosen)
    values = {metric: rates[metric] for metric in CLASSIFICATION_GROUP_METRICS}
    values |= {_BETWEEN + key: point[key] for key in CLASSIFICATION_BETWEEN}
    draws_by_key = None
    if replicates is not None:
        spread = between_classification(replicates, eligible, ref, chosen)
        draws_by_key = {metric: replicates[metric] for metric in CLASSIFICATION_GROUP_METRICS}
        draws_by_key |= {_BETWEEN + key: spread[key] for key in CLASSIFICATION_BETWEEN}
    return estimate_table(values, draws_by_key, ci=ci)


def classification_feature(
    *,
    name: str,
    columns: tuple[str, ...],
    labels: list[str],
    counts: np.ndarray,
    n_rows: int,
    reference: str | None,
    min_group_size: int,
    n_boot: int,
    seed: int,
    ci: float,
) -> FeatureResult:
    """Figures of one sensitive column or intersection from its ``(groups, 4)`` counts."""
    sizes = counts.sum(axis=1)
    eligible = sizes >= min_group_size
    rates = rates_from_counts(counts)
    replicates = None
    if n_boot:
        draws = resample_group_cells(counts, n_boot=n_boot, rng=make_rng(seed, name))
        replicates = replicate_rates(draws)
    ref = _reference_index(labels, rates, eligible, reference)
    rates["selection_rate_ratio"] = ratio_to(rates["selection_rate"], ref)
    if replicates is not None:
        replicates["selection_rate_ratio"] = ratio_to(replicates["selection_rate"], ref)
    chosen = reference is not None
    table = _estimates(rates, replicates, eligible=eligible, ref=ref, chosen=chosen, ci=ci)
    counts_list, shares = sizes.tolist(), (sizes / n_rows).tolist()
    eligible_list = eligible.tolist()
    groups = tuple(
        GroupResult(
            group=label,
            count=counts_list[g],
            share=shares[g],
            eligible=eligible_list[g],
            metrics={metric: table[metric][g] for metric in CLASSIFICATION_GROUP_METRICS},
        )
        for g, label in enumerate(labels)
    )
    notes = [
        UNDEFINED_NOTE.format(
            feature=name,
            group=labels[g],
            metric=CLASSIFICATION_GROUP_METRICS[metric],
            reason=UNDEFINED_BECAUSE[metric],
        )
        for metric in ("true_positive_rate", "false_positive_rate", "precision")
        for g in np.flatnonzero(np.isnan(rates[metric]))
    ]
    rule = None
    if ref is not None:
        rule = REFERENCE_CHOSEN if chosen else REFERENCE_MOST_FAVOURED
    return FeatureResult(
        name=name,
        columns=columns,
        reference_group=None if ref is None else labels[ref],
        reference_rule=rule,
        groups=groups,
        between_groups={key: table[_BETWEEN + key][0] for key in CLASSIFICATION_BETWEEN},
        excluded_groups=excluded_groups(labels, sizes, eligible, min_group_size),
        notes=tuple(notes),
    )


def classification_overall(
    counts: np.ndarray, n_boot: int, seed: int, ci: float
) -> dict[str, Estimate]:
    """The group figures of all rows together (no ratio: there is no reference group)."""
    rates = rates_from_counts(counts[np.newaxis])
    replicates = None
    if n_boot:
        draws = resample_group_cells(
            counts[np.newaxis], n_boot=n_boot, rng=make_rng(seed, "overall")
        )
        replicates = replicate_rates(draws)
    keys = [k for k in CLASSIFICATION_GROUP_METRICS if k != "selection_rate_ratio"]
    table = estimate_table(
        {key: rates[key] for key in keys},
        None if replicates is None else {key: replicates[key] for key in keys},
        ci=ci,
    )
    return {key: table[key][0] for key in keys}

"""Thresholds that evidence is judged against, each with its stated basis.

These defaults are the shipped policy pack's values (core/rules/packs/default.yaml); evidence is
judged by the thresholds of the policy version governing its model (core.services.policy).
Choosing criteria and thresholds is a governance decision; the basis says where each number
comes from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.metrics.fairness import DEFAULT_MIN_GROUP_SIZE
from core.metrics.plain import is_whole

__all__ = [
    "BAD_POLICY",
    "FairnessPolicy",
    "PerformancePolicy",
    "default_fairness_policy",
    "default_performance_policy",
    "fairness_policy_problems",
]

BAD_POLICY = "policy.{field} is {value!r}; {expected}."

_DIFFERENCES = (
    "max_demographic_parity_difference",
    "max_equalized_odds_difference",
    "max_true_positive_rate_gap",
)


@dataclass(frozen=True)
class FairnessPolicy:
    """Thresholds of the fairness checks, each with the basis recorded next to it.

    Choosing criteria and thresholds is a governance decision; these defaults are common
    practice, not law, except where the basis says so.
    """

    min_selection_rate_ratio: float = 0.8
    min_selection_rate_ratio_basis: str = (
        "four-fifths rule (US EEOC Uniform Guidelines on Employee Selection Procedures, "
        "29 CFR 1607.4(D))"
    )
    max_demographic_parity_difference: float = 0.1
    max_demographic_parity_difference_basis: str = (
        "common practice in fairness assessment; no statutory threshold"
    )
    max_equalized_odds_difference: float = 0.1
    max_equalized_odds_difference_basis: str = (
        "common practice in fairness assessment; no statutory threshold"
    )
    max_true_positive_rate_gap: float | None = None
    max_true_positive_rate_gap_basis: str = "not checked unless the policy sets it"
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    min_group_size_basis: str = "rule of thumb for stable rates; smaller groups give wide intervals"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PerformancePolicy:
    """Minimum discriminatory power and calibration a model must show on its evaluation data."""

    min_roc_auc: float | None = 0.70
    min_roc_auc_basis: str = (
        "default model standard: ROC AUC of at least 0.70 (Gini 0.40) on held-out data"
    )
    max_brier_score: float | None = 0.25
    max_brier_score_basis: str = (
        "default model standard: no worse than a constant 50% forecast (Brier 0.25)"
    )
    min_r2: float | None = 0.0
    min_r2_basis: str = "default model standard: better than predicting the mean (R² above 0)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fairness_policy_problems(policy: FairnessPolicy) -> list[str]:
    """One sentence per unusable threshold of the policy."""
    problems = []
    if not 0 <= policy.min_selection_rate_ratio <= 1:
        problems.append(
            BAD_POLICY.format(
                field="min_selection_rate_ratio",
                value=policy.min_selection_rate_ratio,
                expected="pass a ratio between 0 and 1, e.g. 0.8",
            )
        )
    for field in _DIFFERENCES:
        value = getattr(policy, field)
        if value is not None and not 0 <= value <= 1:
            problems.append(
                BAD_POLICY.format(
                    field=field, value=value, expected="pass a difference between 0 and 1"
                )
            )
    if not is_whole(policy.min_group_size) or policy.min_group_size < 1:
        problems.append(
            BAD_POLICY.format(
                field="min_group_size",
                value=policy.min_group_size,
                expected="pass a whole number of rows of at least 1",
            )
        )
    return problems


def default_fairness_policy() -> FairnessPolicy:
    """The fairness thresholds every model is held to unless its risk policy says otherwise."""
    return FairnessPolicy()


def default_performance_policy() -> PerformancePolicy:
    """The performance thresholds every model is held to unless its risk policy says otherwise."""
    return PerformancePolicy()

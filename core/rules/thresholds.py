"""Thresholds that evidence is judged against, each with its stated basis.

These defaults are the shipped policy pack's values (core/rules/packs/default.yaml); evidence is
judged by the thresholds of the policy version governing its model (core.services.policy).
Choosing criteria and thresholds is a governance decision; the basis says where each number
comes from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.metrics.fairness import FairnessPolicy

__all__ = ["PerformancePolicy", "default_fairness_policy", "default_performance_policy"]


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


def default_fairness_policy() -> FairnessPolicy:
    """The fairness thresholds every model is held to unless its risk policy says otherwise."""
    return FairnessPolicy()


def default_performance_policy() -> PerformancePolicy:
    """The performance thresholds every model is held to unless its risk policy says otherwise."""
    return PerformancePolicy()

"""Performance checks: discriminatory power and calibration judged against a ``PerformancePolicy``.

Classification: ROC AUC at least the policy's minimum, Brier score at most its maximum (where
scores were given); regression: R² at least the minimum. A check whose interval reaches across
its threshold is inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.metrics.performance import PerformanceResult
from core.rules.checks import Check, Direction, judge
from core.rules.sentences import (
    PERFORMANCE_INCONCLUSIVE_SENTENCE,
    PERFORMANCE_SENTENCE,
    PERFORMANCE_UNDEFINED_SENTENCE,
)
from core.rules.thresholds import PerformancePolicy

__all__ = [
    "check_performance",
    "performance_checks",
]

_RELATION = {
    ("at_least", True): "at or above",
    ("at_least", False): "below",
    ("at_most", True): "at or below",
    ("at_most", False): "above",
}


def check_performance(result: PerformanceResult, policy: PerformancePolicy) -> tuple[Check, ...]:
    """The policy's performance checks on the overall figures of a result."""
    return _checks(result.task, result.overall.metrics, policy, ci=result.ci)


def performance_checks(
    results: Mapping[str, Any], policy: PerformancePolicy
) -> list[dict[str, Any]]:
    """The policy's performance checks on a performance result as stored (``to_dict``)."""
    metrics = {
        name: Estimate(value.get("value"), value.get("lower"), value.get("upper"))
        for name, value in results["overall"]["metrics"].items()
    }
    checks = _checks(results["task"], metrics, policy, ci=float(results.get("ci", 0.95)))
    return [check.to_dict() for check in checks]


def _checks(
    task: str, metrics: Mapping[str, Estimate], policy: PerformancePolicy, *, ci: float
) -> tuple[Check, ...]:
    wanted: list[tuple[str, str, float | None, Direction, str]] = []
    if task == "classification":
        wanted += [
            ("roc_auc", "ROC AUC", policy.min_roc_auc, "at_least", policy.min_roc_auc_basis),
            (
                "brier_score",
                "Brier score",
                policy.max_brier_score,
                "at_most",
                policy.max_brier_score_basis,
            ),
        ]
    else:
        wanted.append(("r2", "R²", policy.min_r2, "at_least", policy.min_r2_basis))
    return tuple(
        _check(name, label, metrics.get(name, Estimate(None)), threshold, direction, basis, ci)
        for name, label, threshold, direction, basis in wanted
        if threshold is not None and (task == "regression" or name in metrics)
    )


def _check(
    name: str,
    label: str,
    estimate: Estimate,
    threshold: float,
    direction: Direction,
    basis: str,
    ci: float,
) -> Check:
    status, point = judge(estimate, threshold, direction)
    if estimate.value is None:
        sentence = PERFORMANCE_UNDEFINED_SENTENCE.format(label=label)
    else:
        relation = _RELATION[(direction, point == CheckStatus.passed)]
        sentence = PERFORMANCE_SENTENCE.format(
            label=label, value=estimate.value, relation=relation, threshold=threshold
        )
        if status == CheckStatus.inconclusive:
            sentence += PERFORMANCE_INCONCLUSIVE_SENTENCE.format(
                ci=ci, lower=estimate.lower, upper=estimate.upper
            )
    return Check(
        feature=None,
        name=name,
        label=label,
        status=status,
        point_status=point,
        value=estimate,
        threshold=threshold,
        direction=direction,
        basis=basis,
        sentence=sentence,
    )

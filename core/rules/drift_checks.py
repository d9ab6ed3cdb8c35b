"""Judging a production batch against a tier's monitoring thresholds.

Drift checks read stored drift results (``NumericDrift`` / ``CategoricalDrift`` as dicts);
decay checks compare metrics on labelled production data with the evaluation figures and the
selection-rate ratio between groups with the fairness policy. Each check is one ``Check`` with
a sentence for the people who decide; thresholds set to null are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.rules.checks import Check, Direction, meets
from core.rules.monitoring_policy import MonitoringPolicy
from core.rules.sentences import against
from core.rules.thresholds import FairnessPolicy

__all__ = [
    "CROSSED",
    "HELD",
    "MIN_GROUP_ROWS_CHECKED",
    "crossed",
    "decay_checks",
    "drift_checks",
]

CROSSED = "{label} of {feature} is {value}, {relation} the {threshold} {bound}{reading}."
HELD = "{label} of {feature} is {value}, within the {threshold} {bound}."
#: A group's score is judged only with this many rows in the batch and in the reference: smaller
#: groups give noisy distributions (their statistics are still shown).
MIN_GROUP_ROWS_CHECKED = 100
_RELATION = {"at_most": ("above", "maximum"), "at_least": ("below", "minimum")}

# Drift result field → (threshold, label, direction); the increase of missing values is apart.
_FEATURE_CHECKS: tuple[tuple[str, str, str, Direction], ...] = (
    ("psi", "max_psi", "PSI", "at_most"),
    ("ks_statistic", "max_ks_statistic", "KS statistic", "at_most"),
    ("ks_pvalue", "min_ks_pvalue", "KS p-value", "at_least"),
    ("chi2_pvalue", "min_chi2_pvalue", "Chi-square p-value", "at_least"),
    (
        "out_of_range_share",
        "max_out_of_range_share",
        "Share outside the operating range",
        "at_most",
    ),
    ("unseen_share", "max_unseen_category_share", "Share in unseen categories", "at_most"),
)


def _check(
    *,
    feature: str,
    name: str,
    label: str,
    value: float,
    threshold: float,
    direction: Direction,
    basis: str,
    reading: str = "",
) -> Check:
    ok = meets(value, threshold, direction)
    status = CheckStatus.passed if ok else CheckStatus.failed
    relation, bound = _RELATION[direction]
    words = {
        "label": label,
        "feature": feature,
        "value": against(value, threshold),
        "threshold": f"{threshold:g}",
        "bound": bound,
    }
    sentence = (
        HELD.format(**words)
        if ok
        else CROSSED.format(**words, relation=relation, reading=f" ({reading})" if reading else "")
    )
    return Check(
        feature=feature,
        name=name,
        label=label,
        status=status,
        point_status=status,
        value=Estimate(value),
        threshold=threshold,
        direction=direction,
        basis=basis,
        sentence=sentence,
    )


def _feature_checks(result: Mapping[str, Any], policy: MonitoringPolicy) -> list[Check]:
    feature = str(result["feature"])
    checks = []
    for field, threshold_name, label, direction in _FEATURE_CHECKS:
        value, threshold = result.get(field), policy.value(threshold_name)
        if value is None or threshold is None:
            continue
        reading = f"{result.get('psi_reading')} shift" if field == "psi" else ""
        checks.append(
            _check(
                feature=feature,
                name=threshold_name,
                label=label,
                value=float(value),
                threshold=float(threshold),
                direction=direction,
                basis=policy.basis(threshold_name),
                reading=reading,
            )
        )
    now, before = result.get("missing_rate"), result.get("reference_missing_rate")
    limit = policy.value("max_missing_rate_increase")
    if now is not None and before is not None and limit is not None:
        checks.append(
            _check(
                feature=feature,
                name="max_missing_rate_increase",
                label="Rise in missing values",
                value=float(now) - float(before),
                threshold=float(limit),
                direction="at_most",
                basis=policy.basis("max_missing_rate_increase"),
            )
        )
    return checks


def drift_checks(results: Mapping[str, Any], policy: MonitoringPolicy) -> list[dict[str, Any]]:
    """The policy's checks on a stored drift result: every feature, the score, every group's
    score, and the batch's share of rows with any value outside the operating range."""
    checks: list[Check] = []
    for result in results.get("features", []):
        checks += _feature_checks(result, policy)
    if results.get("score"):
        checks += _feature_checks(results["score"], policy)
    for group in results.get("groups", []):
        if (
            group.get("score")
            and min(group["rows"], group["reference_rows"]) >= MIN_GROUP_ROWS_CHECKED
        ):
            checks += [c for c in _feature_checks(group["score"], policy) if c.name == "max_psi"]
    share, limit = results.get("rows_out_of_range_share"), policy.value("max_out_of_range_share")
    if share is not None and limit is not None:
        checks.append(
            _check(
                feature="the batch",
                name="max_rows_out_of_range_share",
                label="Share of rows with a value outside the operating range",
                value=float(share),
                threshold=float(limit),
                direction="at_most",
                basis=policy.basis("max_out_of_range_share"),
            )
        )
    return [c.to_dict() for c in checks]


def decay_checks(
    *,
    production: Mapping[str, Any],
    evaluation: Mapping[str, float | None],
    policy: MonitoringPolicy,
    fairness: FairnessPolicy,
) -> list[dict[str, Any]]:
    """Checks on labelled production data: each metric's fall from its evaluation figure (where
    higher is better), and each sensitive column's lowest-to-highest selection-rate ratio among
    groups of at least the policy's minimum size."""
    checks: list[Check] = []
    drop = policy.value("max_metric_drop")
    for name, value in (production.get("metrics") or {}).items():
        before = evaluation.get(name)
        if drop is None or value is None or before is None or name not in _HIGHER_IS_BETTER:
            continue
        checks.append(
            _check(
                feature="the batch",
                name="max_metric_drop",
                label=f"Fall of {_HIGHER_IS_BETTER[name]} from evaluation ({before:.3f})",
                value=float(before) - float(value),
                threshold=float(drop),
                direction="at_most",
                basis=policy.basis("max_metric_drop"),
            )
        )
    for column, groups in (production.get("groups") or {}).items():
        rates = [
            g["selection_rate"]
            for g in groups
            if g.get("selection_rate") is not None and g["rows"] >= fairness.min_group_size
        ]
        if len(rates) < 2 or max(rates) == 0:
            continue
        checks.append(
            _check(
                feature=str(column),
                name="min_selection_rate_ratio",
                label="Selection-rate ratio",
                value=min(rates) / max(rates),
                threshold=fairness.min_selection_rate_ratio,
                direction="at_least",
                basis=fairness.min_selection_rate_ratio_basis,
            )
        )
    return [c.to_dict() for c in checks]


_HIGHER_IS_BETTER = {"roc_auc": "ROC AUC", "accuracy": "accuracy", "r2": "R²"}


def crossed(checks: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The checks that failed."""
    return [c for c in checks if c.get("status") == CheckStatus.failed.value]

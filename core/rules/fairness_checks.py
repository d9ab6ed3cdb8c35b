"""Fairness checks: measured fairness judged against a ``FairnessPolicy``, with a sentence each.

Per sensitive column or intersection: the selection-rate ratio to the reference group (the
four-fifths rule, with a sentence per group), the demographic parity difference, the equalized
odds difference and, where the policy sets it, the true-positive-rate gap. Groups below the
minimum size are left out; a check whose interval reaches across its threshold is inconclusive.
Regression results carry no checks: the policy sets no thresholds for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from core.domain import CheckStatus
from core.metrics.fairness import (
    UNDEFINED_SUMMARY,
    FairnessResult,
    FeatureResult,
    MetricInputError,
    compute_fairness,
)
from core.metrics.options import Task
from core.metrics.plain import plain_json
from core.rules.checks import Check, Direction, judge, meets, overall_status
from core.rules.sentences import (
    CHECK_SENTENCE,
    GROUP_RATIO_SENTENCE,
    GROUP_RATIO_UNDEFINED_SENTENCE,
    INSUFFICIENT_SENTENCE,
    NO_INTERVALS_NOTE,
    POINT_ESTIMATE_NOTE,
    REFERENCE_NO_SELECTIONS,
    REFERENCE_TOO_SMALL,
    REGRESSION_CHECKS_NOTE,
    SMALL_GROUP_SENTENCE,
    TOO_FEW_GROUPS,
    against,
    interval,
    number,
    percent,
    status_phrase,
)
from core.rules.thresholds import FairnessPolicy, fairness_policy_problems

__all__ = [
    "OTHER_MIN_GROUP_SIZE",
    "FairnessAssessment",
    "FeatureAssessment",
    "assess_fairness",
    "check_fairness",
    "feature_checks",
]

OTHER_MIN_GROUP_SIZE = (
    "The result was measured with a minimum group size of {measured:,} but the policy sets "
    "{policy:,}; measure again with min_group_size={policy}, or use assess_fairness."
)
FOUR_FIFTHS = "Selection-rate ratio (four-fifths rule)"
#: The limit checks (measured name, label); the policy's ``max_<name>`` and ``max_<name>_basis``
#: hold the threshold and its basis, and a threshold of None skips the check.
LIMITS = (
    ("demographic_parity_difference", "Demographic parity difference"),
    ("equalized_odds_difference", "Equalized odds difference"),
    ("true_positive_rate_gap", "True-positive-rate gap"),
)


@dataclass(frozen=True)
class FeatureAssessment(FeatureResult):
    """A sensitive column's or intersection's figures with the checks made on them."""

    checks: tuple[Check, ...]


@dataclass(frozen=True)
class FairnessAssessment(FairnessResult):
    """Fairness figures with their policy checks, ready to store as evidence."""

    features: tuple[FeatureAssessment, ...]
    policy: FairnessPolicy

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(check for feature in self.features for check in feature.checks)

    @property
    def status(self) -> CheckStatus | None:
        """The roll-up of every check (``core.rules.checks.overall_status``)."""
        return overall_status(check.status for check in self.checks)

    def feature(self, name: str) -> FeatureAssessment:
        return next(f for f in self.features if f.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status": plain_json(self.status)}


def assess_fairness(
    *,
    y_true: Any,
    y_pred: Any,
    sensitive: Mapping[str, Any],
    intersections: bool | Sequence[Sequence[str]] = True,
    reference_groups: Mapping[str, str] | None = None,
    policy: FairnessPolicy | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    task: Task = "classification",
    positive_label: Any = 1,
) -> FairnessAssessment:
    """Measure fairness (``core.metrics.fairness.compute_fairness``) and check it against a
    policy; every problem of the input and the policy is reported at once."""
    policy = FairnessPolicy() if policy is None else policy
    problems = fairness_policy_problems(policy)
    # A bad minimum size is the policy's problem; measure with the default to find the others.
    min_group_size = FairnessPolicy().min_group_size if problems else policy.min_group_size
    try:
        result = compute_fairness(
            y_true=y_true,
            y_pred=y_pred,
            sensitive=sensitive,
            intersections=intersections,
            reference_groups=reference_groups,
            min_group_size=min_group_size,
            n_boot=n_boot,
            seed=seed,
            ci=ci,
            task=task,
            positive_label=positive_label,
        )
    except MetricInputError as err:
        raise MetricInputError([*err.problems, *problems]) from err
    if problems:
        raise MetricInputError(problems)
    return check_fairness(result, policy)


def check_fairness(result: FairnessResult, policy: FairnessPolicy) -> FairnessAssessment:
    """Judge measured fairness against the policy, whose minimum group size it was measured with."""
    if result.min_group_size != policy.min_group_size:
        raise MetricInputError(
            [
                OTHER_MIN_GROUP_SIZE.format(
                    measured=result.min_group_size, policy=policy.min_group_size
                )
            ]
        )
    features = tuple(
        FeatureAssessment(
            **{f.name: getattr(feature, f.name) for f in fields(FeatureResult)},
            checks=feature_checks(feature, policy, ci=result.ci)
            if result.task == "classification"
            else (),
        )
        for feature in result.features
    )
    if result.task == "regression":
        note = REGRESSION_CHECKS_NOTE
    elif result.n_boot:
        note = POINT_ESTIMATE_NOTE.format(ci=result.ci)
    else:
        note = NO_INTERVALS_NOTE
    measured = {
        f.name: getattr(result, f.name)
        for f in fields(FairnessResult)
        if f.name not in ("features", "notes")
    }
    return FairnessAssessment(
        **measured, features=features, notes=(*result.notes, note), policy=policy
    )


def feature_checks(
    feature: FeatureResult, policy: FairnessPolicy, *, ci: float
) -> tuple[Check, ...]:
    """The policy's checks of one sensitive column or intersection (classification)."""
    judge_ = _FeatureJudge(feature, policy, ci)
    checks = [judge_.four_fifths_check()]
    for name, label in LIMITS:
        threshold = getattr(policy, f"max_{name}")
        if threshold is not None:
            basis = getattr(policy, f"max_{name}_basis")
            checks.append(judge_.limit_check(name, label, threshold, basis))
    return tuple(checks)


class _FeatureJudge:
    """What the checks of one feature read from its measured groups."""

    def __init__(self, feature: FeatureResult, policy: FairnessPolicy, ci: float) -> None:
        self.feature, self.policy, self.ci = feature, policy, ci
        self.labels = [g.group for g in feature.groups]
        self.eligible = [g.eligible for g in feature.groups]
        self.reference = (
            None if feature.reference_group is None else self.labels.index(feature.reference_group)
        )

    def _usable(self, metric: str) -> dict[int, float]:
        """The metric of each eligible group where it is defined, in group order."""
        values = self.feature.values(metric)
        return {g: v for g, v in enumerate(values) if self.eligible[g] and v is not None}

    def _extreme(self, metric: str, highest: bool) -> int | None:
        usable = self._usable(metric)
        if not usable:
            return None
        pick = max if highest else min  # the first group on ties, as numpy's argmax and argmin
        return pick(usable, key=usable.__getitem__)

    def _gap(self, metric: str) -> float | None:
        defined = list(self._usable(metric).values())
        return max(defined) - min(defined) if len(defined) >= 2 else None

    def _too_few(self) -> str | None:
        eligible = sum(self.eligible)
        if eligible >= 2:
            return None
        return TOO_FEW_GROUPS.format(eligible=eligible, minimum=self.policy.min_group_size)

    def _check(
        self,
        *,
        name: str,
        label: str,
        threshold: float,
        basis: str,
        direction: Direction,
        reason: str | None,
        context: str,
        details: tuple[str, ...] = (),
    ) -> Check:
        estimate = self.feature.between_groups[name]
        if reason is None and estimate.value is None:
            reason = UNDEFINED_SUMMARY[name]
        status, point = judge(estimate, threshold, direction)
        at_least = direction == "at_least"
        if reason is not None or estimate.value is None:
            status, point = CheckStatus.insufficient_data, None
            sentence = INSUFFICIENT_SENTENCE.format(
                label=label, feature=self.feature.name, reason=reason
            )
        else:
            passed = point == CheckStatus.passed
            relation = (
                ("at or above" if passed else "below")
                if at_least
                else ("within" if passed else "above")
            )
            sentence = CHECK_SENTENCE.format(
                label=label,
                feature=self.feature.name,
                value=against(estimate.value, threshold),
                interval=interval(estimate, self.ci),
                context=context,
                relation=relation,
                threshold=threshold,
                bound="minimum" if at_least else "maximum",
                basis=basis,
                status=status_phrase(status, point, self.ci),
            )
        return Check(
            feature=self.feature.name,
            name=name,
            label=label,
            status=status,
            point_status=point,
            value=estimate,
            threshold=threshold,
            direction=direction,
            basis=basis,
            sentence=sentence,
            details=details,
        )

    def _group_sentences(self) -> tuple[str, ...]:
        policy, ref = self.policy, self.reference
        rates = self.feature.values("selection_rate")
        ratios = self.feature.values("selection_rate_ratio")
        details = []
        for g, group in enumerate(self.feature.groups):
            rate = percent(rates[g] or 0.0)
            if not group.eligible:
                details.append(
                    SMALL_GROUP_SENTENCE.format(
                        feature=self.feature.name,
                        group=group.group,
                        count=group.count,
                        minimum=policy.min_group_size,
                        rate=rate,
                    )
                )
            elif ref is not None and g != ref:
                fields = {
                    "feature": self.feature.name,
                    "group": group.group,
                    "rate": rate,
                    "reference_rate": percent(rates[ref] or 0.0),
                    "reference": self.labels[ref],
                }
                ratio = ratios[g]
                if ratio is None:
                    details.append(GROUP_RATIO_UNDEFINED_SENTENCE.format(**fields))
                    continue
                threshold = policy.min_selection_rate_ratio
                ok = meets(ratio, threshold, "at_least")
                details.append(
                    GROUP_RATIO_SENTENCE.format(
                        **fields,
                        ratio=against(ratio, threshold),
                        relation="at or above" if ok else "below",
                        threshold=threshold,
                    )
                )
        return tuple(details)

    def _four_fifths_reason(self) -> str | None:
        reason, ref = self._too_few(), self.reference
        if reason is not None or ref is None:
            return reason
        group = self.feature.groups[ref]
        if not group.eligible:
            return REFERENCE_TOO_SMALL.format(
                reference=group.group, count=group.count, minimum=self.policy.min_group_size
            )
        if group.metrics["selection_rate"].value == 0:
            return REFERENCE_NO_SELECTIONS.format(reference=group.group)
        return None

    def _lowest_ratio_group(self) -> int | None:
        usable = self._usable("selection_rate_ratio")
        if self.reference is not None:
            usable.pop(self.reference, None)
        if not usable:
            return None
        return min(usable, key=usable.__getitem__)

    def four_fifths_check(self) -> Check:
        rates = self.feature.values("selection_rate")
        context = ""
        lowest, ref = self._lowest_ratio_group(), self.reference
        if ref is not None and lowest is not None:
            context = (
                f", lowest {self.labels[lowest]} at {percent(rates[lowest] or 0.0)} against "
                f"{percent(rates[ref] or 0.0)} for {self.labels[ref]}"
            )
        return self._check(
            name="selection_rate_ratio",
            label=FOUR_FIFTHS,
            threshold=self.policy.min_selection_rate_ratio,
            basis=self.policy.min_selection_rate_ratio_basis,
            direction="at_least",
            reason=self._four_fifths_reason(),
            context=context,
            details=self._group_sentences(),
        )

    def limit_check(self, name: str, label: str, threshold: float, basis: str) -> Check:
        context = ""
        if name == "demographic_parity_difference":
            high = self._extreme("selection_rate", True)
            low = self._extreme("selection_rate", False)
            if high is not None and low is not None and high != low:
                rates = self.feature.values("selection_rate")
                context = (
                    f", between {self.labels[high]} at {percent(rates[high] or 0.0)} and "
                    f"{self.labels[low]} at {percent(rates[low] or 0.0)}"
                )
        elif name == "equalized_odds_difference":
            tpr_gap = self.feature.between_groups["true_positive_rate_gap"].value
            context = (
                f", the larger of the true-positive-rate gap {number(tpr_gap)} and the "
                f"false-positive-rate gap {number(self._gap('false_positive_rate'))}"
            )
        return self._check(
            name=name,
            label=label,
            threshold=threshold,
            basis=basis,
            direction="at_most",
            reason=self._too_few(),
            context=context,
        )

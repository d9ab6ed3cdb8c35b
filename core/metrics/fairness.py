"""Group fairness of a model's decisions: per-group rates, between-group gaps, policy checks.

For every sensitive column and for their intersections (e.g. sex × age band) the result
gives, per group, the count, share, base rate, selection rate, accuracy, true-positive,
false-positive and false-negative rates and precision (regression: mean prediction and
mean absolute error); between groups, the demographic parity difference and ratio, the
equalized odds difference and ratio, the true-positive-rate gap (equal opportunity
difference) and the selection-rate ratio of the four-fifths rule; each with a bootstrap
confidence interval, and checks of them against a ``FairnessPolicy`` with a plain sentence
per check and per group for the people who decide.

Reference: the numbers equal fairlearn's ``MetricFrame`` (``selection_rate``,
``true_positive_rate``, ``false_positive_rate``, ``false_negative_rate``, scikit-learn's
``accuracy_score`` and ``precision_score``) and ``demographic_parity_difference/ratio``,
``equalized_odds_difference/ratio`` on the same data, with one deliberate difference. A
rate whose denominator is zero (the true-positive rate of a group without positives, the
precision of a group without predicted positives, a ratio whose largest rate is zero) is
undefined: None here, where fairlearn and scikit-learn report 0 (sometimes with a warning)
or NaN. An undefined rate takes no part in between-group gaps and ratios, exactly as a NaN
in a ``MetricFrame`` is skipped by its ``difference()`` and ``ratio()``.

Speed: every classification figure is a function of the per-group confusion counts, so
the rows are read once (``core.metrics.counts``) and everything else, intervals included,
is computed from count tables of a few numbers per group.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from core.metrics.bootstrap import (
    Estimate,
    estimate_table,
    make_rng,
    resample_group_cells,
    to_float,
)
from core.metrics.counts import (
    LENGTH_MISMATCH,
    GroupColumn,
    MetricInputError,
    count_cells,
    encode_binary,
    encode_groups,
    encode_numeric,
    group_table,
    is_whole,
    plain_label,
    rates_from_counts,
    sum_cells,
)

__all__ = [
    "ExcludedGroup",
    "FairnessCheck",
    "FairnessPolicy",
    "FairnessResult",
    "FeatureResult",
    "GroupResult",
    "MetricInputError",
    "compute_fairness",
]

Task = Literal["classification", "regression"]
Status = Literal["pass", "fail", "insufficient_data"]

NO_SENSITIVE = "sensitive is empty; pass at least one sensitive column, e.g. {'sex': df['sex']}."
SENSITIVE_NOT_MAPPING = (
    "sensitive is a {kind}; pass a mapping of column name to values, e.g. {{'sex': df['sex']}} "
    "or a DataFrame of the sensitive columns."
)
SENSITIVE_NAME = "sensitive has a column named {name!r} ({kind}); name sensitive columns with text."
SINGLE_GROUP = (
    "Sensitive column {name!r} has a single group ({group!r}); fairness needs at least two "
    "groups to compare: pass a column with two or more values, or drop it."
)
UNKNOWN_TASK = "task is {task!r}; use 'classification' or 'regression'."
BAD_N_BOOT = (
    "n_boot is {value!r}; pass a whole number of bootstrap replicates, 0 to skip intervals."
)
BAD_SEED = "seed is {value!r}; pass a non-negative whole number."
BAD_CI = "ci is {value!r}; pass a confidence level strictly between 0 and 1, e.g. 0.95."
BAD_POLICY = "policy.{field} is {value!r}; {expected}."
UNKNOWN_INTERSECTION_COLUMN = (
    "intersections names {name!r}, which is not a sensitive column; use some of {available}."
)
SHORT_INTERSECTION = (
    "intersections entry {entry!r} has fewer than two distinct columns; "
    "an intersection combines at least two sensitive columns."
)
UNKNOWN_REFERENCE_FEATURE = (
    "reference_groups names {name!r}, which is neither a sensitive column nor an "
    "intersection; use one of {available}."
)
UNKNOWN_REFERENCE_GROUP = (
    "reference_groups[{feature!r}] is {group!r}, which is not a group of {feature!r}; "
    "use one of {available}."
)

MISSING_NOTE = (
    "Sensitive column {name!r} has {count:,} missing values; "
    "they are reported as their own group {label!r}."
)
UNDEFINED_NOTE = "{feature} = {group}: {metric} undefined ({reason})."
POINT_ESTIMATE_NOTE = (
    "Pass and fail compare point estimates with the policy thresholds; "
    "the {ci:.0%} intervals show how far each figure could move by chance."
)
STRATIFIED_NOTE = (
    "Intervals: {n_boot:,} bootstrap replicates, seed {seed}, resampling each group's rows "
    "(group sizes fixed), percentile {ci:.0%} intervals."
)
REGRESSION_INTERVAL_NOTE = (
    "Intervals: normal approximation to the per-group bootstrap of the means "
    "({n_boot:,} replicates, seed {seed}); groups of one row have none."
)
REGRESSION_CHECKS_NOTE = (
    "The policy sets no thresholds for regression; between-group differences are reported "
    "without pass or fail."
)
SMALL_GROUP_REASON = (
    "{count:,} rows, below the minimum group size of {minimum:,}: excluded from pass/fail "
    "and from the between-group summaries, shown for information"
)
REFERENCE_MOST_FAVOURED = "most-favoured group (highest selection rate among eligible groups)"
REFERENCE_CHOSEN = "chosen reference group"

CHECK_SENTENCE = (
    "{label} for {feature}: {value}{interval}{context}; {relation} the {threshold:.2f} policy "
    "{bound}: {status} (basis: {basis})."
)
INSUFFICIENT_SENTENCE = "{label} for {feature} cannot be checked: {reason}."
GROUP_RATIO_SENTENCE = (
    "{feature} = {group} is selected {rate} of the time against {reference_rate} for "
    "{reference}: ratio {ratio}, {relation} the {threshold:.2f} policy threshold."
)
GROUP_RATIO_UNDEFINED_SENTENCE = (
    "{feature} = {group} is selected {rate} of the time against {reference_rate} for "
    "{reference}: ratio undefined (no selections in the reference group)."
)
SMALL_GROUP_SENTENCE = (
    "{feature} = {group} has {count:,} rows, below the minimum group size of {minimum:,}: "
    "excluded from pass/fail (selected {rate} of the time, shown for information)."
)
TOO_FEW_GROUPS = (
    "{eligible} group(s) reach the minimum group size of {minimum:,}; at least two are needed"
)
REFERENCE_TOO_SMALL = (
    "the reference group {reference} has {count:,} rows, below the minimum group size of "
    "{minimum:,}"
)

#: Per-group metrics of classification, with the label used in sentences.
CLASSIFICATION_GROUP_METRICS = {
    "base_rate": "base rate",
    "selection_rate": "selection rate",
    "accuracy": "accuracy",
    "true_positive_rate": "true-positive rate",
    "false_positive_rate": "false-positive rate",
    "false_negative_rate": "false-negative rate",
    "precision": "precision",
    "selection_rate_ratio": "selection-rate ratio to the reference group",
}
#: Why a classification rate can be undefined.
UNDEFINED_BECAUSE = {
    "true_positive_rate": "no positives",
    "false_negative_rate": "no positives",
    "false_positive_rate": "no negatives",
    "precision": "no predicted positives",
    "selection_rate_ratio": "no selections in the reference group",
}
#: Between-group summaries of classification.
CLASSIFICATION_BETWEEN = {
    "demographic_parity_difference": "demographic parity difference",
    "demographic_parity_ratio": "demographic parity ratio",
    "equalized_odds_difference": "equalized odds difference",
    "equalized_odds_ratio": "equalized odds ratio",
    "true_positive_rate_gap": "true-positive-rate gap (equal opportunity difference)",
    "selection_rate_ratio": "lowest selection-rate ratio to the reference group",
}
REGRESSION_GROUP_METRICS = {
    "mean_prediction": "mean prediction",
    "mean_absolute_error": "mean absolute error",
}
REGRESSION_BETWEEN = {
    "mean_prediction_difference": "mean prediction difference (largest minus smallest)",
    "mean_absolute_error_difference": "mean absolute error difference (largest minus smallest)",
}
# Why a between-group value can be undefined even with two eligible groups.
_UNDEFINED_SUMMARY = {
    "selection_rate_ratio": "no eligible group is selected, so the ratio is undefined "
    "(no selections)",
    "demographic_parity_difference": "the selection rate is defined in fewer than two "
    "eligible groups",
    "equalized_odds_difference": "true- and false-positive rates are each undefined "
    "(no positives or no negatives) in all but at most one eligible group",
    "true_positive_rate_gap": "the true-positive rate is undefined (no positives) in all but "
    "at most one eligible group",
}
# Prefix of between-group keys in a combined estimate table.
_BETWEEN = "between:"
# Round-off allowance when a value is compared with a threshold (e.g. 0.8 written as 4/5).
_TOLERANCE = 1e-12


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
    min_group_size: int = 30
    min_group_size_basis: str = "rule of thumb for stable rates; smaller groups give wide intervals"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GroupResult:
    """Figures of one group; ``eligible`` is False below the policy's minimum size."""

    group: str
    count: int
    share: float
    eligible: bool
    metrics: Mapping[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "count": self.count,
            "share": self.share,
            "eligible": self.eligible,
            "metrics": {name: value.to_dict() for name, value in self.metrics.items()},
        }


@dataclass(frozen=True)
class ExcludedGroup:
    """A group left out of pass/fail and of the between-group summaries, and why."""

    group: str
    count: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "count": self.count, "reason": self.reason}


@dataclass(frozen=True)
class FairnessCheck:
    """One policy check: the measured value, the threshold and its basis, the outcome."""

    feature: str
    name: str
    label: str
    status: Status
    value: Estimate
    threshold: float
    direction: Literal["at_least", "at_most"]
    basis: str
    sentence: str
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "value": self.value.to_dict(),
            "threshold": self.threshold,
            "direction": self.direction,
            "basis": self.basis,
            "sentence": self.sentence,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class FeatureResult:
    """Results for one sensitive column or one intersection of columns."""

    name: str
    columns: tuple[str, ...]
    reference_group: str | None
    reference_rule: str | None
    groups: tuple[GroupResult, ...]
    between_groups: Mapping[str, Estimate]
    excluded_groups: tuple[ExcludedGroup, ...]
    checks: tuple[FairnessCheck, ...]
    notes: tuple[str, ...]

    def group(self, label: str) -> GroupResult:
        """The group with this label."""
        return next(g for g in self.groups if g.group == label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": list(self.columns),
            "reference_group": self.reference_group,
            "reference_rule": self.reference_rule,
            "groups": [g.to_dict() for g in self.groups],
            "between_groups": {k: v.to_dict() for k, v in self.between_groups.items()},
            "excluded_groups": [g.to_dict() for g in self.excluded_groups],
            "checks": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class FairnessResult:
    """Fairness of a model's decisions across sensitive groups, ready to store as evidence."""

    task: Task
    n_rows: int
    positive_label: Any
    n_boot: int
    seed: int
    ci: float
    policy: FairnessPolicy
    overall: Mapping[str, Estimate]
    features: tuple[FeatureResult, ...]
    notes: tuple[str, ...]

    @property
    def checks(self) -> tuple[FairnessCheck, ...]:
        return tuple(check for feature in self.features for check in feature.checks)

    @property
    def status(self) -> Status | None:
        """ "fail" if any check fails, else "insufficient_data" if any lacks data, else "pass"."""
        statuses = {check.status for check in self.checks}
        for status in ("fail", "insufficient_data", "pass"):
            if status in statuses:
                return status  # type: ignore[return-value]
        return None

    def feature(self, name: str) -> FeatureResult:
        """The result of one sensitive column or intersection, e.g. ``"sex × age_band"``."""
        return next(f for f in self.features if f.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_rows": self.n_rows,
            "positive_label": self.positive_label,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "ci": self.ci,
            "status": self.status,
            "policy": self.policy.to_dict(),
            "overall": {k: v.to_dict() for k, v in self.overall.items()},
            "features": [f.to_dict() for f in self.features],
            "notes": list(self.notes),
        }


def compute_fairness(
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
) -> FairnessResult:
    """Compare a model's decisions across sensitive groups and check them against a policy.

    Parameters
    ----------
    y_true, y_pred
        Actual outcomes and the model's decisions (0/1, booleans or two labels with
        ``positive_label``); for ``task="regression"``, numbers.
    sensitive
        Sensitive columns by name (a dict of arrays or a DataFrame). Strings, numbers,
        pandas Categoricals and already-coded non-negative integers are accepted; missing
        values become a group named "missing".
    intersections
        True: every pair of columns, and all columns together when there are three or
        more. False: none. Or a list of column-name lists.
    reference_groups
        For the four-fifths rule, the group to compare against per column or intersection
        (e.g. ``{"sex": "male", "sex × age_band": "male × 36–50"}``); by default the
        most-favoured eligible group, i.e. the highest selection rate. Each group's ratio
        is to that group; with the default, the lowest ratio's interval lets the
        most-favoured group change between replicates (it is then the DP ratio's).
    policy
        Thresholds and minimum group size; groups below it are reported, flagged and left
        out of pass/fail and of the between-group summaries.
    n_boot, seed, ci
        Bootstrap replicates (0 skips intervals), seed (recorded), confidence level.
        Classification intervals resample each group's confusion counts from a multinomial
        with the group's size: the stratified bootstrap by group, in which group sizes are
        fixed (a full-row bootstrap would also let group sizes vary). Regression intervals
        use the normal approximation to that bootstrap for means.

    Pass and fail compare point estimates with the thresholds (a ratio within 1e-12 of a
    threshold counts as meeting it); intervals are reported beside them.

    Examples
    --------
    >>> result = compute_fairness(
    ...     y_true=[1, 0, 1, 0] * 20, y_pred=[1, 0, 0, 0] * 20,
    ...     sensitive={"sex": ["f", "m"] * 40}, n_boot=0)
    >>> result.feature("sex").between_groups["demographic_parity_difference"].value
    0.5
    """
    policy = FairnessPolicy() if policy is None else policy
    problems: list[str] = []
    _check_options(task=task, n_boot=n_boot, seed=seed, ci=ci, policy=policy, problems=problems)
    if task == "regression":
        truth = encode_numeric(y_true, name="y_true", problems=problems)
        decisions = encode_numeric(y_pred, name="y_pred", problems=problems)
    else:
        # Wide 0/1 integer arrays are checked while counting, so their rows are read once.
        truth = encode_binary(
            y_true, name="y_true", positive_label=positive_label, problems=problems, defer=True
        )
        decisions = encode_binary(
            y_pred, name="y_pred", positive_label=positive_label, problems=problems, defer=True
        )
    n_rows = len(truth) if truth is not None else None
    if truth is not None and decisions is not None and len(decisions) != n_rows:
        problems.append(
            LENGTH_MISMATCH.format(
                name="y_pred", found=len(decisions), reference="y_true", expected=n_rows
            )
        )
    columns = _encode_sensitive(sensitive, n_rows=n_rows, problems=problems)
    specs = _feature_specs([c.name for c in columns], intersections, problems=problems)
    if problems:
        if task == "classification":
            problems.extend(_label_problems(y_true, y_pred, truth, decisions, positive_label))
        problems.extend(_single_group_problems(columns, tables=None))
        raise MetricInputError(problems)
    assert truth is not None and decisions is not None and n_rows is not None

    if task == "regression":
        pred_shift = float(decisions.mean())
        abs_err = np.abs(decisions - truth)
        err_shift = float(abs_err.mean())
        fine = sum_cells(columns=columns, values=[decisions - pred_shift, abs_err - err_shift])
        count_of = _first_column
    else:
        counted = count_cells(columns=columns, y_true=truth, y_pred=decisions)
        if counted is None:
            raise MetricInputError(
                _label_problems(y_true, y_pred, truth, decisions, positive_label)
            )
        fine = counted
        count_of = _row_counts
    tables = {name: group_table(fine, subset, count_of=count_of) for name, subset in specs.items()}
    problems.extend(_single_group_problems(columns, tables=tables))
    references = _check_references(reference_groups, tables, problems=problems)
    if problems:
        raise MetricInputError(problems)

    features = []
    for name, subset in specs.items():
        labels, totals = tables[name]
        feature_columns = tuple(columns[j].name for j in subset)
        if task == "regression":
            feature = _regression_feature(
                name=name,
                columns=feature_columns,
                labels=labels,
                sums=totals,
                shifts=(pred_shift, err_shift),
                n_rows=n_rows,
                policy=policy,
                n_boot=n_boot,
                seed=seed,
                ci=ci,
            )
        else:
            feature = _classification_feature(
                name=name,
                columns=feature_columns,
                labels=labels,
                counts=totals,
                n_rows=n_rows,
                reference=references.get(name),
                policy=policy,
                n_boot=n_boot,
                seed=seed,
                ci=ci,
            )
        features.append(feature)

    notes = _missing_notes(columns, tables, count_of)
    if task == "regression":
        overall = _regression_overall(fine.values.sum(axis=0), (pred_shift, err_shift))
        if n_boot:
            notes.append(REGRESSION_INTERVAL_NOTE.format(n_boot=n_boot, seed=seed))
        notes.append(REGRESSION_CHECKS_NOTE)
    else:
        overall = _classification_overall(fine.values.sum(axis=0), n_boot, seed, ci)
        if n_boot:
            notes.append(STRATIFIED_NOTE.format(n_boot=n_boot, seed=seed, ci=ci))
        notes.append(POINT_ESTIMATE_NOTE.format(ci=ci))
    return FairnessResult(
        task=task,
        n_rows=n_rows,
        positive_label=plain_label(positive_label),
        n_boot=n_boot,
        seed=seed,
        ci=float(ci),
        policy=policy,
        overall=overall,
        features=tuple(features),
        notes=tuple(notes),
    )


def _label_problems(
    y_true: Any, y_pred: Any, truth: Any, decisions: Any, positive_label: Any
) -> list[str]:
    """Problems of label arrays whose check ``encode_binary`` deferred to counting."""
    problems: list[str] = []
    for name, values, encoded in (("y_true", y_true, truth), ("y_pred", y_pred, decisions)):
        if encoded is not None and encoded.dtype != np.uint8:
            encode_binary(values, name=name, positive_label=positive_label, problems=problems)
    return problems


def _first_column(totals: np.ndarray) -> np.ndarray:
    return totals[:, 0]


def _row_counts(totals: np.ndarray) -> np.ndarray:
    return totals.sum(axis=1)


def _check_options(
    *, task: str, n_boot: Any, seed: Any, ci: Any, policy: FairnessPolicy, problems: list[str]
) -> None:
    if task not in ("classification", "regression"):
        problems.append(UNKNOWN_TASK.format(task=task))
    if not is_whole(n_boot) or n_boot < 0:
        problems.append(BAD_N_BOOT.format(value=n_boot))
    if not is_whole(seed) or seed < 0:
        problems.append(BAD_SEED.format(value=seed))
    if not isinstance(ci, float | int) or not 0 < ci < 1:
        problems.append(BAD_CI.format(value=ci))
    if not 0 <= policy.min_selection_rate_ratio <= 1:
        problems.append(
            BAD_POLICY.format(
                field="min_selection_rate_ratio",
                value=policy.min_selection_rate_ratio,
                expected="pass a ratio between 0 and 1, e.g. 0.8",
            )
        )
    for field in (
        "max_demographic_parity_difference",
        "max_equalized_odds_difference",
        "max_true_positive_rate_gap",
    ):
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


def _encode_sensitive(
    sensitive: Mapping[str, Any], *, n_rows: int | None, problems: list[str]
) -> list[GroupColumn]:
    if not hasattr(sensitive, "items"):
        problems.append(SENSITIVE_NOT_MAPPING.format(kind=type(sensitive).__name__))
        return []
    items = list(sensitive.items())
    if not items:
        problems.append(NO_SENSITIVE)
    columns = []
    for name, values in items:
        if not isinstance(name, str):
            problems.append(SENSITIVE_NAME.format(name=name, kind=type(name).__name__))
            continue
        column = encode_groups(values, name=f"sensitive[{name!r}]", problems=problems)
        if column is None:
            continue
        column = GroupColumn(
            name=name, codes=column.codes, labels=column.labels, missing_code=column.missing_code
        )
        if n_rows is not None and len(column.codes) != n_rows:
            problems.append(
                LENGTH_MISMATCH.format(
                    name=f"sensitive[{name!r}]",
                    found=len(column.codes),
                    reference="y_true",
                    expected=n_rows,
                )
            )
        columns.append(column)
    return columns


def _feature_specs(
    names: list[str], intersections: bool | Sequence[Sequence[str]], *, problems: list[str]
) -> dict[str, tuple[int, ...]]:
    """Feature name -> indices of its columns: each column, then the intersections."""
    subsets: list[tuple[int, ...]] = [(i,) for i in range(len(names))]
    if intersections is True:
        subsets += list(itertools.combinations(range(len(names)), 2))
        if len(names) >= 3:
            subsets.append(tuple(range(len(names))))
    elif intersections is not False:
        for entry in intersections:
            unknown = [n for n in entry if n not in names]
            for name in unknown:
                problems.append(UNKNOWN_INTERSECTION_COLUMN.format(name=name, available=names))
            chosen = sorted({names.index(n) for n in entry if n in names})
            if len(set(entry)) < 2:
                problems.append(SHORT_INTERSECTION.format(entry=list(entry)))
            elif not unknown and tuple(chosen) not in subsets:
                subsets.append(tuple(chosen))
    return {" × ".join(names[i] for i in subset): subset for subset in subsets}


def _single_group_problems(
    columns: list[GroupColumn], *, tables: Mapping[str, tuple[list[str], np.ndarray]] | None
) -> list[str]:
    problems = []
    for column in columns:
        if tables is not None:
            labels = tables[column.name][0]
        else:
            used = np.flatnonzero(np.bincount(column.codes, minlength=len(column.labels)))
            labels = [column.labels[i] for i in used]
        if len(labels) == 1:
            problems.append(SINGLE_GROUP.format(name=column.name, group=labels[0]))
    return problems


def _check_references(
    reference_groups: Mapping[str, Any] | None,
    tables: Mapping[str, tuple[list[str], np.ndarray]],
    *,
    problems: list[str],
) -> dict[str, str]:
    references: dict[str, str] = {}
    for feature, group in (reference_groups or {}).items():
        if feature not in tables:
            problems.append(UNKNOWN_REFERENCE_FEATURE.format(name=feature, available=list(tables)))
            continue
        labels = tables[feature][0]
        if str(group) not in labels:
            problems.append(
                UNKNOWN_REFERENCE_GROUP.format(feature=feature, group=group, available=labels)
            )
            continue
        references[feature] = str(group)
    return references


def _missing_notes(
    columns: list[GroupColumn],
    tables: Mapping[str, tuple[list[str], np.ndarray]],
    count_of: Any,
) -> list[str]:
    notes = []
    for column in columns:
        if column.missing_code is None:
            continue
        label = column.labels[column.missing_code]
        labels, totals = tables[column.name]
        if label in labels:
            count = int(count_of(totals)[labels.index(label)])
            notes.append(MISSING_NOTE.format(name=column.name, count=count, label=label))
    return notes


def _spread(values: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest minus smallest, and smallest over largest, over eligible defined groups.

    ``values`` has groups on its first axis (replicates, if any, after it); NaN where fewer
    than two groups are defined, and the ratio also where the largest value is zero.
    """
    usable = _along_groups(eligible, values) & ~np.isnan(values)
    enough = np.count_nonzero(usable, axis=0) >= 2
    high = np.where(usable, values, -np.inf).max(axis=0)
    low = np.where(usable, values, np.inf).min(axis=0)
    difference = np.full(np.shape(high), np.nan)
    np.subtract(high, low, out=difference, where=enough)
    ratio = np.full(np.shape(high), np.nan)
    np.divide(low, high, out=ratio, where=enough & (high > 0))
    return difference, ratio


def _along_groups(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A per-group mask shaped to broadcast against ``values`` (groups on axis 0)."""
    return mask.reshape(mask.shape + (1,) * (values.ndim - 1))


def _ratio_to(values: np.ndarray, reference: int | None) -> np.ndarray:
    out = np.full(np.shape(values), np.nan)
    if reference is None:
        return out
    denominator = values[reference : reference + 1]
    np.divide(values, denominator, out=out, where=denominator > 0)
    return out


def _between_classification(
    rates: Mapping[str, np.ndarray], eligible: np.ndarray, reference: int | None, chosen: bool
) -> dict[str, np.ndarray]:
    """Between-group summaries of rates with groups on axis 0 (replicates after it)."""
    stacked = np.stack(
        [rates["selection_rate"], rates["true_positive_rate"], rates["false_positive_rate"]],
        axis=1,
    )
    gaps, ratios_of_extremes = _spread(stacked, eligible)
    dp_difference, tpr_gap, fpr_gap = gaps
    dp_ratio, tpr_ratio, fpr_ratio = ratios_of_extremes
    if not chosen:
        lowest_ratio = dp_ratio
    elif reference is not None and eligible[reference]:
        others = eligible.copy()
        others[reference] = False
        ratios = rates["selection_rate_ratio"]
        usable = _along_groups(others, ratios) & ~np.isnan(ratios)
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
        # Components, used in sentences only.
        "false_positive_rate_gap": fpr_gap,
    }


def _replicate_rates(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Rates of ``(R, groups, 4)`` replicate counts, as ``(groups, R)`` arrays."""
    cells = np.ascontiguousarray(np.transpose(draws, (2, 1, 0)), dtype=np.float64)
    return rates_from_counts(cells, axis=0)


def _excluded_groups(
    labels: Sequence[str], sizes: np.ndarray, eligible: np.ndarray, policy: FairnessPolicy
) -> tuple[ExcludedGroup, ...]:
    """The groups below the policy's minimum size, each with the reason it is left out."""
    return tuple(
        ExcludedGroup(
            group=labels[g],
            count=int(sizes[g]),
            reason=SMALL_GROUP_REASON.format(count=int(sizes[g]), minimum=policy.min_group_size),
        )
        for g in np.flatnonzero(~eligible)
    )


def _classification_feature(
    *,
    name: str,
    columns: tuple[str, ...],
    labels: list[str],
    counts: np.ndarray,
    n_rows: int,
    reference: str | None,
    policy: FairnessPolicy,
    n_boot: int,
    seed: int,
    ci: float,
) -> FeatureResult:
    sizes = counts.sum(axis=1)
    eligible = sizes >= policy.min_group_size
    rates = rates_from_counts(counts)
    replicates = None
    if n_boot:
        draws = resample_group_cells(counts, n_boot=n_boot, rng=make_rng(seed, name))
        replicates = _replicate_rates(draws)

    chosen = reference is not None
    if reference is not None:
        ref: int | None = labels.index(reference)
    elif eligible.any():
        candidates = np.flatnonzero(eligible)
        ref = int(candidates[np.argmax(rates["selection_rate"][candidates])])
    else:
        ref = None
    rates["selection_rate_ratio"] = _ratio_to(rates["selection_rate"], ref)
    if replicates is not None:
        replicates["selection_rate_ratio"] = _ratio_to(replicates["selection_rate"], ref)

    point = _between_classification(rates, eligible, ref, chosen)
    spread = None
    if replicates is not None:
        spread = _between_classification(replicates, eligible, ref, chosen)
    # One table, so that a single sort of the replicates serves every interval.
    values = {metric: rates[metric] for metric in CLASSIFICATION_GROUP_METRICS}
    values |= {_BETWEEN + key: point[key] for key in CLASSIFICATION_BETWEEN}
    draws_by_key = None
    if replicates is not None and spread is not None:
        draws_by_key = {metric: replicates[metric] for metric in CLASSIFICATION_GROUP_METRICS}
        draws_by_key |= {_BETWEEN + key: spread[key] for key in CLASSIFICATION_BETWEEN}
    table = estimate_table(values, draws_by_key, ci=ci)
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
    between = {key: table[_BETWEEN + key][0] for key in CLASSIFICATION_BETWEEN}

    excluded = _excluded_groups(labels, sizes, eligible, policy)
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
    context = _Context(
        feature=name,
        labels=labels,
        sizes=sizes,
        eligible=eligible,
        rates=rates,
        point=point,
        between=between,
        reference=ref,
        policy=policy,
        ci=ci,
    )
    checks = [
        context.four_fifths_check(),
        context.limit_check(
            "demographic_parity_difference",
            "Demographic parity difference",
            policy.max_demographic_parity_difference,
            policy.max_demographic_parity_difference_basis,
        ),
        context.limit_check(
            "equalized_odds_difference",
            "Equalized odds difference",
            policy.max_equalized_odds_difference,
            policy.max_equalized_odds_difference_basis,
        ),
    ]
    if policy.max_true_positive_rate_gap is not None:
        checks.append(
            context.limit_check(
                "true_positive_rate_gap",
                "True-positive-rate gap",
                policy.max_true_positive_rate_gap,
                policy.max_true_positive_rate_gap_basis,
            )
        )
    return FeatureResult(
        name=name,
        columns=columns,
        reference_group=None if ref is None else labels[ref],
        reference_rule=(REFERENCE_CHOSEN if chosen else REFERENCE_MOST_FAVOURED)
        if ref is not None
        else None,
        groups=groups,
        between_groups=between,
        excluded_groups=excluded,
        checks=tuple(checks),
        notes=tuple(notes),
    )


def _pct(rate: float) -> str:
    """A rate as a percentage, with a decimal where whole percents would mislead."""
    percent = 100 * rate
    if 10 <= percent <= 99 or percent in (0, 100):
        return f"{percent:.0f}%"
    return f"{percent:.1f}%"


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def _against(value: float, threshold: float) -> str:
    """The value with two decimals, or more where two would read as the threshold itself
    (a ratio of 0.799 must not read "0.80, below the 0.80 minimum")."""
    for decimals in range(2, 7):
        text = f"{value:.{decimals}f}"
        if abs(value - threshold) <= _TOLERANCE or text != f"{threshold:.{decimals}f}":
            return text
    return text


@dataclass(frozen=True)
class _Context:
    """What the check sentences of one feature need."""

    feature: str
    labels: list[str]
    sizes: np.ndarray
    eligible: np.ndarray
    rates: Mapping[str, np.ndarray]
    point: Mapping[str, np.ndarray]
    between: Mapping[str, Estimate]
    reference: int | None
    policy: FairnessPolicy
    ci: float

    def _interval(self, estimate: Estimate) -> str:
        if estimate.lower is None or estimate.upper is None:
            return ""
        return f" ({self.ci:.0%} CI {estimate.lower:.2f} to {estimate.upper:.2f})"

    def _too_few(self) -> str | None:
        eligible = int(self.eligible.sum())
        if eligible >= 2:
            return None
        return TOO_FEW_GROUPS.format(eligible=eligible, minimum=self.policy.min_group_size)

    def _judge(
        self,
        *,
        name: str,
        label: str,
        threshold: float,
        basis: str,
        at_least: bool,
        reason: str | None,
        context: str,
        details: tuple[str, ...] = (),
    ) -> FairnessCheck:
        estimate = self.between[name]
        direction: Literal["at_least", "at_most"] = "at_least" if at_least else "at_most"
        if reason is None and estimate.value is None:
            reason = _UNDEFINED_SUMMARY[name]
        if reason is not None or estimate.value is None:
            sentence = INSUFFICIENT_SENTENCE.format(
                label=label, feature=self.feature, reason=reason
            )
            return FairnessCheck(
                feature=self.feature,
                name=name,
                label=label,
                status="insufficient_data",
                value=estimate,
                threshold=threshold,
                direction=direction,
                basis=basis,
                sentence=sentence,
                details=details,
            )
        value = estimate.value
        if at_least:
            passed = value >= threshold - _TOLERANCE
            relation = "at or above" if passed else "below"
        else:
            passed = value <= threshold + _TOLERANCE
            relation = "within" if passed else "above"
        status: Status = "pass" if passed else "fail"
        sentence = CHECK_SENTENCE.format(
            label=label,
            feature=self.feature,
            value=_against(value, threshold),
            interval=self._interval(estimate),
            context=context,
            relation=relation,
            threshold=threshold,
            bound="minimum" if at_least else "maximum",
            basis=basis,
            status=status,
        )
        return FairnessCheck(
            feature=self.feature,
            name=name,
            label=label,
            status=status,
            value=estimate,
            threshold=threshold,
            direction=direction,
            basis=basis,
            sentence=sentence,
            details=details,
        )

    def _extreme(self, metric: str, highest: bool) -> int | None:
        values = self.rates[metric]
        usable = np.flatnonzero(self.eligible & ~np.isnan(values))
        if len(usable) == 0:
            return None
        pick = np.argmax(values[usable]) if highest else np.argmin(values[usable])
        return int(usable[pick])

    def four_fifths_check(self) -> FairnessCheck:
        policy = self.policy
        rates = self.rates["selection_rate"]
        ratios = self.rates["selection_rate_ratio"]
        ref = self.reference
        details = []
        rate_list, ratio_list = rates.tolist(), ratios.tolist()
        for g, (label, eligible, size) in enumerate(
            zip(self.labels, self.eligible.tolist(), self.sizes.tolist(), strict=True)
        ):
            rate, ratio = _pct(rate_list[g]), ratio_list[g]
            if not eligible:
                details.append(
                    SMALL_GROUP_SENTENCE.format(
                        feature=self.feature,
                        group=label,
                        count=size,
                        minimum=policy.min_group_size,
                        rate=rate,
                    )
                )
            elif ref is not None and g != ref:
                fields = {
                    "feature": self.feature,
                    "group": label,
                    "rate": rate,
                    "reference_rate": _pct(rate_list[ref]),
                    "reference": self.labels[ref],
                }
                if ratio != ratio:  # NaN: undefined
                    details.append(GROUP_RATIO_UNDEFINED_SENTENCE.format(**fields))
                else:
                    ok = ratio >= policy.min_selection_rate_ratio - _TOLERANCE
                    details.append(
                        GROUP_RATIO_SENTENCE.format(
                            **fields,
                            ratio=_against(ratio, policy.min_selection_rate_ratio),
                            relation="at or above" if ok else "below",
                            threshold=policy.min_selection_rate_ratio,
                        )
                    )
        reason = self._too_few()
        if reason is None and ref is not None and not self.eligible[ref]:
            reason = REFERENCE_TOO_SMALL.format(
                reference=self.labels[ref],
                count=int(self.sizes[ref]),
                minimum=policy.min_group_size,
            )
        if reason is None and ref is not None and rates[ref] == 0:
            reason = (
                f"the reference group {self.labels[ref]} has no selections, so the ratio is "
                "undefined (no selections)"
            )
        context = ""
        lowest = self._lowest_ratio_group()
        if ref is not None and lowest is not None:
            context = (
                f", lowest {self.labels[lowest]} at {_pct(float(rates[lowest]))} against "
                f"{_pct(float(rates[ref]))} for {self.labels[ref]}"
            )
        return self._judge(
            name="selection_rate_ratio",
            label="Selection-rate ratio (four-fifths rule)",
            threshold=policy.min_selection_rate_ratio,
            basis=policy.min_selection_rate_ratio_basis,
            at_least=True,
            reason=reason,
            context=context,
            details=tuple(details),
        )

    def _lowest_ratio_group(self) -> int | None:
        ratios = self.rates["selection_rate_ratio"]
        usable = self.eligible & ~np.isnan(ratios)
        if self.reference is not None:
            usable[self.reference] = False
        if not usable.any():
            return None
        candidates = np.flatnonzero(usable)
        return int(candidates[np.argmin(ratios[candidates])])

    def limit_check(self, name: str, label: str, threshold: float, basis: str) -> FairnessCheck:
        context = ""
        if name == "demographic_parity_difference":
            high = self._extreme("selection_rate", True)
            low = self._extreme("selection_rate", False)
            if high is not None and low is not None and high != low:
                rates = self.rates["selection_rate"]
                context = (
                    f", between {self.labels[high]} at {_pct(float(rates[high]))} and "
                    f"{self.labels[low]} at {_pct(float(rates[low]))}"
                )
        elif name == "equalized_odds_difference":
            tpr_gap = to_float(self.point["true_positive_rate_gap"])
            fpr_gap = to_float(self.point["false_positive_rate_gap"])
            context = (
                f", the larger of the true-positive-rate gap {_number(tpr_gap)} and the "
                f"false-positive-rate gap {_number(fpr_gap)}"
            )
        return self._judge(
            name=name,
            label=label,
            threshold=threshold,
            basis=basis,
            at_least=False,
            reason=self._too_few(),
            context=context,
        )


def _classification_overall(
    counts: np.ndarray, n_boot: int, seed: int, ci: float
) -> dict[str, Estimate]:
    rates = rates_from_counts(counts[np.newaxis])
    replicates = None
    if n_boot:
        draws = resample_group_cells(
            counts[np.newaxis], n_boot=n_boot, rng=make_rng(seed, "overall")
        )
        replicates = _replicate_rates(draws)
    keys = [k for k in CLASSIFICATION_GROUP_METRICS if k != "selection_rate_ratio"]
    table = estimate_table(
        {key: rates[key] for key in keys},
        None if replicates is None else {key: replicates[key] for key in keys},
        ci=ci,
    )
    return {key: table[key][0] for key in keys}


def _means(
    sums: np.ndarray, shifts: tuple[float, float]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Means and their standard errors from ``sum_cells`` totals of centred arrays."""
    n = sums[:, 0]
    means, errors = {}, {}
    for i, (key, shift) in enumerate(zip(REGRESSION_GROUP_METRICS, shifts, strict=True)):
        total, squares = sums[:, 1 + 2 * i], sums[:, 2 + 2 * i]
        means[key] = shift + total / n
        spread = np.maximum(squares - total * total / n, 0.0)
        variance = np.full(n.shape, np.nan)
        np.divide(spread, n - 1, out=variance, where=n > 1)
        errors[key] = np.sqrt(variance / n)
    return means, errors


def _regression_overall(sums: np.ndarray, shifts: tuple[float, float]) -> dict[str, Estimate]:
    means, _ = _means(sums[np.newaxis], shifts)
    return {key: Estimate(to_float(values[0])) for key, values in means.items()}


def _regression_feature(
    *,
    name: str,
    columns: tuple[str, ...],
    labels: list[str],
    sums: np.ndarray,
    shifts: tuple[float, float],
    n_rows: int,
    policy: FairnessPolicy,
    n_boot: int,
    seed: int,
    ci: float,
) -> FeatureResult:
    sizes = sums[:, 0].astype(np.int64)
    eligible = sizes >= policy.min_group_size
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
        values[_BETWEEN + key] = _spread(means[metric], eligible)[0]
        if draws_by_key is not None and replicates is not None:
            draws_by_key[_BETWEEN + key] = _spread(replicates[metric], eligible)[0]
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
    excluded = _excluded_groups(labels, sizes, eligible, policy)
    return FeatureResult(
        name=name,
        columns=columns,
        reference_group=None,
        reference_rule=None,
        groups=groups,
        between_groups=between,
        excluded_groups=excluded,
        checks=(),
        notes=(),
    )

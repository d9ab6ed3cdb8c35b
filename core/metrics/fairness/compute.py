"""``compute_fairness``: a model's decisions compared across sensitive groups and intersections."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.metrics.bootstrap import Estimate
from core.metrics.counts import FineTable, count_cells, group_table, sum_cells
from core.metrics.fairness.classification import classification_feature, classification_overall
from core.metrics.fairness.inputs import (
    check_options,
    check_references,
    encode_sensitive,
    feature_specs,
    first_column,
    label_problems,
    missing_notes,
    row_counts,
    single_group_problems,
)
from core.metrics.fairness.messages import REGRESSION_INTERVAL_NOTE, STRATIFIED_NOTE
from core.metrics.fairness.regression import regression_feature, regression_overall
from core.metrics.fairness.results import FairnessResult, FeatureResult
from core.metrics.inputs import (
    LENGTH_MISMATCH,
    GroupColumn,
    MetricInputError,
    encode_binary,
    encode_numeric,
)
from core.metrics.options import Task
from core.metrics.plain import plain_label

__all__ = ["DEFAULT_MIN_GROUP_SIZE", "compute_fairness"]

#: Groups with fewer rows are reported but left out of between-group summaries and checks.
DEFAULT_MIN_GROUP_SIZE = 30


@dataclass(frozen=True, eq=False)
class _Counted:
    """The finest partition's totals, how to read a group's row count, regression centring."""

    fine: FineTable
    count_of: Callable[[np.ndarray], np.ndarray]
    shifts: tuple[float, float] = (0.0, 0.0)


def compute_fairness(
    *,
    y_true: Any,
    y_pred: Any,
    sensitive: Mapping[str, Any],
    intersections: bool | Sequence[Sequence[str]] = True,
    reference_groups: Mapping[str, str] | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    task: Task = "classification",
    positive_label: Any = 1,
) -> FairnessResult:
    """Measure a model's decisions across sensitive groups, with bootstrap intervals.

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
        For the selection-rate ratio, the group to compare against per column or
        intersection (e.g. ``{"sex": "male", "sex × age_band": "male × 36–50"}``); by default
        the most-favoured eligible group, i.e. the highest selection rate. Each group's ratio
        is to that group; with the default, the lowest ratio's interval lets the
        most-favoured group change between replicates (it is then the DP ratio's).
    min_group_size
        Groups with fewer rows are reported, flagged and left out of the between-group
        summaries (and of pass/fail, ``core.rules.fairness_checks``).
    n_boot, seed, ci
        Bootstrap replicates (0 skips intervals), seed (recorded), confidence level.
        Classification intervals resample each group's confusion counts from a multinomial
        with the group's size: the stratified bootstrap by group, in which group sizes are
        fixed (a full-row bootstrap would also let group sizes vary). Regression intervals
        use the normal approximation to that bootstrap for means.

    Examples
    --------
    >>> result = compute_fairness(
    ...     y_true=[1, 0, 1, 0] * 20, y_pred=[1, 0, 0, 0] * 20,
    ...     sensitive={"sex": ["f", "m"] * 40}, n_boot=0)
    >>> result.feature("sex").between_groups["demographic_parity_difference"].value
    0.5
    """
    problems: list[str] = []
    check_options(
        task=task,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        min_group_size=min_group_size,
        problems=problems,
    )
    truth, decisions = _encode_outcomes(task, y_true, y_pred, positive_label, problems)
    n_rows = len(truth) if truth is not None else None
    columns = encode_sensitive(sensitive, n_rows=n_rows, problems=problems)
    specs = feature_specs([c.name for c in columns], intersections, problems=problems)
    if problems:
        if task == "classification":
            problems.extend(label_problems(y_true, y_pred, truth, decisions, positive_label))
        problems.extend(single_group_problems(columns, tables=None))
        raise MetricInputError(problems)
    assert truth is not None and decisions is not None and n_rows is not None

    counted = _count(task, columns, truth, decisions)
    if counted is None:
        raise MetricInputError(label_problems(y_true, y_pred, truth, decisions, positive_label))
    tables = {
        name: group_table(counted.fine, subset, count_of=counted.count_of)
        for name, subset in specs.items()
    }
    problems.extend(single_group_problems(columns, tables=tables))
    references = check_references(reference_groups, tables, problems=problems)
    if problems:
        raise MetricInputError(problems)

    features = tuple(
        _feature(
            name,
            tuple(columns[j].name for j in subset),
            tables[name],
            counted,
            task=task,
            n_rows=n_rows,
            reference=references.get(name),
            min_group_size=min_group_size,
            n_boot=n_boot,
            seed=seed,
            ci=ci,
        )
        for name, subset in specs.items()
    )
    overall, notes = _overall(task, counted, n_boot=n_boot, seed=seed, ci=ci)
    return FairnessResult(
        task=task,
        n_rows=n_rows,
        positive_label=plain_label(positive_label),
        n_boot=n_boot,
        seed=seed,
        ci=float(ci),
        min_group_size=min_group_size,
        overall=overall,
        features=features,
        notes=(*missing_notes(columns, tables, counted.count_of), *notes),
    )


def _encode_outcomes(
    task: str, y_true: Any, y_pred: Any, positive_label: Any, problems: list[str]
) -> tuple[np.ndarray | None, np.ndarray | None]:
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
    if truth is not None and decisions is not None and len(decisions) != len(truth):
        problems.append(
            LENGTH_MISMATCH.format(
                name="y_pred", found=len(decisions), reference="y_true", expected=len(truth)
            )
        )
    return truth, decisions


def _count(
    task: str, columns: list[GroupColumn], truth: np.ndarray, decisions: np.ndarray
) -> _Counted | None:
    """Totals of the finest partition; None if a deferred label check fails while counting."""
    if task == "regression":
        pred_shift = float(decisions.mean())
        abs_err = np.abs(decisions - truth)
        err_shift = float(abs_err.mean())
        fine = sum_cells(columns=columns, values=[decisions - pred_shift, abs_err - err_shift])
        return _Counted(fine=fine, count_of=first_column, shifts=(pred_shift, err_shift))
    counted = count_cells(columns=columns, y_true=truth, y_pred=decisions)
    return None if counted is None else _Counted(fine=counted, count_of=row_counts)


def _feature(
    name: str,
    columns: tuple[str, ...],
    table: tuple[list[str], np.ndarray],
    counted: _Counted,
    *,
    task: str,
    n_rows: int,
    reference: str | None,
    min_group_size: int,
    n_boot: int,
    seed: int,
    ci: float,
) -> FeatureResult:
    labels, totals = table
    if task == "regression":
        return regression_feature(
            name=name,
            columns=columns,
            labels=labels,
            sums=totals,
            shifts=counted.shifts,
            n_rows=n_rows,
            min_group_size=min_group_size,
            n_boot=n_boot,
            seed=seed,
            ci=ci,
        )
    return classification_feature(
        name=name,
        columns=columns,
        labels=labels,
        counts=totals,
        n_rows=n_rows,
        reference=reference,
        min_group_size=min_group_size,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
    )


def _overall(
    task: str, counted: _Counted, *, n_boot: int, seed: int, ci: float
) -> tuple[dict[str, Estimate], list[str]]:
    """Figures of all rows together and the note on how intervals were made."""
    totals = counted.fine.values.sum(axis=0)
    if task == "regression":
        notes = [REGRESSION_INTERVAL_NOTE.format(n_boot=n_boot, seed=seed)] if n_boot else []
        return regression_overall(totals, counted.shifts), notes
    notes = [STRATIFIED_NOTE.format(n_boot=n_boot, seed=seed, ci=ci)] if n_boot else []
    return classification_overall(totals, n_boot, seed, ci), notes

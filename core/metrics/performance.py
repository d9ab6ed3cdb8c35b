"""Model performance, overall and per segment, with bootstrap confidence intervals.

Classification: accuracy, precision, recall, F1 and the confusion matrix at the chosen
threshold; from scores, ROC AUC, Gini (2·AUC − 1), the KS statistic, log loss, Brier score
and a calibration table (reliability by decile of the predicted score). Regression: MAE,
RMSE, R² and quantiles of the absolute error. Values equal scikit-learn's
(``accuracy_score``, ``precision_recall_fscore_support``, ``roc_auc_score``, ``log_loss``,
``brier_score_loss``, ``confusion_matrix``, ``calibration_curve(strategy="quantile")``,
``mean_absolute_error``, ``root_mean_squared_error``, ``r2_score``) and, for KS,
``scipy.stats.ks_2samp``; where those return 0 or NaN for an undefined value (precision
without predicted positives, AUC with one class, R² of a constant target) the value here
is None, with a note saying why.

Intervals come from a row bootstrap computed on cells: rows with the same score, label and
decision are one cell, a replicate is a vector of cell counts (an exact draw of ``n`` rows
with replacement), and every metric of a replicate is computed from those counts, AUC and
KS by the Mann–Whitney count over sorted score levels. A replicate costs a few passes over
the cells; segments are bootstrapped within themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.metrics.bootstrap import make_rng
from core.metrics.inputs import (
    LENGTH_MISMATCH,
    GroupColumn,
    MetricInputError,
    encode_binary,
    encode_group_columns,
    encode_numeric,
)
from core.metrics.options import Task, check_bootstrap_options, check_task
from core.metrics.performance_results import (
    CalibrationBin,
    PerformanceResult,
    PerformanceSummary,
    SegmentResult,
)
from core.metrics.performance_summary import (
    CLASSIFICATION_METRICS,
    HARD_SCORES_NOTE,
    ONE_CLASS_NOTE,
    REGRESSION_METRICS,
    classification_summary,
    regression_summary,
)
from core.metrics.plain import is_whole, plain_label

__all__ = [
    "CLASSIFICATION_METRICS",
    "HARD_SCORES_NOTE",
    "NO_PREDICTIONS",
    "ONE_CLASS_NOTE",
    "REGRESSION_METRICS",
    "CalibrationBin",
    "MetricInputError",
    "PerformanceResult",
    "PerformanceSummary",
    "SegmentResult",
    "compute_performance",
]

NO_PREDICTIONS = "Neither y_score nor y_pred was given; pass scores (with a threshold) or labels."
REGRESSION_SCORE = "y_score is for classification; for regression pass the predictions as y_pred."
REGRESSION_NEEDS_PRED = "y_pred is missing; regression needs the model's predictions."
BAD_THRESHOLD = "threshold is {value!r}; pass a number, e.g. 0.5."
BAD_N_BINS = "n_bins is {value!r}; pass a whole number of calibration bins of at least 2."
SEGMENT_NAME = "segments has a column named {name!r} ({kind}); name segment columns with text."

THRESHOLD_NOTE = "y_pred was given, so the threshold was not applied; decisions are y_pred."
NO_SCORE_NOTE = (
    "No y_score given: ROC AUC, Gini, KS, log loss, Brier score and calibration need scores."
)
MISSING_SEGMENT_NOTE = (
    "Segment column {name!r} has {count:,} missing values; "
    "they are reported as their own segment {label!r}."
)
INTERVAL_NOTE = (
    "Intervals: {n_boot:,} bootstrap replicates of the rows (within each segment for "
    "segments), seed {seed}, percentile {ci:.0%} intervals."
)


def compute_performance(
    *,
    y_true: Any,
    y_score: Any = None,
    y_pred: Any = None,
    task: Task = "classification",
    threshold: float = 0.5,
    positive_label: Any = 1,
    segments: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    n_bins: int = 10,
) -> PerformanceResult:
    """Measure a model's performance overall and per segment, with bootstrap intervals.

    Parameters
    ----------
    y_true
        Actual outcomes: two classes (0/1, booleans, or labels with ``positive_label``) or,
        for regression, numbers.
    y_score
        Classification scores of the positive class (probabilities for log loss, Brier
        score and calibration). Decisions are ``y_score >= threshold`` unless ``y_pred``
        is given.
    y_pred
        Decisions (classification) or predictions (regression).
    segments
        Columns to break the metrics down by (any categorical column); missing values form
        a segment named "missing".
    n_boot, seed, ci
        Bootstrap replicates (0 skips intervals), seed (recorded), confidence level.
    n_bins
        Calibration bins, by quantile of the score (10: deciles).
    """
    problems: list[str] = []
    check_task(task, problems)
    check_bootstrap_options(n_boot=n_boot, seed=seed, ci=ci, problems=problems)
    _check_threshold_options(threshold=threshold, n_bins=n_bins, problems=problems)
    arrays = _encode_arrays(
        task=task,
        y_true=y_true,
        y_score=y_score,
        y_pred=y_pred,
        positive_label=positive_label,
        problems=problems,
    )
    columns = _encode_segments(segments, n_rows=arrays.n_rows, problems=problems)
    if problems:
        raise MetricInputError(problems)
    assert arrays.truth is not None
    n_rows = len(arrays.truth)

    notes: list[str] = []
    used_threshold: float | None = None
    if task == "classification":
        if arrays.decisions is None:
            assert arrays.score is not None
            arrays = arrays.deciding((arrays.score >= threshold).view(np.uint8))
            used_threshold = float(threshold)
        elif arrays.score is not None:
            notes.append(THRESHOLD_NOTE)
        if arrays.score is None:
            notes.append(NO_SCORE_NOTE)
    options = _Options(task=task, n_boot=n_boot, seed=seed, ci=ci, n_bins=n_bins)
    overall = _summarise(arrays, None, key="overall", scope="", options=options, notes=notes)
    segment_results = _segment_results(arrays, columns, options=options, notes=notes)
    if n_boot:
        notes.append(INTERVAL_NOTE.format(n_boot=n_boot, seed=seed, ci=ci))
    return PerformanceResult(
        task=task,
        n_rows=n_rows,
        threshold=used_threshold,
        positive_label=plain_label(positive_label),
        n_boot=n_boot,
        seed=seed,
        ci=float(ci),
        overall=overall,
        segments=segment_results,
        notes=tuple(notes),
    )


@dataclass(frozen=True, eq=False)
class _Arrays:
    """The encoded inputs; None where an input was not given or could not be used."""

    truth: np.ndarray | None
    score: np.ndarray | None
    decisions: np.ndarray | None

    @property
    def n_rows(self) -> int | None:
        return None if self.truth is None else len(self.truth)

    def deciding(self, decisions: np.ndarray) -> _Arrays:
        return _Arrays(truth=self.truth, score=self.score, decisions=decisions)


@dataclass(frozen=True)
class _Options:
    task: Task
    n_boot: int
    seed: int
    ci: float
    n_bins: int


def _check_threshold_options(*, threshold: Any, n_bins: Any, problems: list[str]) -> None:
    if not isinstance(threshold, float | int | np.number) or not np.isfinite(threshold):
        problems.append(BAD_THRESHOLD.format(value=threshold))
    if not is_whole(n_bins) or n_bins < 2:
        problems.append(BAD_N_BINS.format(value=n_bins))


def _encode_arrays(
    *,
    task: str,
    y_true: Any,
    y_score: Any,
    y_pred: Any,
    positive_label: Any,
    problems: list[str],
) -> _Arrays:
    score = decisions = None
    if task == "regression":
        truth = encode_numeric(y_true, name="y_true", problems=problems)
        if y_score is not None:
            problems.append(REGRESSION_SCORE)
        if y_pred is None:
            problems.append(REGRESSION_NEEDS_PRED)
        else:
            decisions = encode_numeric(y_pred, name="y_pred", problems=problems)
    else:
        truth = encode_binary(
            y_true, name="y_true", positive_label=positive_label, problems=problems
        )
        if y_score is not None:
            score = encode_numeric(y_score, name="y_score", problems=problems)
        if y_pred is not None:
            decisions = encode_binary(
                y_pred, name="y_pred", positive_label=positive_label, problems=problems
            )
        elif y_score is None:
            problems.append(NO_PREDICTIONS)
    arrays = _Arrays(truth=truth, score=score, decisions=decisions)
    for name, array in (("y_score", score), ("y_pred", decisions)):
        if arrays.n_rows is not None and array is not None and len(array) != arrays.n_rows:
            problems.append(
                LENGTH_MISMATCH.format(
                    name=name, found=len(array), reference="y_true", expected=arrays.n_rows
                )
            )
    return arrays


def _summarise(
    arrays: _Arrays,
    rows: np.ndarray | None,
    *,
    key: str,
    scope: str,
    options: _Options,
    notes: list[str],
) -> PerformanceSummary:
    """The summary of all rows (``rows`` None) or of the given rows, bootstrapped on their own."""
    assert arrays.truth is not None and arrays.decisions is not None
    truth, decisions, score = arrays.truth, arrays.decisions, arrays.score
    if rows is not None:
        truth, decisions = truth[rows], decisions[rows]
        score = None if score is None else score[rows]
    rng = make_rng(options.seed, key)
    if options.task == "regression":
        return regression_summary(
            truth,
            decisions,
            n_boot=options.n_boot,
            rng=rng,
            ci=options.ci,
            scope=scope,
            notes=notes,
        )
    return classification_summary(
        truth,
        decisions,
        score,
        n_boot=options.n_boot,
        rng=rng,
        ci=options.ci,
        n_bins=options.n_bins,
        scope=scope,
        notes=notes,
    )


def _segment_results(
    arrays: _Arrays, columns: list[GroupColumn], *, options: _Options, notes: list[str]
) -> tuple[SegmentResult, ...]:
    results = []
    for column in columns:
        order = np.argsort(column.codes, kind="stable")
        sizes = np.bincount(column.codes, minlength=len(column.labels))
        starts = np.concatenate([[0], np.cumsum(sizes)])
        for code, label in enumerate(column.labels):
            if sizes[code] == 0:
                continue
            rows = np.sort(order[starts[code] : starts[code + 1]])
            summary = _summarise(
                arrays,
                rows,
                key=f"segment:{column.name}={label}",
                scope=f"Segment {column.name} = {label}: ",
                options=options,
                notes=notes,
            )
            results.append(SegmentResult(column=column.name, group=label, summary=summary))
            if code == column.missing_code:
                notes.append(
                    MISSING_SEGMENT_NOTE.format(
                        name=column.name, count=int(sizes[code]), label=label
                    )
                )
    return tuple(results)


def _encode_segments(
    segments: Mapping[str, Any] | None, *, n_rows: int | None, problems: list[str]
) -> list[GroupColumn]:
    return encode_group_columns(
        (segments or {}).items(),
        argument="segments",
        bad_name=SEGMENT_NAME,
        n_rows=n_rows,
        problems=problems,
    )

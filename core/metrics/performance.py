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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from core.metrics.bootstrap import (
    Estimate,
    estimates,
    make_rng,
    resample_cell_counts,
)
from core.metrics.counts import (
    LENGTH_MISMATCH,
    GroupColumn,
    MetricInputError,
    encode_binary,
    encode_groups,
    encode_numeric,
    is_whole,
    plain_label,
    rates_from_counts,
)

__all__ = [
    "CalibrationBin",
    "MetricInputError",
    "PerformanceResult",
    "PerformanceSummary",
    "SegmentResult",
    "compute_performance",
]

Task = Literal["classification", "regression"]

NO_PREDICTIONS = "Neither y_score nor y_pred was given; pass scores (with a threshold) or labels."
REGRESSION_SCORE = "y_score is for classification; for regression pass the predictions as y_pred."
REGRESSION_NEEDS_PRED = "y_pred is missing; regression needs the model's predictions."
UNKNOWN_TASK = "task is {task!r}; use 'classification' or 'regression'."
BAD_N_BOOT = (
    "n_boot is {value!r}; pass a whole number of bootstrap replicates, 0 to skip intervals."
)
BAD_SEED = "seed is {value!r}; pass a non-negative whole number."
BAD_CI = "ci is {value!r}; pass a confidence level strictly between 0 and 1, e.g. 0.95."
BAD_THRESHOLD = "threshold is {value!r}; pass a number, e.g. 0.5."
BAD_N_BINS = "n_bins is {value!r}; pass a whole number of calibration bins of at least 2."
SEGMENT_NAME = "segments has a column named {name!r} ({kind}); name segment columns with text."

ONE_CLASS_NOTE = (
    "{scope}ROC AUC, Gini and KS undefined: y_true has only {kind} (both classes are needed)."
)
HARD_SCORES_NOTE = (
    "{scope}y_score holds only 0 and 1: these look like labels, and AUC, KS and calibration "
    "from hard labels are coarse; pass the model's probabilities or scores if available."
)
NOT_PROBABILITIES_NOTE = (
    "{scope}y_score has values outside [0, 1]: log loss, Brier score and calibration need "
    "probabilities and are left undefined."
)
UNDEFINED_NOTE = "{scope}{metric} undefined ({reason})."
THRESHOLD_NOTE = "y_pred was given, so the threshold was not applied; decisions are y_pred."
NO_SCORE_NOTE = (
    "No y_score given: ROC AUC, Gini, KS, log loss, Brier score and calibration need scores."
)
MISSING_SEGMENT_NOTE = (
    "Segment column {name!r} has {count:,} missing values; "
    "they are reported as their own segment {label!r}."
)
CONSTANT_TARGET_NOTE = "{scope}R² undefined (y_true is constant)."
INTERVAL_NOTE = (
    "Intervals: {n_boot:,} bootstrap replicates of the rows (within each segment for "
    "segments), seed {seed}, percentile {ci:.0%} intervals."
)

CLASSIFICATION_METRICS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "gini": "Gini",
    "ks_statistic": "KS statistic",
    "log_loss": "log loss",
    "brier_score": "Brier score",
}
#: Quantiles of the absolute error reported for regression.
ERROR_QUANTILES = {
    "absolute_error_p50": 0.5,
    "absolute_error_p75": 0.75,
    "absolute_error_p90": 0.9,
    "absolute_error_p95": 0.95,
    "absolute_error_p99": 0.99,
}
REGRESSION_METRICS = {
    "mae": "mean absolute error",
    "rmse": "root mean squared error",
    "r2": "R²",
    **{key: f"{q:.0%} quantile of the absolute error" for key, q in ERROR_QUANTILES.items()},
}
_UNDEFINED_BECAUSE = {
    "precision": "no predicted positives",
    "recall": "no positives",
    "f1": "no positives and no predicted positives",
}


@dataclass(frozen=True)
class CalibrationBin:
    """One decile of the predicted score: mean prediction against observed positive rate."""

    lower: float
    upper: float
    count: int
    mean_predicted: Estimate
    observed_rate: Estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "count": self.count,
            "mean_predicted": self.mean_predicted.to_dict(),
            "observed_rate": self.observed_rate.to_dict(),
        }


@dataclass(frozen=True)
class PerformanceSummary:
    """Metrics of a set of rows (all rows, or one segment).

    ``confusion_matrix`` is ``((tn, fp), (fn, tp))``, as scikit-learn lays it out.
    """

    count: int
    metrics: Mapping[str, Estimate]
    confusion_matrix: tuple[tuple[int, int], tuple[int, int]] | None = None
    calibration: tuple[CalibrationBin, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "confusion_matrix": None
            if self.confusion_matrix is None
            else [list(row) for row in self.confusion_matrix],
            "calibration": [b.to_dict() for b in self.calibration],
        }


@dataclass(frozen=True)
class SegmentResult:
    """Performance within one group of a segment column."""

    column: str
    group: str
    summary: PerformanceSummary

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "group": self.group, **self.summary.to_dict()}


@dataclass(frozen=True)
class PerformanceResult:
    """Performance of a model, overall and per segment, ready to store as evidence."""

    task: Task
    n_rows: int
    threshold: float | None
    positive_label: Any
    n_boot: int
    seed: int
    ci: float
    overall: PerformanceSummary
    segments: tuple[SegmentResult, ...]
    notes: tuple[str, ...]

    def segment(self, column: str, group: str) -> PerformanceSummary:
        """The summary of one segment group."""
        return next(s.summary for s in self.segments if (s.column, s.group) == (column, group))

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_rows": self.n_rows,
            "threshold": self.threshold,
            "positive_label": self.positive_label,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "ci": self.ci,
            "overall": self.overall.to_dict(),
            "segments": [s.to_dict() for s in self.segments],
            "notes": list(self.notes),
        }


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
    _check_options(
        task=task,
        n_boot=n_boot,
        seed=seed,
        ci=ci,
        threshold=threshold,
        n_bins=n_bins,
        problems=problems,
    )
    notes: list[str] = []
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
    n_rows = None if truth is None else len(truth)
    for name, array in (("y_score", score), ("y_pred", decisions)):
        if n_rows is not None and array is not None and len(array) != n_rows:
            problems.append(
                LENGTH_MISMATCH.format(
                    name=name, found=len(array), reference="y_true", expected=n_rows
                )
            )
    columns = _encode_segments(segments, n_rows=n_rows, problems=problems)
    if problems:
        raise MetricInputError(problems)
    assert truth is not None and n_rows is not None

    used_threshold: float | None = None
    if task == "classification":
        if decisions is None:
            assert score is not None
            decisions = (score >= threshold).view(np.uint8)
            used_threshold = float(threshold)
        elif score is not None:
            notes.append(THRESHOLD_NOTE)
        if score is None:
            notes.append(NO_SCORE_NOTE)
    assert decisions is not None

    def summarise(rows: np.ndarray | None, key: str, scope: str) -> PerformanceSummary:
        rng = make_rng(seed, key)
        pick: Callable[[np.ndarray], np.ndarray] = (
            (lambda a: a) if rows is None else (lambda a: a[rows])
        )
        if task == "regression":
            return _regression_summary(
                pick(truth),
                pick(decisions),
                n_boot=n_boot,
                rng=rng,
                ci=ci,
                scope=scope,
                notes=notes,
            )
        return _classification_summary(
            pick(truth),
            pick(decisions),
            None if score is None else pick(score),
            n_boot=n_boot,
            rng=rng,
            ci=ci,
            n_bins=n_bins,
            scope=scope,
            notes=notes,
        )

    overall = summarise(None, "overall", "")
    segment_results = []
    for column in columns:
        order = np.argsort(column.codes, kind="stable")
        sizes = np.bincount(column.codes, minlength=len(column.labels))
        starts = np.concatenate([[0], np.cumsum(sizes)])
        for code, label in enumerate(column.labels):
            if sizes[code] == 0:
                continue
            rows = np.sort(order[starts[code] : starts[code + 1]])
            summary = summarise(
                rows, f"segment:{column.name}={label}", f"Segment {column.name} = {label}: "
            )
            segment_results.append(SegmentResult(column=column.name, group=label, summary=summary))
            if code == column.missing_code:
                notes.append(
                    MISSING_SEGMENT_NOTE.format(
                        name=column.name, count=int(sizes[code]), label=label
                    )
                )
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
        segments=tuple(segment_results),
        notes=tuple(notes),
    )


def _check_options(
    *,
    task: str,
    n_boot: Any,
    seed: Any,
    ci: Any,
    threshold: Any,
    n_bins: Any,
    problems: list[str],
) -> None:
    if task not in ("classification", "regression"):
        problems.append(UNKNOWN_TASK.format(task=task))
    if not is_whole(n_boot) or n_boot < 0:
        problems.append(BAD_N_BOOT.format(value=n_boot))
    if not is_whole(seed) or seed < 0:
        problems.append(BAD_SEED.format(value=seed))
    if not isinstance(ci, float | int) or not 0 < ci < 1:
        problems.append(BAD_CI.format(value=ci))
    if not isinstance(threshold, float | int | np.number) or not np.isfinite(threshold):
        problems.append(BAD_THRESHOLD.format(value=threshold))
    if not is_whole(n_bins) or n_bins < 2:
        problems.append(BAD_N_BINS.format(value=n_bins))


def _encode_segments(
    segments: Mapping[str, Any] | None, *, n_rows: int | None, problems: list[str]
) -> list[GroupColumn]:
    columns = []
    for name, values in (segments or {}).items():
        if not isinstance(name, str):
            problems.append(SEGMENT_NAME.format(name=name, kind=type(name).__name__))
            continue
        column = encode_groups(values, name=f"segments[{name!r}]", problems=problems)
        if column is None:
            continue
        if n_rows is not None and len(column.codes) != n_rows:
            problems.append(
                LENGTH_MISMATCH.format(
                    name=f"segments[{name!r}]",
                    found=len(column.codes),
                    reference="y_true",
                    expected=n_rows,
                )
            )
        columns.append(
            GroupColumn(
                name=name,
                codes=column.codes,
                labels=column.labels,
                missing_code=column.missing_code,
            )
        )
    return columns


def _intervals(point: np.ndarray, replicates: list[np.ndarray], ci: float) -> list[Estimate]:
    stacked = np.array(replicates).T if replicates else None
    return estimates(point, stacked, ci=ci)


@dataclass(frozen=True, eq=False)
class _ScoreCells:
    """Rows grouped into cells of equal (score, label, decision), sorted by score.

    Per-level and per-bin figures come from cumulative counts at the last cell of each
    score level, and from sums over the consecutive cells of each calibration bin.
    """

    label: np.ndarray  # 0/1 actual outcome of each cell
    decision: np.ndarray  # 0/1 decision of each cell
    score: np.ndarray
    level_start: np.ndarray | None  # first cell of each distinct score; None: one cell each
    losses: np.ndarray | None  # (2, cells): log loss and squared error of one row
    bin_start: np.ndarray | None  # first cell of each non-empty calibration bin
    bin_id: np.ndarray | None  # which of the n_bins each of those is


def _score_cells(
    truth: np.ndarray, decisions: np.ndarray, score: np.ndarray, n_bins: int, probabilities: bool
) -> tuple[_ScoreCells, np.ndarray, np.ndarray | None]:
    levels, level_of_row = np.unique(score, return_inverse=True)
    key = level_of_row.astype(np.int64) * 4 + 2 * truth.astype(np.int64) + decisions
    cells, counts = np.unique(key, return_counts=True)
    level = cells // 4
    label = (cells // 2) % 2
    cell_score = levels[level]
    level_start = np.flatnonzero(np.diff(level, prepend=-1))
    losses = bin_start = bin_id = edges = None
    if probabilities:
        # As scikit-learn: clip to [eps, 1 - eps] the probability of the actual class.
        eps = np.finfo(np.float64).eps
        actual = np.where(label == 1, cell_score, 1.0 - cell_score)
        losses = np.stack([-np.log(np.clip(actual, eps, 1 - eps)), (label - cell_score) ** 2])
        # As calibration_curve(strategy="quantile"): bins by percentile of the score; the
        # bin of a cell grows with its score, so each bin is a run of consecutive cells.
        edges = np.percentile(score, np.linspace(0, 100, n_bins + 1))
        bins = np.searchsorted(edges[1:-1], cell_score)
        bin_start = np.flatnonzero(np.diff(bins, prepend=-1))
        bin_id = bins[bin_start]
    table = _ScoreCells(
        label=label,
        decision=cells % 2,
        score=cell_score,
        level_start=None if len(level_start) == len(cells) else level_start,
        losses=losses,
        bin_start=bin_start,
        bin_id=bin_id,
    )
    return table, counts, edges


def _score_statistics(cells: _ScoreCells, counts: np.ndarray) -> np.ndarray:
    """All classification figures from cell counts, as one vector.

    Order: accuracy, precision, recall, F1, AUC, Gini, KS, log loss, Brier score, then the
    mean prediction and the observed rate of each calibration bin. Counts stay integers
    where they can, so that AUC and KS are exact ratios of integers.
    """
    positives = counts * cells.label
    negatives = counts - positives
    n, n_pos = int(counts.sum()), int(positives.sum())
    n_neg = n - n_pos
    selected, tp = int(counts @ cells.decision), int(positives @ cells.decision)
    confusion = np.array([n_neg - (selected - tp), selected - tp, n_pos - tp, tp])
    rates = rates_from_counts(confusion)
    auc = ks = np.nan
    if n_pos > 0 and n_neg > 0:
        pos, neg = positives, negatives
        if cells.level_start is not None:  # several cells share a score: sum them
            pos = np.add.reduceat(positives, cells.level_start)
            neg = np.add.reduceat(negatives, cells.level_start)
        cum_neg = np.cumsum(neg)
        # Mann–Whitney: each positive beats the negatives below it, ties count a half.
        twice_wins = 2 * int(pos @ cum_neg) - int(pos @ neg)
        auc = twice_wins / (2 * n_pos * n_neg)
        # KS: largest gap between the two empirical distribution functions, in integers.
        gap = np.cumsum(pos) * n_neg
        gap -= cum_neg * n_pos
        ks = max(int(gap.max()), -int(gap.min())) / (n_pos * n_neg)
    values = [
        rates["accuracy"],
        rates["precision"],
        rates["true_positive_rate"],
        rates["f1"],
        auc,
        2 * auc - 1,
        ks,
    ]
    if cells.losses is None or cells.bin_start is None:
        return np.array([*values, np.nan, np.nan], dtype=np.float64)
    log_loss, brier = cells.losses @ counts.astype(np.float64) / n
    in_bin = np.add.reduceat(counts, cells.bin_start)
    bin_pos = np.add.reduceat(positives, cells.bin_start)
    bin_score = np.add.reduceat(counts * cells.score, cells.bin_start)
    with np.errstate(invalid="ignore"):  # a bin a replicate left empty: undefined
        predicted, observed = bin_score / in_bin, bin_pos / in_bin
    return np.concatenate([[*values, log_loss, brier], predicted, observed])


def _classification_summary(
    truth: np.ndarray,
    decisions: np.ndarray,
    score: np.ndarray | None,
    *,
    n_boot: int,
    rng: np.random.Generator,
    ci: float,
    n_bins: int,
    scope: str,
    notes: list[str],
) -> PerformanceSummary:
    n = len(truth)
    if score is None:
        score = np.zeros(n)  # one level: only the threshold metrics are meaningful
        with_scores = probabilities = False
    else:
        with_scores = True
        probabilities = bool(score.min() >= 0 and score.max() <= 1)
        if not probabilities:
            notes.append(NOT_PROBABILITIES_NOTE.format(scope=scope))
        elif bool(np.all((score == 0) | (score == 1))):
            notes.append(HARD_SCORES_NOTE.format(scope=scope))
    cells, counts, edges = _score_cells(truth, decisions, score, n_bins, probabilities)
    point = _score_statistics(cells, counts)
    replicates = [
        _score_statistics(cells, draw)
        for draw in resample_cell_counts(counts, n_boot=n_boot, rng=rng)
    ]
    values = _intervals(point, replicates, ci)
    names = list(CLASSIFICATION_METRICS)
    metrics = dict(zip(names, values[: len(names)], strict=True))
    if not with_scores:
        metrics.update({k: Estimate(None) for k in names[4:]})
    positives = counts * cells.label
    tp = int(positives @ cells.decision)
    fn = int(positives.sum()) - tp
    fp = int(counts @ cells.decision) - tp
    tn = int(counts.sum()) - tp - fn - fp
    if with_scores and (tp + fn == 0 or tn + fp == 0):
        notes.append(
            ONE_CLASS_NOTE.format(scope=scope, kind="negatives" if tp + fn == 0 else "positives")
        )
    for metric, reason in _UNDEFINED_BECAUSE.items():
        if metrics[metric].value is None:
            notes.append(
                UNDEFINED_NOTE.format(
                    scope=scope, metric=CLASSIFICATION_METRICS[metric], reason=reason
                )
            )
    calibration: tuple[CalibrationBin, ...] = ()
    if edges is not None and cells.bin_start is not None and cells.bin_id is not None:
        n_present = len(cells.bin_start)
        predicted = values[len(names) : len(names) + n_present]
        observed = values[len(names) + n_present :]
        sizes = np.add.reduceat(counts, cells.bin_start).tolist()
        calibration = tuple(
            CalibrationBin(
                lower=float(edges[b]),
                upper=float(edges[b + 1]),
                count=sizes[i],
                mean_predicted=predicted[i],
                observed_rate=observed[i],
            )
            for i, b in enumerate(cells.bin_id.tolist())
        )
    return PerformanceSummary(
        count=n,
        metrics=metrics,
        confusion_matrix=((tn, fp), (fn, tp)),
        calibration=calibration,
    )


def _lerp(low: np.ndarray, high: np.ndarray, t: np.ndarray) -> np.ndarray:
    # numpy's linear interpolation, which is exact at both ends.
    diff = high - low
    return np.where(t >= 0.5, high - diff * (1 - t), low + diff * t)


def _regression_statistics(
    counts: np.ndarray,
    abs_err: np.ndarray,
    squared: np.ndarray,
    centred: np.ndarray,
    quantiles: np.ndarray,
) -> np.ndarray:
    """MAE, RMSE, R² and absolute-error quantiles from row counts (rows sorted by error)."""
    weights = counts.astype(np.float64)
    n = weights.sum()
    mse = weights @ squared / n
    mean = weights @ centred / n
    total = weights @ (centred * centred) - n * mean * mean
    r2 = 1 - mse * n / total if total > 0 else np.nan
    cumulative = np.cumsum(counts)
    position = quantiles * (n - 1)
    below = np.floor(position)
    low = abs_err[np.searchsorted(cumulative, below, side="right")]
    high = abs_err[np.searchsorted(cumulative, np.minimum(below + 1, n - 1), side="right")]
    values = _lerp(low, high, position - below)
    return np.concatenate([[weights @ abs_err / n, np.sqrt(mse), r2], values])


def _regression_summary(
    truth: np.ndarray,
    predictions: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    ci: float,
    scope: str,
    notes: list[str],
) -> PerformanceSummary:
    errors = predictions - truth
    abs_err = np.abs(errors)
    # A canonical row order, so that results do not depend on the order of the rows.
    order = np.lexsort((predictions, truth, abs_err))
    abs_err, errors, truth = abs_err[order], errors[order], truth[order]
    squared = errors * errors
    centred = truth - truth.mean()
    quantiles = np.array(list(ERROR_QUANTILES.values()))
    ones = np.ones(len(truth), dtype=np.int64)
    point = _regression_statistics(ones, abs_err, squared, centred, quantiles)
    replicates = [
        _regression_statistics(draw, abs_err, squared, centred, quantiles)
        for draw in resample_cell_counts(ones, n_boot=n_boot, rng=rng)
    ]
    values = _intervals(point, replicates, ci)
    metrics = dict(zip(REGRESSION_METRICS, values, strict=True))
    if metrics["r2"].value is None:
        notes.append(CONSTANT_TARGET_NOTE.format(scope=scope))
    return PerformanceSummary(count=len(truth), metrics=metrics)

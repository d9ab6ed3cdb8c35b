"""Summaries of a set of rows (all rows, or one segment): metrics with intervals, notes.

Classification: accuracy, precision, recall, F1 at the threshold; from scores ROC AUC, Gini,
KS, log loss, Brier score and a calibration table. Regression: MAE, RMSE, R² and quantiles of
the absolute error. Each summary bootstraps its own rows.
"""

from __future__ import annotations

import numpy as np

from core.metrics.bootstrap import Estimate, estimates, resample_cell_counts
from core.metrics.cell_statistics import (
    ScoreCells,
    regression_statistics,
    score_cells,
    score_statistics,
)
from core.metrics.performance_results import CalibrationBin, PerformanceSummary

__all__ = [
    "CLASSIFICATION_METRICS",
    "CONSTANT_TARGET_NOTE",
    "ERROR_QUANTILES",
    "HARD_SCORES_NOTE",
    "NOT_PROBABILITIES_NOTE",
    "ONE_CLASS_NOTE",
    "REGRESSION_METRICS",
    "UNDEFINED_NOTE",
    "classification_summary",
    "regression_summary",
]

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
CONSTANT_TARGET_NOTE = "{scope}R² undefined (y_true is constant)."

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


def _intervals(point: np.ndarray, replicates: list[np.ndarray], ci: float) -> list[Estimate]:
    stacked = np.array(replicates).T if replicates else None
    return estimates(point, stacked, ci=ci)


def classification_summary(
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
    cells, counts, edges = score_cells(truth, decisions, score, n_bins, probabilities)
    point = score_statistics(cells, counts)
    replicates = [
        score_statistics(cells, draw)
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
    return PerformanceSummary(
        count=n,
        metrics=metrics,
        confusion_matrix=((tn, fp), (fn, tp)),
        calibration=_calibration(cells, counts, edges, values[len(names) :]),
    )


def _calibration(
    cells: ScoreCells, counts: np.ndarray, edges: np.ndarray | None, values: list[Estimate]
) -> tuple[CalibrationBin, ...]:
    """The calibration bins from the estimates after the metrics (predicted, then observed)."""
    if edges is None or cells.bin_start is None or cells.bin_id is None:
        return ()
    n_present = len(cells.bin_start)
    predicted, observed = values[:n_present], values[n_present:]
    sizes = np.add.reduceat(counts, cells.bin_start).tolist()
    return tuple(
        CalibrationBin(
            lower=float(edges[b]),
            upper=float(edges[b + 1]),
            count=sizes[i],
            mean_predicted=predicted[i],
            observed_rate=observed[i],
        )
        for i, b in enumerate(cells.bin_id.tolist())
    )


def regression_summary(
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
    point = regression_statistics(ones, abs_err, squared, centred, quantiles)
    replicates = [
        regression_statistics(draw, abs_err, squared, centred, quantiles)
        for draw in resample_cell_counts(ones, n_boot=n_boot, rng=rng)
    ]
    values = _intervals(point, replicates, ci)
    metrics = dict(zip(REGRESSION_METRICS, values, strict=True))
    if metrics["r2"].value is None:
        notes.append(CONSTANT_TARGET_NOTE.format(scope=scope))
    return PerformanceSummary(count=len(truth), metrics=metrics)

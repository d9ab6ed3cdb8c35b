"""Metrics of a labelled production batch, overall and per group: what decays in production.

Pure: recorded outcomes (1 for the positive class, 0 otherwise) and the model's scores in,
plain results out. Classification: ROC AUC (where both outcomes occur), accuracy, selection
rate and true-positive rate at the decision threshold, observed and mean predicted positive
rate; regression: R² and mean absolute error. Per group the same, so a fairness gap that opens
in production is seen beside the overall figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

__all__ = ["batch_metrics", "classification_metrics", "regression_metrics"]


def _share(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if len(mask) else None


def classification_metrics(
    y_true: np.ndarray, y_score: np.ndarray, *, threshold: float
) -> dict[str, float | None]:
    """Binary metrics of scores against outcomes (1 positive, 0 negative)."""
    truth = np.asarray(y_true, dtype=bool)
    score = np.asarray(y_score, dtype=float)
    selected = score >= threshold
    both = 0 < truth.sum() < len(truth)
    return {
        "roc_auc": float(roc_auc_score(truth, score)) if both else None,
        "accuracy": _share(selected == truth),
        "selection_rate": _share(selected),
        "true_positive_rate": _share(selected[truth]) if truth.any() else None,
        "positive_rate": _share(truth),
        "mean_score": float(score.mean()) if len(score) else None,
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """R² (two rows at least) and mean absolute error."""
    truth, pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "r2": float(r2_score(truth, pred)) if len(truth) > 1 else None,
        "mean_absolute_error": float(mean_absolute_error(truth, pred)) if len(truth) else None,
    }


def batch_metrics(
    *,
    task: str,
    y_true: np.ndarray,
    y_score: np.ndarray,
    threshold: float = 0.5,
    groups: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Overall metrics and, per group column, each group's rows and metrics."""

    def measure(mask: np.ndarray | slice) -> dict[str, float | None]:
        if task == "regression":
            return regression_metrics(y_true[mask], y_score[mask])
        return classification_metrics(y_true[mask], y_score[mask], threshold=threshold)

    out: dict[str, Any] = {"rows": len(y_true), "metrics": measure(slice(None)), "groups": {}}
    for column, values in (groups or {}).items():
        labels = np.asarray(values, dtype=object)
        entries = []
        for group in sorted({str(v) for v in labels if v is not None and v == v}):
            mask = labels.astype(str) == group
            entries.append({"group": group, "rows": int(mask.sum()), **measure(mask)})
        out["groups"][column] = entries
    return out

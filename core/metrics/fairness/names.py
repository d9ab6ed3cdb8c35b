"""Names of the fairness figures, with the labels sentences and tables use, and why each can be
undefined."""

from __future__ import annotations

__all__ = [
    "CLASSIFICATION_BETWEEN",
    "CLASSIFICATION_GROUP_METRICS",
    "REGRESSION_BETWEEN",
    "REGRESSION_GROUP_METRICS",
    "UNDEFINED_BECAUSE",
    "UNDEFINED_SUMMARY",
]

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
#: Why a between-group value can be undefined even with two eligible groups.
UNDEFINED_SUMMARY = {
    "selection_rate_ratio": "no eligible group is selected, so the ratio is undefined "
    "(no selections)",
    "demographic_parity_difference": "the selection rate is defined in fewer than two "
    "eligible groups",
    "equalized_odds_difference": "true- and false-positive rates are each undefined "
    "(no positives or no negatives) in all but at most one eligible group",
    "true_positive_rate_gap": "the true-positive rate is undefined (no positives) in all but "
    "at most one eligible group",
}

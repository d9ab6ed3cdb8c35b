"""Group fairness of a model's decisions: per-group rates and between-group gaps, with intervals.

For every sensitive column and for their intersections (e.g. sex × age band) the result
gives, per group, the count, share, base rate, selection rate, accuracy, true-positive,
false-positive and false-negative rates and precision (regression: mean prediction and
mean absolute error); between groups, the demographic parity difference and ratio, the
equalized odds difference and ratio, the true-positive-rate gap (equal opportunity
difference) and the lowest selection-rate ratio to a reference group (the four-fifths rule's
figure); each with a bootstrap confidence interval. Judging them against a policy is
``core.rules.fairness_checks``'s work: metrics measure, rules decide.

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

from core.metrics.fairness.compute import DEFAULT_MIN_GROUP_SIZE, compute_fairness
from core.metrics.fairness.messages import NO_SENSITIVE, SINGLE_GROUP, UNKNOWN_REFERENCE_GROUP
from core.metrics.fairness.names import (
    CLASSIFICATION_BETWEEN,
    CLASSIFICATION_GROUP_METRICS,
    REGRESSION_BETWEEN,
    REGRESSION_GROUP_METRICS,
    UNDEFINED_BECAUSE,
    UNDEFINED_SUMMARY,
)
from core.metrics.fairness.results import (
    ExcludedGroup,
    FairnessResult,
    FeatureResult,
    GroupResult,
)
from core.metrics.inputs import MetricInputError

__all__ = [
    "CLASSIFICATION_BETWEEN",
    "CLASSIFICATION_GROUP_METRICS",
    "DEFAULT_MIN_GROUP_SIZE",
    "NO_SENSITIVE",
    "REGRESSION_BETWEEN",
    "REGRESSION_GROUP_METRICS",
    "SINGLE_GROUP",
    "UNDEFINED_BECAUSE",
    "UNDEFINED_SUMMARY",
    "UNKNOWN_REFERENCE_GROUP",
    "ExcludedGroup",
    "FairnessResult",
    "FeatureResult",
    "GroupResult",
    "MetricInputError",
    "compute_fairness",
]

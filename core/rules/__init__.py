"""Rules decide: pure judgement over measured values (thresholds, checks, sentences); no database.

``checks`` holds the one ``Check`` type, how a value is judged (pass, fail, inconclusive,
insufficient data) and the status roll-up; ``thresholds`` the policies with each default's basis;
``fairness_checks`` and ``performance_checks`` the checks of each kind of evidence; ``sentences``
how numbers are written for the people who decide.
"""

from core.rules.checks import Check, overall_status
from core.rules.fairness_checks import (
    FairnessAssessment,
    FeatureAssessment,
    assess_fairness,
    check_fairness,
)
from core.rules.performance_checks import check_performance, performance_checks
from core.rules.thresholds import (
    FairnessPolicy,
    PerformancePolicy,
    default_fairness_policy,
    default_performance_policy,
)

__all__ = [
    "Check",
    "FairnessAssessment",
    "FairnessPolicy",
    "FeatureAssessment",
    "PerformancePolicy",
    "assess_fairness",
    "check_fairness",
    "check_performance",
    "default_fairness_policy",
    "default_performance_policy",
    "overall_status",
    "performance_checks",
]

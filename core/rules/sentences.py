"""Threshold sentences for the people who decide, and how their numbers are written.

The third-decimal rule: a value is written with two decimals, or with more where two would read
as the threshold itself, so a ratio of 0.799 never reads "0.80, below the 0.80 minimum".
"""

from __future__ import annotations

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.rules.checks import TOLERANCE

__all__ = [
    "CHECK_SENTENCE",
    "GROUP_RATIO_SENTENCE",
    "GROUP_RATIO_UNDEFINED_SENTENCE",
    "INCONCLUSIVE",
    "INSUFFICIENT_SENTENCE",
    "NO_INTERVALS_NOTE",
    "PERFORMANCE_INCONCLUSIVE_SENTENCE",
    "PERFORMANCE_SENTENCE",
    "PERFORMANCE_UNDEFINED_SENTENCE",
    "POINT_ESTIMATE_NOTE",
    "REFERENCE_NO_SELECTIONS",
    "REFERENCE_TOO_SMALL",
    "REGRESSION_CHECKS_NOTE",
    "SMALL_GROUP_SENTENCE",
    "TOO_FEW_GROUPS",
    "against",
    "interval",
    "number",
    "percent",
    "status_phrase",
]

INCONCLUSIVE = (
    "inconclusive (the point estimate would {point}, but the {ci:.0%} interval reaches across "
    "the threshold)"
)

#: Fairness checks: one sentence per check, and per group for the four-fifths rule.
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
REFERENCE_NO_SELECTIONS = (
    "the reference group {reference} has no selections, so the ratio is undefined (no selections)"
)
POINT_ESTIMATE_NOTE = (
    "Pass and fail compare point estimates with the policy thresholds; a check whose {ci:.0%} "
    "interval reaches across its threshold is inconclusive, with the point estimate's outcome "
    "recorded beside it."
)
NO_INTERVALS_NOTE = (
    "Pass and fail compare point estimates with the policy thresholds; no intervals were "
    "computed, so no check can show whether chance could turn it around."
)
REGRESSION_CHECKS_NOTE = (
    "The policy sets no thresholds for regression; between-group differences are reported "
    "without pass or fail."
)
#: Performance checks.
PERFORMANCE_SENTENCE = "{label} is {value:.3f}, {relation} the {threshold:g} policy threshold."
PERFORMANCE_UNDEFINED_SENTENCE = "{label} is undefined on this data, so the check cannot be made."
PERFORMANCE_INCONCLUSIVE_SENTENCE = (
    " Inconclusive: the {ci:.0%} interval ({lower:.3f} to {upper:.3f}) reaches across the "
    "threshold."
)


def percent(rate: float) -> str:
    """A rate as a percentage, with a decimal where whole percents would mislead."""
    value = 100 * rate
    if 10 <= value <= 99 or value in (0, 100):
        return f"{value:.0f}%"
    return f"{value:.1f}%"


def number(value: float | None) -> str:
    """Two decimals, or "undefined"."""
    return "undefined" if value is None else f"{value:.2f}"


def against(value: float, threshold: float) -> str:
    """The value with two decimals, or more where two would read as the threshold itself."""
    for decimals in range(2, 7):
        text = f"{value:.{decimals}f}"
        if abs(value - threshold) <= TOLERANCE or text != f"{threshold:.{decimals}f}":
            return text
    return text


def interval(estimate: Estimate, ci: float, decimals: int = 2) -> str:
    """`` (95% CI a to b)``, or nothing when the estimate has no interval."""
    if estimate.lower is None or estimate.upper is None:
        return ""
    return f" ({ci:.0%} CI {estimate.lower:.{decimals}f} to {estimate.upper:.{decimals}f})"


def status_phrase(status: CheckStatus, point: CheckStatus | None, ci: float) -> str:
    """The status as a sentence ends it: "pass", "fail", or why it is inconclusive."""
    if status == CheckStatus.inconclusive and point is not None:
        return INCONCLUSIVE.format(point=point.value, ci=ci)
    return status.value

"""Numbers written for the people who decide: percentages, values against thresholds, intervals.

The third-decimal rule: a value is written with two decimals, or with more where two would read
as the threshold itself, so a ratio of 0.799 never reads "0.80, below the 0.80 minimum".
"""

from __future__ import annotations

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.rules.checks import TOLERANCE

__all__ = ["against", "interval", "number", "percent", "status_phrase"]

INCONCLUSIVE = (
    "inconclusive (the point estimate would {point}, but the {ci:.0%} interval reaches across "
    "the threshold)"
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

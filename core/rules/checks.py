"""One ``Check`` type for every threshold check, how a measured value is judged, and the roll-up.

A check compares a point estimate with a threshold. Where the estimate has a confidence
interval whose two ends fall on different sides of the threshold, chance alone could turn the
outcome around: the check is ``inconclusive``, and the point estimate's outcome is kept beside
it (``point_status``). The roll-up of several checks is the least favourable status: fail beats
inconclusive (a measured figure that may fail), which beats insufficient data (a check that
could not be made), which beats pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.metrics.plain import PlainRecord

__all__ = [
    "SEVERITY",
    "TOLERANCE",
    "Check",
    "Direction",
    "judge",
    "meets",
    "overall_status",
]

Direction = Literal["at_least", "at_most"]

#: Round-off allowance when a value is compared with a threshold (e.g. 0.8 written as 4/5).
TOLERANCE = 1e-12
#: Statuses from least to most favourable; a roll-up is the first one present.
SEVERITY = (
    CheckStatus.failed,
    CheckStatus.inconclusive,
    CheckStatus.insufficient_data,
    CheckStatus.passed,
)


@dataclass(frozen=True)
class Check(PlainRecord):
    """One policy check: the measured value, the threshold and its basis, the outcome.

    ``feature`` names the sensitive column or intersection of a fairness check (None for
    performance); ``point_status`` is the outcome of the point estimate alone (None when the
    check cannot be made); ``details`` are further sentences (e.g. one per group).
    """

    feature: str | None
    name: str
    label: str
    status: CheckStatus
    point_status: CheckStatus | None
    value: Estimate
    threshold: float
    direction: Direction
    basis: str
    sentence: str
    details: tuple[str, ...] = ()


def meets(value: float, threshold: float, direction: Direction) -> bool:
    """Whether ``value`` is on the passing side of ``threshold`` (within round-off)."""
    if direction == "at_least":
        return value >= threshold - TOLERANCE
    return value <= threshold + TOLERANCE


def judge(
    estimate: Estimate, threshold: float, direction: Direction
) -> tuple[CheckStatus, CheckStatus | None]:
    """The status of a check and the outcome of its point estimate.

    Undefined: insufficient data. Otherwise pass or fail by the point estimate, unless the
    interval's ends fall on different sides of the threshold: then inconclusive.

    >>> judge(Estimate(0.78, 0.70, 0.86), 0.8, "at_least")
    (<CheckStatus.inconclusive: 'inconclusive'>, <CheckStatus.failed: 'fail'>)
    """
    if estimate.value is None:
        return CheckStatus.insufficient_data, None
    point = (
        CheckStatus.passed if meets(estimate.value, threshold, direction) else CheckStatus.failed
    )
    lower, upper = estimate.lower, estimate.upper
    straddles = (
        lower is not None
        and upper is not None
        and meets(lower, threshold, direction) != meets(upper, threshold, direction)
    )
    return (CheckStatus.inconclusive if straddles else point), point


def overall_status(statuses: Iterable[str]) -> CheckStatus | None:
    """The least favourable of the statuses (see ``SEVERITY``); None when there are none."""
    present = {CheckStatus(status) for status in statuses}
    return next((status for status in SEVERITY if status in present), None)

"""Whether a metric got better or worse from one version to another, judged on its intervals.

Two versions' estimates differ by chance alone (each comes from a finite evaluation sample), so a
change is called better or worse only when the two confidence intervals do not overlap; when
they overlap it is "no clear change". Non-overlap is the conservative reading: two 95% intervals
that do not overlap imply a difference at well beyond the 5% level, while overlapping intervals
may still hide a real difference, which is why the words promise nothing more than "no clear
change". Without intervals on both sides nothing is claimed either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

__all__ = ["LOWER_IS_BETTER", "MetricVerdict", "judge_change", "lower_is_better"]

#: Metrics where a smaller value is the better model (errors and losses); the rest: larger.
LOWER_IS_BETTER: Final = frozenset(
    {
        "log_loss",
        "brier_score",
        "mae",
        "rmse",
        "absolute_error_p50",
        "absolute_error_p75",
        "absolute_error_p90",
        "absolute_error_p95",
        "absolute_error_p99",
    }
)


class MetricVerdict(StrEnum):
    """How a metric moved from the first version to the second, in the words shown."""

    better = "better"
    worse = "worse"
    no_clear_change = "no clear change"
    no_change = "no change"
    no_interval = "no interval to judge"
    not_comparable = "not comparable"


def lower_is_better(metric: str) -> bool:
    """True for errors and losses, where the smaller value is the better model."""
    return metric in LOWER_IS_BETTER


def _number(estimate: Mapping[str, Any] | None, key: str) -> float | None:
    value = (estimate or {}).get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def judge_change(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *, metric: str
) -> MetricVerdict:
    """The verdict on ``metric`` moving from ``before`` to ``after``.

    Both are stored estimates (``{"value", "lower", "upper"}``). ``not_comparable`` when either
    value is undefined; ``no_change`` when the values are equal; ``no_interval`` when either
    side has no interval; ``no_clear_change`` when the intervals overlap (touching counts);
    otherwise ``better`` or ``worse`` by the metric's direction (``LOWER_IS_BETTER``).
    """
    old, new = _number(before, "value"), _number(after, "value")
    if old is None or new is None:
        return MetricVerdict.not_comparable
    if old == new:
        return MetricVerdict.no_change
    bounds = [_number(before, "lower"), _number(before, "upper")]
    bounds += [_number(after, "lower"), _number(after, "upper")]
    if any(b is None for b in bounds):
        return MetricVerdict.no_interval
    low_old, high_old, low_new, high_new = (float(b) for b in bounds if b is not None)
    if max(low_old, low_new) <= min(high_old, high_new):
        return MetricVerdict.no_clear_change
    rose = new > old
    return MetricVerdict.better if rose != lower_is_better(metric) else MetricVerdict.worse

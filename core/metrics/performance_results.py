"""Result objects of performance: overall and per segment, calibration bins; plain ``to_dict``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.metrics.bootstrap import Estimate
from core.metrics.options import Task
from core.metrics.plain import PlainRecord

__all__ = ["CalibrationBin", "PerformanceResult", "PerformanceSummary", "SegmentResult"]


@dataclass(frozen=True)
class CalibrationBin(PlainRecord):
    """One decile of the predicted score: mean prediction against observed positive rate."""

    lower: float
    upper: float
    count: int
    mean_predicted: Estimate
    observed_rate: Estimate


@dataclass(frozen=True)
class PerformanceSummary(PlainRecord):
    """Metrics of a set of rows (all rows, or one segment).

    ``confusion_matrix`` is ``((tn, fp), (fn, tp))``, as scikit-learn lays it out.
    """

    count: int
    metrics: Mapping[str, Estimate]
    confusion_matrix: tuple[tuple[int, int], tuple[int, int]] | None = None
    calibration: tuple[CalibrationBin, ...] = ()


@dataclass(frozen=True)
class SegmentResult:
    """Performance within one group of a segment column."""

    column: str
    group: str
    summary: PerformanceSummary

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "group": self.group, **self.summary.to_dict()}


@dataclass(frozen=True)
class PerformanceResult(PlainRecord):
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

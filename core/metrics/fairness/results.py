"""Result objects of the fairness measurement, each with a plain-JSON ``to_dict``.

They hold what was measured: per-group figures, between-group summaries with intervals, the
groups left out for their size, notes. Judging them against a policy (checks, pass or fail) is
``core.rules.fairness_checks``'s work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.metrics.bootstrap import Estimate
from core.metrics.options import Task
from core.metrics.plain import PlainRecord

__all__ = ["ExcludedGroup", "FairnessResult", "FeatureResult", "GroupResult"]


@dataclass(frozen=True)
class GroupResult(PlainRecord):
    """Figures of one group; ``eligible`` is False below the minimum group size."""

    group: str
    count: int
    share: float
    eligible: bool
    metrics: Mapping[str, Estimate]


@dataclass(frozen=True)
class ExcludedGroup(PlainRecord):
    """A group left out of pass/fail and of the between-group summaries, and why."""

    group: str
    count: int
    reason: str


@dataclass(frozen=True)
class FeatureResult(PlainRecord):
    """Results for one sensitive column or one intersection of columns."""

    name: str
    columns: tuple[str, ...]
    reference_group: str | None
    reference_rule: str | None
    groups: tuple[GroupResult, ...]
    between_groups: Mapping[str, Estimate]
    excluded_groups: tuple[ExcludedGroup, ...]
    notes: tuple[str, ...]

    def group(self, label: str) -> GroupResult:
        """The group with this label."""
        return next(g for g in self.groups if g.group == label)

    def values(self, metric: str) -> list[float | None]:
        """One figure of every group, in group order (None where undefined)."""
        return [g.metrics[metric].value for g in self.groups]


@dataclass(frozen=True)
class FairnessResult(PlainRecord):
    """Fairness figures of a model's decisions across sensitive groups."""

    task: Task
    n_rows: int
    positive_label: Any
    n_boot: int
    seed: int
    ci: float
    min_group_size: int
    overall: Mapping[str, Estimate]
    features: tuple[FeatureResult, ...]
    notes: tuple[str, ...]

    def feature(self, name: str) -> FeatureResult:
        """The result of one sensitive column or intersection, e.g. ``"sex × age_band"``."""
        return next(f for f in self.features if f.name == name)

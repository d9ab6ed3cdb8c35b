"""What comparing two versions returns: what changed in the model, its data and its metrics.

The structure and verdict types are re-exported, so the pages read everything from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.files.estimator_schema import EstimatorStructure, HyperValue
from core.rules.version_change import MetricVerdict
from core.services.vocabulary import Vocabulary

__all__ = [
    "ComparedVersion",
    "DatasetChange",
    "EstimatorStructure",
    "HyperValue",
    "MetricChange",
    "MetricVerdict",
    "SettingChange",
    "VersionComparison",
]


@dataclass(frozen=True)
class ComparedVersion:
    """One side of a comparison: which version, what it is made of, which evidence it has."""

    version_id: int
    model: str
    version: int
    stage: str
    registered_at: datetime
    registered_by: str
    structure: EstimatorStructure
    evidence_sha256: str | None

    @property
    def label(self) -> str:
        """``credit-logit v2``."""
        return f"{self.model} v{self.version}"


@dataclass(frozen=True)
class SettingChange:
    """A hyperparameter (or library version) on both sides; ``None`` where a side lacks it."""

    name: str
    before: HyperValue
    after: HyperValue
    present: tuple[bool, bool] = (True, True)

    @property
    def changed(self) -> bool:
        return self.present != (True, True) or self.before != self.after


@dataclass(frozen=True)
class DatasetChange:
    """The training or evaluation data of both versions, by content hash."""

    role: str
    before_sha256: str | None
    after_sha256: str | None
    before_name: str | None = None
    after_name: str | None = None
    before_rows: int | None = None
    after_rows: int | None = None

    @property
    def changed(self) -> bool:
        return self.before_sha256 != self.after_sha256


@dataclass(frozen=True)
class MetricChange:
    """One metric of both versions' newest performance evidence, and the verdict on its change.

    ``before``/``after`` are the stored estimates (``value``, ``lower``, ``upper``), None where
    a version has no performance evidence.
    """

    metric: str
    label: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    verdict: MetricVerdict

    @property
    def change(self) -> float | None:
        """After minus before, when both are defined."""
        a, b = (self.after or {}).get("value"), (self.before or {}).get("value")
        return None if a is None or b is None else float(a) - float(b)


@dataclass(frozen=True)
class VersionComparison:
    """Two versions side by side: ``before`` is the one compared against (usually the older).

    ``notes`` are sentences a reviewer needs before reading the metrics (no evidence yet, data
    that differ). ``vocabulary`` gives the business names of ``after``'s model.
    """

    before: ComparedVersion
    after: ComparedVersion
    estimator_changed: bool
    steps_changed: bool
    hyperparameters: tuple[SettingChange, ...]
    features_added: tuple[str, ...]
    features_removed: tuple[str, ...]
    features_kept: tuple[str, ...]
    data: tuple[DatasetChange, ...]
    metrics: tuple[MetricChange, ...]
    environment: tuple[SettingChange, ...]
    vocabulary: Vocabulary
    notes: tuple[str, ...] = field(default=())

    @property
    def changed_hyperparameters(self) -> tuple[SettingChange, ...]:
        return tuple(h for h in self.hyperparameters if h.changed)

    def verdicts(self) -> dict[MetricVerdict, int]:
        """How many metrics got each verdict, in the order of ``MetricVerdict``."""
        counts = {v: sum(m.verdict == v for m in self.metrics) for v in MetricVerdict}
        return {v: n for v, n in counts.items() if n}

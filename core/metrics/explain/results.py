"""Result types of the explanations (frozen, with to_dict) and the operating range of a feature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.metrics.explain.common import ToDict, is_missing, is_numeric


@dataclass(frozen=True)
class OperatingRange(ToDict):
    """Where the model has seen data for one feature, so charts can mark its boundaries.

    Numeric features carry min/max and the 5th/95th percentiles; categorical ones the
    categories seen. ``source`` says which data the range was measured on.
    """

    feature: str
    kind: str
    source: str
    minimum: float | None = None
    maximum: float | None = None
    p05: float | None = None
    p95: float | None = None
    categories: tuple[str, ...] = ()

    def contains(self, value: Any) -> bool:
        """True when ``value`` lies inside the range (missing values count as inside)."""
        if is_missing(value):
            return True
        if self.kind == "numeric":
            number = float(value)
            assert self.minimum is not None and self.maximum is not None
            return self.minimum <= number <= self.maximum
        return str(value) in self.categories


@dataclass(frozen=True)
class FeatureImportance(ToDict):
    """Mean |SHAP| of one feature over the explained rows, with a bootstrap 95% interval."""

    feature: str
    rank: int
    mean_abs_shap: float
    ci_low: float
    ci_high: float
    share: float


@dataclass(frozen=True)
class FeaturePoints(ToDict):
    """Beeswarm data for one feature: SHAP value and feature value of each plotted row."""

    feature: str
    shap_values: tuple[float, ...]
    feature_values: tuple[float | str | None, ...]


@dataclass(frozen=True)
class DependenceData(ToDict):
    """Dependence plot data for a top feature, with its operating range to mark on the chart."""

    feature: str
    feature_values: tuple[float | str | None, ...]
    shap_values: tuple[float, ...]
    operating_range: OperatingRange


@dataclass(frozen=True)
class StabilityReport(ToDict):
    """Do the top features keep their ranks when the background or the rows change?

    Method "background" (linear and permutation explainers): importance recomputed with
    backgrounds drawn with ``seeds``, on ``rows`` explained rows. Method "bootstrap_rows"
    (path-dependent TreeSHAP, which has no background): importance recomputed on seeded
    bootstrap resamples of the explained rows. ``ranks[f]`` is the rank of top feature ``f``
    in the main run, then in each run; ``kendall_tau[i]`` compares the importances of the top
    features in run ``i`` with the main run. A top feature is unstable when its rank moves by
    more than ``rank_tolerance`` in any run.
    """

    method: str
    description: str
    seeds: tuple[int, ...]
    rows: int
    top_features: tuple[str, ...]
    ranks: dict[str, tuple[int, ...]]
    kendall_tau: tuple[float | None, ...]
    min_kendall_tau: float | None
    rank_tolerance: int
    unstable_features: tuple[str, ...]


@dataclass(frozen=True)
class Provenance(ToDict):
    """Which explainer, library versions, background, seed and sample produced the numbers."""

    explainer: str
    explainer_class: str
    feature_perturbation: str
    model_class: str
    shap_version: str
    sklearn_version: str
    background_size: int | None
    background_source: str | None
    seed: int
    sample_size: int
    rows_available: int
    stratified_by_label: bool
    sample_sha256: str
    sample_hash_method: str
    output_space: str
    max_evals: int | None


@dataclass(frozen=True, eq=False)
class ShapValues(ToDict):
    """SHAP values of every row of X in the model's input columns, before any summary.

    ``values[i].sum() + base_value == model_output[i]`` within ``additivity_max_error``.
    """

    features: tuple[str, ...]
    values: np.ndarray
    base_value: float
    model_output: np.ndarray
    row_index: tuple[Any, ...]
    explainer: str
    explainer_class: str
    feature_perturbation: str
    output_space: str
    output_label: str
    positive_class: Any
    background_size: int | None
    background_source: str | None
    max_evals: int | None
    additivity_max_error: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ExplanationResult(ToDict):
    """Global explanation of a model on a sample of evaluation data.

    All SHAP numbers are in ``output_space`` ("log_odds", "probability" or "raw"); state
    ``output_label`` on every chart. ``failures`` is empty when the evidence is sound.
    """

    features: tuple[str, ...]
    output_space: str
    output_label: str
    positive_class: Any
    base_value: float
    global_importance: tuple[FeatureImportance, ...]
    summary: tuple[FeaturePoints, ...]
    summary_row_index: tuple[Any, ...]
    dependence: tuple[DependenceData, ...]
    stability: StabilityReport
    additivity_max_error: float
    additivity_tolerance: float
    additivity_ok: bool
    provenance: Provenance
    sample_row_index: tuple[Any, ...]
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()

    @property
    def top_features(self) -> tuple[str, ...]:
        """Features by decreasing mean |SHAP|, at most ``top_k`` of them."""
        return self.stability.top_features


@dataclass(frozen=True)
class Contribution(ToDict):
    """One bar of a waterfall: the feature, its value in the row and its SHAP value."""

    feature: str
    value: float | str | None
    contribution: float
    direction: str
    inside_operating_range: bool


@dataclass(frozen=True)
class DecisionExplanation(ToDict):
    """Why the model scored one row as it did (waterfall data and plain-language drivers).

    ``base_value + sum(c.contribution for c in contributions) == prediction`` in
    ``output_space``. ``probability`` is the positive-class probability for classifiers.
    """

    row: dict[str, float | str | None]
    prediction: float
    probability: float | None
    base_value: float
    output_space: str
    output_label: str
    positive_class: Any
    contributions: tuple[Contribution, ...]
    drivers: tuple[str, ...]
    outside_operating_range: tuple[str, ...]
    boundary_warnings: tuple[str, ...]
    operating_ranges: tuple[OperatingRange, ...]
    explainer: str
    explainer_class: str
    feature_perturbation: str
    shap_version: str
    background_size: int | None
    seed: int
    additivity_error: float
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()


def operating_range(*, column: pd.Series, source: str) -> OperatingRange:
    """Min/max and 5th/95th percentiles (numeric) or categories seen (otherwise) of a column."""
    name = str(column.name)
    if is_numeric(column):
        values = column.to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        if values.size == 0:
            return OperatingRange(feature=name, kind="numeric", source=source)
        p05, p95 = np.percentile(values, [5, 95])
        return OperatingRange(
            feature=name,
            kind="numeric",
            source=source,
            minimum=float(values.min()),
            maximum=float(values.max()),
            p05=float(p05),
            p95=float(p95),
        )
    seen = sorted({str(v) for v in column.tolist() if not is_missing(v)})
    return OperatingRange(feature=name, kind="categorical", source=source, categories=tuple(seen))

"""Chart data of explanation evidence: importance, beeswarm, dependence, partial dependence."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from core.charts.data import Band, BarChart, BarSeries, LineChart, LineSeries, PointChart, RefLine

__all__ = [
    "MAX_BEESWARM_FEATURES",
    "beeswarm_chart",
    "colour_values",
    "dependence_chart",
    "importance_chart",
    "partial_dependence_chart",
    "swarm_offsets",
]

MAX_BEESWARM_FEATURES = 15
Namer = Callable[[str], str]


def _same(name: str) -> str:
    return name


def importance_chart(
    results: Mapping[str, Any], *, axis: str, feature_name: Namer = _same
) -> BarChart:
    """Mean |SHAP| per feature with its bootstrap 95% interval, most important on top."""
    items = list(results["global_importance"])[::-1]
    return BarChart(
        title="How much each input moves the output, on average",
        categories=tuple(feature_name(i["feature"]) for i in items),
        series=(
            BarSeries(
                "mean |SHAP|",
                tuple(i["mean_abs_shap"] for i in items),
                tuple(i["ci_low"] for i in items),
                tuple(i["ci_high"] for i in items),
            ),
        ),
        value_title=f"average size of its {axis}",
        horizontal=True,
    )


def swarm_offsets(values: np.ndarray, width: float = 0.38, bins: int = 60) -> np.ndarray:
    """Vertical offsets that spread points of similar SHAP value apart (a beeswarm)."""
    offsets = np.zeros(len(values))
    if len(values) == 0:
        return offsets
    low, high = float(values.min()), float(values.max())
    slot = np.zeros(len(values), dtype=int)
    if high > low:
        slot = np.minimum(((values - low) / (high - low) * bins).astype(int), bins - 1)
    counts = np.bincount(slot, minlength=bins)
    step = width / max(int(counts.max()), 1) * 2
    seen = np.zeros(bins, dtype=int)
    for i in np.argsort(values, kind="stable"):
        k = seen[slot[i]]
        seen[slot[i]] += 1
        # 0, +1, -1, +2, -2, ... steps from the feature's line
        offsets[i] = ((k + 1) // 2) * step * (1 if k % 2 else -1)
    return offsets


def colour_values(values: Sequence[Any]) -> list[float | None]:
    """Each numeric value's rank in its column, from 0 (lowest) to 1 (highest); None for text."""
    numbers = np.array(
        [v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values],
        dtype=float,
    )
    finite = ~np.isnan(numbers)
    if finite.sum() < max(1, len(values) // 2):
        return [None] * len(values)
    # Average ranks over the finite values, as a percentile (pandas' rank(pct=True)).
    order = numbers[finite]
    sorted_values = np.sort(order)
    low = np.searchsorted(sorted_values, order, side="left")
    high = np.searchsorted(sorted_values, order, side="right")
    ranks = (low + high + 1) / 2 / len(order)
    out: list[float | None] = [None] * len(values)
    for position, rank in zip(np.flatnonzero(finite), ranks, strict=True):
        out[int(position)] = float(rank)
    return out


def beeswarm_chart(
    results: Mapping[str, Any], *, axis: str, feature_name: Namer = _same
) -> PointChart:
    """SHAP value of every plotted row per feature; colour = the row's value of the feature."""
    order = [i["feature"] for i in results["global_importance"]][:MAX_BEESWARM_FEATURES]
    summary = {s["feature"]: s for s in results["summary"]}
    xs: list[float] = []
    ys: list[float] = []
    colours: list[float | None] = []
    for position, feature in enumerate(order[::-1]):
        shap_values = np.asarray(summary[feature]["shap_values"], dtype=float)
        xs += shap_values.tolist()
        ys += (position + swarm_offsets(shap_values)).tolist()
        colours += colour_values(summary[feature]["feature_values"])
    return PointChart(
        title="Every explained applicant, per input",
        x_title=axis,
        y_title="",
        x=tuple(xs),
        y=tuple(ys),
        colour=tuple(colours),
        y_ticks=tuple((float(k), feature_name(f)) for k, f in enumerate(order[::-1])),
        lines=(RefLine(0.0, axis="x", style="solid"),),
        colour_title="feature value (low → high)",
    )


def _range_band(limits: Mapping[str, Any]) -> tuple[Band | None, tuple[RefLine, ...]]:
    """The feature's operating range (training min to max) and dotted lines at p5/p95."""
    if limits.get("kind") != "numeric" or limits.get("minimum") is None:
        return None, ()
    band = Band(limits["minimum"], limits["maximum"], f"{limits['source']} range")
    lines = tuple(
        RefLine(limits[key], axis="x", style="dot", colour="#2ca02c")
        for key in ("p05", "p95")
        if limits.get(key) is not None
    )
    return band, lines


def dependence_chart(
    dependence: Mapping[str, Any], *, axis: str, feature_name: Namer = _same
) -> PointChart | None:
    """SHAP value against feature value for one numeric top feature, operating range shaded
    (None for a categorical feature, whose values have no axis to scatter on)."""
    values = dependence["feature_values"]
    if not all(v is None or isinstance(v, int | float) for v in values):
        return None
    pairs = [
        (float(v), float(s))
        for v, s in zip(values, dependence["shap_values"], strict=True)
        if v is not None
    ]
    band, lines = _range_band(dependence["operating_range"])
    feature = feature_name(dependence["feature"])
    return PointChart(
        title=f"{feature}: its contribution by its value",
        x_title=feature,
        y_title=axis,
        x=tuple(p[0] for p in pairs),
        y=tuple(p[1] for p in pairs),
        lines=(RefLine(0.0, style="solid"), *lines),
        band=band,
    )


def partial_dependence_chart(
    curve: Mapping[str, Any], *, output_words: str, feature_name: Namer = _same
) -> LineChart:
    """Average (PD, bold) and individual (ICE, thin) curves; the training range shaded."""
    numeric = curve["kind"] == "numeric"
    grid = tuple(float(g) for g in curve["grid"]) if numeric else tuple(range(len(curve["grid"])))
    series = [
        LineSeries("", tuple(map(float, grid)), tuple(line), "#999999", thin=True)
        for line in curve["individual"]
    ]
    series.append(
        LineSeries(
            f"average of {curve['n_rows']} applicants",
            tuple(map(float, grid)),
            tuple(curve["average"]),
            "#d62728",
            markers=True,
        )
    )
    band, lines = _range_band(curve["operating_range"])
    feature = feature_name(curve["feature"])
    return LineChart(
        title=f"{feature}: the output as it changes",
        x_title=feature,
        y_title=output_words,
        series=tuple(series),
        lines=lines,
        band=band,
        x_labels=() if numeric else tuple(str(g) for g in curve["grid"]),
    )

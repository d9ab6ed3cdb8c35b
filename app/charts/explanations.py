"""Plotly figures of stored explanation evidence, each naming the output space its numbers are in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.common import TOP_LEGEND, layout
from app.ui.text import escape_html, format_value
from core.services.vocabulary import Vocabulary

__all__ = [
    "beeswarm_figure",
    "dependence_figure",
    "importance_figure",
    "partial_dependence_figure",
    "shap_axis",
    "waterfall_figure",
]

_COLORSCALE = [[0.0, "#1f77b4"], [0.5, "#c7c7c7"], [1.0, "#d62728"]]
_RANGE_FILL = "rgba(44, 160, 44, 0.10)"
_MAX_BEESWARM_FEATURES = 15
_MAX_WATERFALL_BARS = 10


def shap_axis(results: Mapping[str, Any], vocab: Vocabulary) -> str:
    """Axis title of SHAP values, naming what the model's output measures."""
    return f"contribution to the {vocab.output_words(results['output_space'])}"


def _names(features: Sequence[str], vocab: Vocabulary) -> list[str]:
    return [escape_html(vocab.feature(f)) for f in features]


# --- Global importance -------------------------------------------------------------------------


def importance_figure(results: Mapping[str, Any], vocab: Vocabulary) -> go.Figure:
    """Mean |SHAP| per feature with its bootstrap 95% interval, most important on top."""
    items = list(results["global_importance"])[::-1]
    fig = go.Figure(
        go.Bar(
            x=[i["mean_abs_shap"] for i in items],
            y=_names([i["feature"] for i in items], vocab),
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [i["ci_high"] - i["mean_abs_shap"] for i in items],
                "arrayminus": [i["mean_abs_shap"] - i["ci_low"] for i in items],
            },
            customdata=[[i["rank"], i["ci_low"], i["ci_high"], 100 * i["share"]] for i in items],
            hovertemplate=(
                "%{y} (rank %{customdata[0]}): %{x:.4f}<br>95% interval "
                "%{customdata[1]:.4f}–%{customdata[2]:.4f}<br>%{customdata[3]:.1f}% of the "
                "total<extra></extra>"
            ),
        )
    )
    return layout(
        fig,
        title={"text": "How much each input moves the output, on average", "x": 0},
        xaxis={"title": f"average size of its {shap_axis(results, vocab)}"},
        height=max(260, 34 * len(items) + 90),
    )


def _swarm_offsets(values: np.ndarray, width: float = 0.38, bins: int = 60) -> np.ndarray:
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


def _colour_values(values: Sequence[Any]) -> list[float | None]:
    """Each numeric value's rank in its column, from 0 (lowest) to 1 (highest); None for text."""
    numbers = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    if numbers.notna().sum() < max(1, len(values) // 2):
        return [None] * len(values)
    ranks = numbers.rank(pct=True)
    return [None if pd.isna(r) else float(r) for r in ranks]


def beeswarm_figure(results: Mapping[str, Any], vocab: Vocabulary) -> go.Figure:
    """SHAP value of every plotted row per feature; colour = the row's value of the feature."""
    order = [i["feature"] for i in results["global_importance"]][:_MAX_BEESWARM_FEATURES]
    summary = {s["feature"]: s for s in results["summary"]}
    fig = go.Figure()
    for position, feature in enumerate(order[::-1]):
        points = summary[feature]
        shap_values = np.asarray(points["shap_values"], dtype=float)
        colours = _colour_values(points["feature_values"])
        numeric = any(c is not None for c in colours)
        fig.add_trace(
            go.Scattergl(
                x=shap_values,
                y=position + _swarm_offsets(shap_values),
                mode="markers",
                name=escape_html(vocab.feature(feature)),
                showlegend=False,
                marker={
                    "size": 4,
                    "opacity": 0.7,
                    **(
                        {
                            "color": np.array([0.5 if c is None else c for c in colours]),
                            "coloraxis": "coloraxis",
                        }
                        if numeric
                        else {"color": "#7f7f7f"}
                    ),
                },
                # numpy arrays: plotly validates them at once, lists item by item (slow)
                customdata=np.array([format_value(v) for v in points["feature_values"]]),
                hovertemplate=f"{escape_html(vocab.feature(feature))} = %{{customdata}}<br>"
                "contribution %{x:.4f}<extra></extra>",
            )
        )
    fig.add_vline(x=0, line={"color": "grey", "width": 1})
    return layout(
        fig,
        title={"text": "Every explained applicant, per input", "x": 0},
        xaxis={"title": shap_axis(results, vocab)},
        yaxis={
            "tickvals": list(range(len(order))),
            "ticktext": _names(order[::-1], vocab),
            "zeroline": False,
        },
        coloraxis={
            "colorscale": _COLORSCALE,
            "cmin": 0,
            "cmax": 1,
            "colorbar": {
                "title": {"text": "feature value"},
                "tickvals": [0, 1],
                "ticktext": ["low", "high"],
                "len": 0.6,
            },
        },
        height=max(300, 42 * len(order) + 100),
    )


# --- Dependence and partial dependence -----------------------------------------------------------


def _numeric(values: Sequence[Any]) -> bool:
    return all(v is None or isinstance(v, int | float) for v in values)


def _mark_range(fig: go.Figure, limits: Mapping[str, Any]) -> None:
    """Shade the feature's operating range (training min to max); dotted lines at p5/p95."""
    if limits.get("kind") != "numeric" or limits.get("minimum") is None:
        return
    fig.add_vrect(
        x0=limits["minimum"],
        x1=limits["maximum"],
        fillcolor=_RANGE_FILL,
        line_width=0,
        layer="below",
        annotation_text=f"{limits['source']} range",
        annotation_position="top left",
    )
    for key in ("p05", "p95"):
        if limits.get(key) is not None:
            fig.add_vline(x=limits[key], line={"dash": "dot", "color": "#2ca02c", "width": 1})


def dependence_figure(
    dependence: Mapping[str, Any], results: Mapping[str, Any], vocab: Vocabulary
) -> go.Figure:
    """SHAP value against feature value for one top feature, operating range shaded."""
    feature = escape_html(vocab.feature(dependence["feature"]))
    values = dependence["feature_values"]
    limits = dependence["operating_range"]
    fig = go.Figure(
        go.Scattergl(
            x=np.array(
                values if _numeric(values) else [format_value(v) for v in values],
                dtype=float if _numeric(values) else object,
            ),
            y=np.asarray(dependence["shap_values"], dtype=float),
            mode="markers",
            marker={"size": 5, "opacity": 0.6},
            hovertemplate=f"{feature} = %{{x}}<br>contribution %{{y:.4f}}<extra></extra>",
            showlegend=False,
        )
    )
    _mark_range(fig, limits)
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    return layout(
        fig,
        title={"text": f"{feature}: its contribution by its value", "x": 0},
        xaxis={"title": feature},
        yaxis={"title": shap_axis(results, vocab)},
        height=380,
    )


def partial_dependence_figure(curve: Mapping[str, Any], vocab: Vocabulary, space: str) -> go.Figure:
    """Average (PD, bold) and individual (ICE, thin) curves; training range shaded, grid
    points outside it marked."""
    feature = escape_html(vocab.feature(curve["feature"]))
    numeric = curve["kind"] == "numeric"
    grid = list(curve["grid"]) if numeric else [format_value(v) for v in curve["grid"]]
    ice_x: list[Any] = []
    ice_y: list[Any] = []
    for line in curve["individual"]:
        ice_x += [*grid, None]
        ice_y += [*line, None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.array(ice_x, dtype=object if not numeric else float),
            y=np.array(ice_y, dtype=float),
            mode="lines",
            line={"color": "rgba(120, 120, 120, 0.25)", "width": 1},
            name=f"individual applicants ({len(curve['individual'])})",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=grid,
            y=curve["average"],
            mode="lines+markers",
            line={"color": "#d62728", "width": 3},
            name=f"average of {curve['n_rows']} applicants",
            hovertemplate=f"{feature} = %{{x}}<br>average %{{y:.4f}}<extra></extra>",
        )
    )
    outside = [k for k, inside in enumerate(curve["grid_inside_range"]) if not inside]
    if outside:
        fig.add_trace(
            go.Scatter(
                x=[grid[k] for k in outside],
                y=[curve["average"][k] for k in outside],
                mode="markers",
                marker={"symbol": "x", "size": 10, "color": "black"},
                name="outside the training range",
            )
        )
    _mark_range(fig, curve["operating_range"])
    return layout(
        fig,
        title={"text": f"{feature}: the output as it changes", "x": 0},
        xaxis={"title": feature},
        yaxis={"title": vocab.output_words(space)},
        legend=TOP_LEGEND,
        height=420,
    )


# --- One decision ----------------------------------------------------------------------------


def waterfall_figure(decision: Mapping[str, Any], vocab: Vocabulary) -> go.Figure:
    """From the base value, each feature's contribution, to the model's output for the row."""
    contributions = list(decision["contributions"])
    shown = contributions[:_MAX_WATERFALL_BARS]
    rest = contributions[_MAX_WATERFALL_BARS:]
    labels = [
        f"{escape_html(vocab.feature(c['feature']))} = "
        f"{escape_html(vocab.value(c['feature'], format_value(c['value'])))}"
        for c in shown
    ]
    values = [c["contribution"] for c in shown]
    if rest:
        labels.append(f"{len(rest)} other features")
        values.append(sum(c["contribution"] for c in rest))
    labels = ["average applicant", *labels, "this applicant"]
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            y=labels,
            x=[decision["base_value"], *values, decision["prediction"]],
            measure=["absolute", *["relative"] * len(values), "total"],
            increasing={"marker": {"color": "#d62728"}},
            decreasing={"marker": {"color": "#1f77b4"}},
            totals={"marker": {"color": "#7f7f7f"}},
            connector={"line": {"color": "#bbbbbb", "width": 1}},
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
            showlegend=False,
        )
    )
    # Waterfalls have no legend of their own: two empty traces give the colours their meaning.
    for colour, name in (("#d62728", "raises the output"), ("#1f77b4", "lowers the output")):
        fig.add_trace(go.Bar(x=[None], y=[None], marker_color=colour, name=name, orientation="h"))
    return layout(
        fig,
        title={"text": "What moved this applicant's output", "x": 0},
        xaxis={"title": vocab.output_words(decision["output_space"])},
        legend=TOP_LEGEND,
        yaxis={"autorange": "reversed"},  # base value on top, the model's output at the bottom
        height=max(320, 32 * len(labels) + 100),
    )

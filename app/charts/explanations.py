"""Plotly figures of stored explanation evidence, each naming the output space its numbers are in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from app.charts.common import TOP_LEGEND, layout
from app.charts.render import bar_figure, line_figure, point_figure
from app.ui.text import escape_html, format_value
from core.charts import (
    MAX_BEESWARM_FEATURES,
    beeswarm_chart,
    dependence_chart,
    importance_chart,
    partial_dependence_chart,
)
from core.services.vocabulary import Vocabulary

__all__ = [
    "beeswarm_figure",
    "dependence_figure",
    "importance_figure",
    "partial_dependence_figure",
    "shap_axis",
    "waterfall_figure",
]

_MAX_WATERFALL_BARS = 10


def shap_axis(results: Mapping[str, Any], vocab: Vocabulary) -> str:
    """Axis title of SHAP values, naming what the model's output measures."""
    return f"contribution to the {vocab.output_words(results['output_space'])}"


def importance_figure(results: Mapping[str, Any], vocab: Vocabulary) -> go.Figure:
    """Mean |SHAP| per feature with its bootstrap 95% interval, most important on top."""
    chart = importance_chart(results, axis=shap_axis(results, vocab), feature_name=vocab.feature)
    fig = bar_figure(chart)
    items = list(results["global_importance"])[::-1]
    fig.update_traces(
        customdata=[[i["rank"], i["ci_low"], i["ci_high"], 100 * i["share"]] for i in items],
        hovertemplate=(
            "%{y} (rank %{customdata[0]}): %{x:.4f}<br>95% interval "
            "%{customdata[1]:.4f}–%{customdata[2]:.4f}<br>%{customdata[3]:.1f}% of the "
            "total<extra></extra>"
        ),
    )
    return fig


def beeswarm_figure(results: Mapping[str, Any], vocab: Vocabulary) -> go.Figure:
    """SHAP value of every plotted row per feature; colour = the row's value of the feature."""
    chart = beeswarm_chart(results, axis=shap_axis(results, vocab), feature_name=vocab.feature)
    order = [i["feature"] for i in results["global_importance"]][:MAX_BEESWARM_FEATURES]
    summary = {s["feature"]: s for s in results["summary"]}
    # One hover text per point, in the chart's order: features bottom up, rows as stored.
    hover = [
        f"{vocab.feature(feature)} = {vocab.value(feature, format_value(v))}"
        for feature in order[::-1]
        for v in summary[feature]["feature_values"]
    ]
    return point_figure(chart, hover=hover)


# --- Dependence and partial dependence -----------------------------------------------------------


def dependence_figure(
    dependence: Mapping[str, Any], results: Mapping[str, Any], vocab: Vocabulary
) -> go.Figure:
    """SHAP value against feature value for one top feature, operating range shaded; a
    categorical feature's values are spread along the axis as text."""
    axis = shap_axis(results, vocab)
    chart = dependence_chart(dependence, axis=axis, feature_name=vocab.feature)
    if chart is not None:
        return point_figure(chart)
    feature = escape_html(vocab.feature(dependence["feature"]))
    values = dependence["feature_values"]
    fig = go.Figure(
        go.Scattergl(
            x=np.array([format_value(v) for v in values], dtype=object),
            y=np.asarray(dependence["shap_values"], dtype=float),
            mode="markers",
            marker={"size": 5, "opacity": 0.6},
            hovertemplate=f"{feature} = %{{x}}<br>contribution %{{y:.4f}}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    return layout(
        fig,
        title={"text": f"{feature}: its contribution by its value", "x": 0},
        xaxis={"title": feature},
        yaxis={"title": escape_html(axis)},
        height=380,
    )


def partial_dependence_figure(curve: Mapping[str, Any], vocab: Vocabulary, space: str) -> go.Figure:
    """Average (PD, bold) and individual (ICE, thin) curves; training range shaded, grid
    points outside it marked."""
    chart = partial_dependence_chart(
        curve, output_words=vocab.output_words(space), feature_name=vocab.feature
    )
    fig = line_figure(chart)
    outside = [k for k, inside in enumerate(curve["grid_inside_range"]) if not inside]
    if outside:
        average = chart.series[-1]
        fig.add_trace(
            go.Scatter(
                x=[average.x[k] for k in outside],
                y=[average.y[k] for k in outside],
                mode="markers",
                marker={"symbol": "x", "size": 10, "color": "black"},
                name="outside the training range",
            )
        )
    fig.update_layout(height=420)
    return fig


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

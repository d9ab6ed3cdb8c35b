"""Plotly figures of stored performance and fairness evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from app.charts.common import layout, show_figure
from app.charts.render import bar_figure, line_figure
from core.charts import calibration_chart, group_rates_chart, roc_chart

__all__ = [
    "calibration_figure",
    "group_rates_figure",
    "roc_figure",
    "score_distribution_figure",
    "show_figure",
]


def group_rates_figure(
    groups: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, str],
    *,
    reference: str | None = None,
    min_ratio: float | None = None,
    y_title: str = "rate",
    failing: Sequence[str] = (),
) -> go.Figure:
    """Bars per group of each metric with its 95% interval; for the selection rate, the
    reference group's rate and the four-fifths line (``min_ratio`` × that rate).

    Groups too small for pass/fail are drawn faint; ``failing`` groups are drawn red, outlined
    and labelled, so the group a check fails on is seen at once. The same chart data as the
    audit report's.
    """
    chart = group_rates_chart(
        groups,
        metrics,
        reference=reference,
        min_ratio=min_ratio,
        value_title=y_title,
        failing=failing,
    )
    return bar_figure(chart)


def calibration_figure(bins: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Reliability diagram: mean predicted score against the observed rate, per score decile."""
    return line_figure(calibration_chart(bins))


def roc_figure(curve: Mapping[str, Sequence[float]], auc: float | None) -> go.Figure:
    """The stored ROC curve with the diagonal of a model that guesses."""
    fig = line_figure(roc_chart(curve, auc))
    fig.update_layout(height=360)
    return fig


def score_distribution_figure(bins: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Rows per calibration bin, drawn over the bin's score range: counts, not densities."""
    fig = go.Figure(
        go.Bar(
            x=[(b["lower"] + b["upper"]) / 2 for b in bins],
            width=[max(b["upper"] - b["lower"], 0.005) for b in bins],
            y=[b["count"] for b in bins],
            customdata=[[b["count"], f"{b['lower']:.2f}–{b['upper']:.2f}"] for b in bins],
            hovertemplate="scores %{customdata[1]}: %{customdata[0]} rows<extra></extra>",
            name="rows",
        )
    )
    fig.update_layout(
        xaxis={"title": "predicted probability", "range": [0, 1]},
        yaxis={"title": "applicants (rows)"},
    )
    return layout(fig)

"""Plotly figures of stored performance and fairness evidence."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from app.charts.common import TOP_LEGEND, error_bars, layout, show_figure
from app.ui.text import format_estimate

__all__ = [
    "calibration_figure",
    "group_rates_figure",
    "roc_figure",
    "score_distribution_figure",
    "show_figure",
]


_PALETTE = ("#1f77b4", "#7f7f7f")
_FAIL = "#b2182b"


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
    and labelled, so the group a check fails on is seen at once.
    """
    fig = go.Figure()
    # Plotly reads a little HTML in labels: group names are shown as text.
    names = [html.escape(str(g["group"])) for g in groups]
    opacity = [1.0 if g["eligible"] else 0.35 for g in groups]
    fails = [str(g["group"]) in set(map(str, failing)) for g in groups]
    for k, (key, title) in enumerate(metrics.items()):
        estimates = [g["metrics"].get(key) or {} for g in groups]
        colour = _PALETTE[k % len(_PALETTE)]
        fig.add_trace(
            go.Bar(
                name=title,
                x=names,
                y=[e.get("value") for e in estimates],
                error_y=error_bars(estimates),
                marker={
                    "opacity": opacity,
                    "color": [_FAIL if f and len(metrics) == 1 else colour for f in fails],
                    "line": {"color": [_FAIL if f else colour for f in fails], "width": 2},
                },
                text=["fails" if f else "" for f in fails] if len(metrics) == 1 else None,
                textposition="inside",
                insidetextanchor="start",
                customdata=[
                    [format_estimate(e), "" if g["eligible"] else " (too small for pass/fail)"]
                    for e, g in zip(estimates, groups, strict=True)
                ],
                hovertemplate="%{x}%{customdata[1]}<br>"
                + html.escape(title)
                + ": %{customdata[0]}<extra></extra>",
            )
        )
    ref = next((g for g in groups if g["group"] == reference), None)
    rate = ((ref or {}).get("metrics", {}).get("selection_rate") or {}).get("value")
    if ref is not None and rate is not None and "selection_rate" in metrics:
        fig.add_hline(
            y=rate,
            line_dash="dash",
            line_color="grey",
            annotation_text=f"reference {html.escape(str(reference))}: {rate:.2f}",
            annotation_position="top left",
            annotation_bgcolor="rgba(255, 255, 255, 0.95)",
            annotation_font_color="#222222",
        )
        if min_ratio is not None:
            fig.add_hline(
                y=min_ratio * rate,
                line_dash="dot",
                line_color="firebrick",
                annotation_text=f"four-fifths line: {min_ratio:g} × reference = {min_ratio * rate:.2f}",
                annotation_position="bottom left",
                annotation_bgcolor="rgba(255, 255, 255, 0.95)",
                annotation_font_color="#222222",
            )
    fig.update_layout(
        barmode="group",
        yaxis_title=y_title,
        legend=TOP_LEGEND,
    )
    return layout(fig)


def calibration_figure(bins: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Reliability diagram: mean predicted score against the observed rate, per score decile."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"dash": "dash", "color": "grey"},
            hoverinfo="skip",
        )
    )
    predicted = [b["mean_predicted"] for b in bins]
    observed = [b["observed_rate"] for b in bins]
    fig.add_trace(
        go.Scatter(
            x=[p.get("value") for p in predicted],
            y=[o.get("value") for o in observed],
            mode="lines+markers",
            name="observed rate (95% interval)",
            error_y=error_bars(observed),
            error_x=error_bars(predicted),
            customdata=[
                [b["count"], f"{b['lower']:.2f}–{b['upper']:.2f}", format_estimate(o)]
                for b, o in zip(bins, observed, strict=True)
            ],
            hovertemplate=(
                "scores %{customdata[1]} (%{customdata[0]} rows)<br>mean predicted %{x:.3f}"
                "<br>observed %{customdata[2]}<extra></extra>"
            ),
        )
    )
    fig.update_layout(
        xaxis={"title": "mean predicted probability", "range": [0, 1]},
        yaxis={"title": "observed positive rate", "range": [0, 1.05]},
        legend=TOP_LEGEND,
    )
    return layout(fig)


def roc_figure(curve: Mapping[str, Sequence[float]], auc: float | None) -> go.Figure:
    """The stored ROC curve with the diagonal of a model that guesses."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="guessing", line={"dash": "dot", "color": "grey"}
        )
    )
    name = "ROC" if auc is None else f"ROC (AUC {auc:.3f})"
    fig.add_trace(go.Scatter(x=list(curve["fpr"]), y=list(curve["tpr"]), mode="lines", name=name))
    fig.update_layout(
        xaxis_title="false-positive rate",
        yaxis_title="true-positive rate",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        height=360,
        legend=TOP_LEGEND,
    )
    return layout(fig)


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

"""Plotly figures of a version's monitoring over time, from the stored monitoring view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from app.charts.common import TOP_LEGEND, layout

__all__ = ["group_rate_figure", "kpi_figure", "metric_figure", "psi_figure"]


def psi_figure(batches: Sequence[Mapping[str, Any]], max_psi: float | None) -> go.Figure:
    """PSI of the score and the largest PSI of any feature per batch, with the policy's maximum."""
    when = [b["scored_at"] for b in batches]
    fig = go.Figure()
    fig.add_scatter(x=when, y=[b["score_psi"] for b in batches], mode="lines+markers", name="Score")
    fig.add_scatter(
        x=when,
        y=[b["max_feature_psi"] for b in batches],
        mode="lines+markers",
        name="Largest feature PSI",
    )
    if max_psi is not None:
        fig.add_hline(y=max_psi, line_dash="dash", annotation_text=f"maximum {max_psi:g}")
    return layout(fig, yaxis_title="PSI", legend=TOP_LEGEND, height=320)


def metric_figure(rows: Sequence[Mapping[str, Any]], metric: str, label: str) -> go.Figure:
    """One metric per labelled batch, with its figure on the evaluation data as a line."""
    mine = [r for r in rows if r["metric"] == metric and r["value"] is not None]
    fig = go.Figure()
    fig.add_scatter(
        x=[r["scored_at"] for r in mine],
        y=[r["value"] for r in mine],
        mode="lines+markers",
        name=label,
    )
    evaluation = next((r["evaluation"] for r in mine if r.get("evaluation") is not None), None)
    if evaluation is not None:
        fig.add_hline(y=evaluation, line_dash="dot", annotation_text=f"evaluation {evaluation:.3f}")
    return layout(fig, yaxis_title=label, legend=TOP_LEGEND, height=320)


def group_rate_figure(
    rows: Sequence[Mapping[str, Any]], column: str, rate: str, label: str
) -> go.Figure:
    """A rate per group of one sensitive column over the labelled batches."""
    fig = go.Figure()
    for group in sorted({r["group"] for r in rows if r["column"] == column}):
        mine = [r for r in rows if r["column"] == column and r["group"] == group]
        fig.add_scatter(
            x=[r["scored_at"] for r in mine],
            y=[r.get(rate) for r in mine],
            mode="lines+markers",
            name=group,
        )
    return layout(fig, yaxis_title=label, legend=TOP_LEGEND, height=320)


def kpi_figure(rows: Sequence[Mapping[str, Any]], kpi: str) -> go.Figure:
    """A KPI per batch against its baseline and hurdle."""
    mine = [r for r in rows if r["kpi"] == kpi]
    fig = go.Figure()
    fig.add_scatter(
        x=[r["scored_at"] for r in mine],
        y=[r["value"] for r in mine],
        mode="lines+markers",
        name=kpi,
    )
    last = mine[-1] if mine else {}
    if last.get("baseline") is not None:
        fig.add_hline(
            y=last["baseline"], line_dash="dot", annotation_text=f"baseline {last['baseline']:g}"
        )
    if last.get("hurdle") is not None:
        fig.add_hline(
            y=last["hurdle"],
            line_dash="dash",
            line_color="#b2182b",
            annotation_text=f"hurdle {last['hurdle']:g}",
        )
    return layout(fig, yaxis_title=kpi, legend=TOP_LEGEND, height=320)

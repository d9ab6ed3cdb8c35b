"""Plotly figures of the governance KPIs: models by tier and stage, open findings by severity
and age, approval times per gate and tier. Each is a ``core.charts`` bar description drawn by
``app.charts.render.bar_figure``, which escapes every label; stacking is the only screen extra.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app.charts.common import show_figure
from app.charts.render import bar_figure
from core.charts.data import BarChart, BarSeries
from core.domain import FindingSeverity
from core.rules.gates import GATE_TITLES
from core.services.kpi_results import GovernanceKpis
from core.services.kpis import AGE_BANDS, TIER_ORDER, UNASSESSED

__all__ = [
    "approval_time_chart",
    "approval_time_figure",
    "findings_age_chart",
    "findings_age_figure",
    "show_governance_charts",
    "tier_stage_chart",
    "tier_stage_figure",
]

STAGE_ORDER = ("development", "qa", "preproduction", "production", "retired")
STAGE_COLOURS = ("#9ecae1", "#6baed6", "#3182bd", "#08519c", "#bdbdbd")
AGE_COLOURS = ("#fdd49e", "#fc8d59", "#b30000")
SEVERITIES = tuple(s.value for s in reversed(list(FindingSeverity)))


def _ordered(values: set[str], order: tuple[str, ...]) -> tuple[str, ...]:
    known = [v for v in order if v in values]
    return (*known, *sorted(values - set(order)))


def _series(name: str, values: list[float], colour: str) -> BarSeries:
    return BarSeries(name, tuple(values), (), (), colour)


def tier_stage_chart(kpis: GovernanceKpis) -> BarChart:
    """Model counts per risk tier, one series per stage."""
    counts = {(c.tier, c.stage): c.models for c in kpis.models_by_tier_stage}
    tiers = _ordered({t for t, _ in counts}, (*TIER_ORDER, UNASSESSED))
    stages = _ordered({s for _, s in counts}, STAGE_ORDER)
    series = tuple(
        _series(
            stage,
            [float(counts.get((t, stage), 0)) for t in tiers],
            STAGE_COLOURS[STAGE_ORDER.index(stage)] if stage in STAGE_ORDER else "#7f7f7f",
        )
        for stage in stages
    )
    return BarChart("Models by risk tier and stage", tiers, series, "models")


def findings_age_chart(kpis: GovernanceKpis) -> BarChart:
    """Open findings per severity, one series per age band."""
    counts = {(c.severity, c.age_band): c.findings for c in kpis.open_findings}
    series = tuple(
        _series(label, [float(counts.get((s, label), 0)) for s in SEVERITIES], colour)
        for (label, _), colour in zip(AGE_BANDS, AGE_COLOURS, strict=True)
    )
    return BarChart("Open findings by severity and age", SEVERITIES, series, "open findings")


def approval_time_chart(kpis: GovernanceKpis) -> BarChart:
    """Median and 90th-percentile days from submission to approval per gate and tier."""
    rows = kpis.approval_times
    labels = tuple(
        f"{GATE_TITLES.get(t.gate_id, t.gate_id)} ({t.tier}, {t.approvals} approved)" for t in rows
    )
    series = (
        _series("median", [t.median_days for t in rows], "#1f77b4"),
        _series("90th percentile", [t.p90_days for t in rows], "#ff7f0e"),
    )
    return BarChart("Days from submission to approval", labels, series, "days", horizontal=True)


def _stacked(chart: BarChart) -> go.Figure:
    fig = bar_figure(chart)
    fig.update_layout(barmode="stack", showlegend=True)
    return fig


def tier_stage_figure(kpis: GovernanceKpis) -> go.Figure:
    return _stacked(tier_stage_chart(kpis))


def findings_age_figure(kpis: GovernanceKpis) -> go.Figure:
    return _stacked(findings_age_chart(kpis))


def approval_time_figure(kpis: GovernanceKpis) -> go.Figure:
    return bar_figure(approval_time_chart(kpis))


def show_governance_charts(kpis: GovernanceKpis) -> None:
    """The three governance charts, each with a line on what it counts."""
    left, right = st.columns(2)
    with left:
        show_figure(tier_stage_figure(kpis), key="kpi_tier_stage")
        st.caption("A model with a production version counts under production.")
    with right:
        show_figure(findings_age_figure(kpis), key="kpi_findings_age")
        st.caption("Open and in-remediation findings, by how long ago they were raised.")
    if kpis.approval_times:
        show_figure(approval_time_figure(kpis), key="kpi_approval_times")
        st.caption("From a gate's first submission to its approval, rejections included.")
    else:
        st.caption("No gate has been approved yet, so there are no approval times to chart.")

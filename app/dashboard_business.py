"""Business value on the dashboard: each model's latest business KPI beside its baseline and
its hurdle, with the KPIs below their hurdle flagged (``core.services.business_kpis``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from app.ui import escape_markdown
from app.ui.links import OPEN, OPEN_SELECTION, open_column, open_selected_model
from core.services.business_kpis import BusinessKpi

__all__ = ["show_business_kpis"]

FLAG = "color: #b2182b; font-weight: 600"


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:g}{(' ' + unit) if unit else ''}"


def business_frame(rows: Sequence[BusinessKpi]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Open": OPEN,
                "Model": r.model,
                "KPI": r.kpi,
                "Latest": _number(r.latest, r.unit),
                "Baseline": _number(r.baseline, r.unit),
                "Hurdle": _number(r.hurdle, r.unit),
                "Better": r.better,
                "Against the baseline": (
                    "—"
                    if r.beats_baseline is None
                    else "better"
                    if r.beats_baseline
                    else "not better"
                ),
                "Status": r.status,
                "Measured": r.measured_at.strftime("%Y-%m-%d") if r.measured_at else "—",
            }
            for r in rows
        ]
    )


def show_business_kpis(rows: Sequence[BusinessKpi]) -> None:
    st.subheader("Business value")
    if not rows:
        st.caption(
            "No model card lists KPI targets yet; add them to a card (kpi_targets) and record "
            "KPI values with the monitoring batches."
        )
        return
    if below := [r for r in rows if r.below_hurdle]:
        names = ", ".join(escape_markdown(f"{r.model} ({r.kpi})") for r in below)
        st.warning(f"Below the hurdle: {names}.", icon=":material/trending_down:")
    frame = business_frame(rows)
    event = st.dataframe(
        frame.style.map(lambda v: FLAG if v == "below hurdle" else "", subset=["Status"]),
        hide_index=True,
        width="stretch",
        key="kpi_business",
        **OPEN_SELECTION,
        column_config={"Open": open_column()},
    )
    open_selected_model(event, [r.model_id for r in rows], columns=("Open", "Model"))
    st.caption("Each KPI's newest value recorded with a monitoring batch, against its card.")

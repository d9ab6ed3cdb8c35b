"""The dashboard's governance figures: a tile per KPI and, under each, the list behind it with
links to the model, the gate or the Findings page. Display only; the figures come from
``core.services.kpis`` and ``core.services.kpi_lists``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app.navigation import NAVIGATION, page_path
from app.ui import escape_label, escape_markdown
from app.ui.links import OPEN, OPEN_SELECTION, open_column, open_selected_model
from core.rules.gates import GATE_TITLES
from core.services.kpi_lists import DriftAlert
from core.services.kpi_results import GovernanceKpis, ModelRef
from core.services.kpis import EXPIRING_DAYS

__all__ = ["MAX_LINKS", "findings_page", "show_governance_tiles"]

#: Links under a list at most; the table above them holds every row.
MAX_LINKS = 10
SEVERITIES = ("critical", "high", "medium", "low")


def findings_page() -> str | None:
    """The Findings page's path when the page is installed and in the navigation (a link to
    a page the navigation does not hold fails), else None: the tables stand alone."""
    path = page_path("findings.py")
    listed = any(file == "findings.py" for pages in NAVIGATION.values() for file, *_ in pages)
    return path if listed and Path(path).exists() else None


def _gate_title(gate_id: str) -> str:
    return GATE_TITLES.get(gate_id, gate_id.replace("_", " ").capitalize())


def _days(age: float) -> str:
    return f"{age:.1f} days" if age < 10 else f"{age:.0f} days"


def _model_table(rows: Sequence[ModelRef], key: str, detail: str) -> None:
    """The models behind a figure; selecting a row's Open cell or name opens the model."""
    frame = pd.DataFrame(
        [
            {
                "Open": OPEN,
                "Model": r.model,
                "Tier": r.tier,
                "Business unit": r.business_unit or "—",
                detail: r.detail,
            }
            for r in rows
        ]
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=key,
        **OPEN_SELECTION,
        column_config={"Open": open_column()},
    )
    open_selected_model(event, [r.model_id for r in rows], columns=("Open", "Model"))


def _gate_links(links: Sequence[tuple[str, int, str]]) -> None:
    """Links to the Gate page: (label, version id, gate id), the first ``MAX_LINKS``."""
    for label, version_id, gate_id in links[:MAX_LINKS]:
        st.page_link(
            page_path("gate.py"),
            label=escape_label(label),
            icon=":material/approval:",
            query_params={"version": str(version_id), "gate": gate_id},
        )


def _findings_link(label: str, params: dict[str, str]) -> None:
    if (page := findings_page()) is not None:
        st.page_link(page, label=label, icon=":material/flag:", query_params=params)


def _production_tile(kpis: GovernanceKpis) -> None:
    rows = kpis.production_without_approvals
    st.metric(
        "In production without approved gates",
        len(rows),
        help="Models whose production version lacks an approval of a gate production needs. "
        "It should be zero.",
    )
    if rows:
        st.error(
            f"{len(rows)} {'model is' if len(rows) == 1 else 'models are'} in production "
            "without every required gate approved: "
            + ", ".join(escape_markdown(r.model) for r in rows[:MAX_LINKS])
            + (", …" if len(rows) > MAX_LINKS else "")
            + ".",
            icon=":material/gpp_bad:",
        )
    else:
        st.success(
            "Every model in production has its required gates approved.",
            icon=":material/verified_user:",
        )


def _lists(kpis: GovernanceKpis, drift: Sequence[DriftAlert]) -> None:
    """The list behind each tile, one expander each, in the tiles' order."""
    missing = kpis.production_without_approvals
    with st.expander(
        f"In production without approved gates ({len(missing)})", expanded=bool(missing)
    ):
        if missing:
            _model_table(missing, "kpi_production", "What is missing")
        else:
            st.caption("Nothing to list: every model in production has its gates approved.")

    with st.expander(f"Overdue periodic reviews ({kpis.overdue_reviews_total})"):
        if kpis.overdue_reviews:
            _model_table(kpis.overdue_reviews, "kpi_reviews", "Review")
        else:
            st.caption("No periodic review is overdue.")

    waiting = kpis.waiting_gates
    with st.expander(f"Gates waiting for approval ({kpis.waiting_gates_total})"):
        if waiting:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Model": w.model,
                            "Version": w.version,
                            "Gate": _gate_title(w.gate_id),
                            "Tier": w.tier,
                            "Waiting since": w.waiting_since.strftime("%Y-%m-%d"),
                            "Age (days)": round(w.age_days, 1),
                        }
                        for w in waiting
                    ]
                ),
                hide_index=True,
                width="stretch",
                key="kpi_waiting",
            )
            _gate_links(
                [
                    (f"Open the {_gate_title(w.gate_id).lower()} gate of {w.model} v{w.version}",
                     w.version_id, w.gate_id)
                    for w in waiting
                ]
            )  # fmt: skip
        else:
            st.caption("No gate waits for its approvers.")

    with st.expander(f"Open findings ({kpis.open_findings_total})"):
        _findings_grid(kpis)

    with st.expander(f"Drift alerts in the last 30 days ({kpis.drift_alerts_30d})"):
        _drift_list(drift)

    with st.expander(f"Waivers in force ({len(kpis.waivers)})"):
        _waiver_list(kpis)


def _findings_grid(kpis: GovernanceKpis) -> None:
    grid: dict[str, dict[str, Any]] = {s: {"Severity": s} for s in SEVERITIES}
    for c in kpis.open_findings:
        row = grid.setdefault(c.severity, {"Severity": c.severity})
        row[c.age_band] = row.get(c.age_band, 0) + c.findings
    frame = pd.DataFrame(list(grid.values())).fillna(0)
    st.dataframe(frame, hide_index=True, width="stretch", key="kpi_findings")
    st.caption(f"Past their due date: {kpis.overdue_findings}.")
    for severity in SEVERITIES:
        if any(c.severity == severity and c.findings for c in kpis.open_findings):
            _findings_link(f"Open {severity} findings", {"severity": severity, "open": "1"})
    if kpis.overdue_findings:
        _findings_link("Overdue findings", {"overdue": "1"})


def _drift_list(drift: Sequence[DriftAlert]) -> None:
    if not drift:
        st.caption("No drift alert in the last 30 days.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Model": a.model,
                    "Version": a.version,
                    "Severity": a.severity,
                    "Status": a.status.replace("_", " "),
                    "Raised": a.raised_at.strftime("%Y-%m-%d"),
                }
                for a in drift
            ]
        ),
        hide_index=True,
        width="stretch",
        key="kpi_drift",
    )
    models = list(dict.fromkeys(a.model for a in drift))[:MAX_LINKS]
    for name in models:
        _findings_link(f"Findings of {escape_label(name)}", {"model": name})


def _waiver_list(kpis: GovernanceKpis) -> None:
    if not kpis.waivers:
        st.caption("No waiver is in force.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Model": w.model,
                    "Gate": _gate_title(w.gate_id),
                    "Check waived": w.check.replace("_", " "),
                    "Expires": w.expires_at.strftime("%Y-%m-%d"),
                    f"Within {EXPIRING_DAYS} days": "expiring" if w.expiring else "",
                }
                for w in kpis.waivers
            ]
        ),
        hide_index=True,
        width="stretch",
        key="kpi_waivers",
    )
    _gate_links(
        [
            (
                f"Open the {_gate_title(w.gate_id).lower()} gate of {w.model}",
                w.version_id,
                w.gate_id,
            )
            for w in kpis.waivers
        ]
    )


def show_governance_tiles(kpis: GovernanceKpis, drift: Sequence[DriftAlert]) -> None:
    """The governance KPIs as tiles, the one that should be zero first, then their lists."""
    st.subheader("Governance at a glance")
    _production_tile(kpis)
    rate = kpis.first_time_rate
    open_by = {s: 0 for s in SEVERITIES}
    for c in kpis.open_findings:
        open_by[c.severity] = open_by.get(c.severity, 0) + c.findings
    oldest = max((w.age_days for w in kpis.waiting_gates), default=None)
    row1 = st.columns(4)
    row1[0].metric("Overdue periodic reviews", kpis.overdue_reviews_total)
    row1[1].metric(
        "Gates waiting",
        kpis.waiting_gates_total,
        help="Submitted gates waiting for their approvers.",
    )
    row1[1].caption(f"Oldest waiting {_days(oldest)}." if oldest is not None else "No gate waits.")
    row1[2].metric(
        "First-time approval rate",
        "—" if rate is None else f"{rate:.0%}",
        help="Approved gates that passed without being sent back first.",
    )
    row1[2].caption(f"{kpis.first_time_approved} of {kpis.approved_gates} approved gates.")
    row1[3].metric("Open findings", kpis.open_findings_total)
    row1[3].caption(" · ".join(f"{s} {open_by[s]}" for s in SEVERITIES))
    row2 = st.columns(4)
    row2[0].metric("Drift alerts (30 days)", kpis.drift_alerts_30d)
    row2[1].metric("Waivers in force", len(kpis.waivers))
    row2[2].metric(f"Waivers expiring within {EXPIRING_DAYS} days", kpis.waivers_expiring)
    row2[3].metric("Overdue findings", kpis.overdue_findings)
    _lists(kpis, drift)

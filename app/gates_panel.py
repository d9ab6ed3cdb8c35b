"""The model page's Gates tab: each version's gates and where they stand, linked to sign-off."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.navigation import page_path
from app.ui import attempt, escape_markdown
from core.rules.gates import GATE_TITLES
from core.services.gate_status import VersionGates, gate_status, gate_summaries

__all__ = ["gates_frame", "render_gates_tab"]


def gates_frame(status: VersionGates) -> pd.DataFrame:
    """A version's gates as a table: state, approvals, who is accountable, what each unlocks."""
    return pd.DataFrame(
        [
            {
                "Gate": g.title,
                "State": g.state,
                "Approvals": f"{g.approvals} of {g.spec.approvers}",
                "Accountable": g.spec.accountable.replace("_", " "),
                "Unlocks stage": g.spec.unlocks_stage or "—",
                "Due": g.due_at.strftime("%Y-%m-%d") if g.due_at else "—",
            }
            for g in status.gates
        ]
    )


def render_gates_tab(model_id: int, current_version_id: int | None) -> None:
    """The current version's gates in full (state, approvals, due), then the other versions'
    in one line each; every gate links to its Gate page."""
    summaries = attempt(lambda s: gate_summaries(session=s, model_id=model_id))
    if summaries is None:
        return
    if not summaries:
        st.info("No version of this model has gates yet: they open once its risk is assessed.")
        return
    shown = next((s for s in summaries if s.version_id == current_version_id), summaries[0])
    status = attempt(lambda s: gate_status(session=s, version_id=shown.version_id))
    if status is None:
        return
    st.markdown(
        escape_markdown(f"Version {status.version} ({status.stage}): gates {shown.status}.")
    )
    st.dataframe(gates_frame(status), hide_index=True, width="stretch")
    waiting = [g for g in status.gates if g.state not in ("approved", "not started")]
    for g in waiting or status.gates[:1]:
        st.page_link(
            page_path("gate.py"),
            label=f"Open the {g.title.lower()} gate ({g.state})",
            icon=":material/approval:",
            query_params={"version": str(status.version_id), "gate": g.gate_id},
        )
    others = [s for s in summaries if s.version_id != shown.version_id]
    if others:
        st.caption("Other versions")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Version": f"v{s.version}",
                        "Stage": s.stage,
                        "Gates": s.status,
                        **{GATE_TITLES.get(k, k): v for k, v in s.states.items()},
                    }
                    for s in others
                ]
            ),
            hide_index=True,
            width="stretch",
        )

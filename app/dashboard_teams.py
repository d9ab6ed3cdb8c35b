"""The friendly leaderboard: teams (business units) whose gates pass first time, best first,
with their counts. It celebrates; it never lists a team as failing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.services.kpi_results import GovernanceKpis

__all__ = ["show_team_leaderboard"]


def leaderboard_frame(kpis: GovernanceKpis) -> pd.DataFrame:
    """One row per team in the order core ranks them: rate, then first-time count."""
    return pd.DataFrame(
        [
            {
                "Rank": rank,
                "Team": t.team,
                "Passed first time": t.first_time,
                "Gates approved": t.approved,
                "First-time rate": f"{t.rate:.0%}",
            }
            for rank, t in enumerate(kpis.teams, start=1)
        ],
        columns=["Rank", "Team", "Passed first time", "Gates approved", "First-time rate"],
    )


def show_team_leaderboard(kpis: GovernanceKpis) -> None:
    st.subheader("Teams whose gates pass first time")
    if not kpis.teams:
        st.caption("Once gates are approved, the teams whose gates pass first time show here.")
        return
    st.caption(
        "Every approved gate counts; a gate approved after a second look is good governance "
        "too. Passing first time is a sign of well-prepared evidence, worth sharing."
    )
    st.dataframe(leaderboard_frame(kpis), hide_index=True, width="stretch", key="kpi_teams")

"""Portfolio dashboard: the governance KPIs with the lists behind them, business value, where
the models' evidence stands, and the audit trail."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.charts.governance import show_governance_charts
from app.dashboard_business import show_business_kpis
from app.dashboard_kpis import show_governance_tiles
from app.dashboard_teams import show_team_leaderboard
from app.navigation import page_path
from app.ui import attempt, escape_markdown
from app.ui.links import OPEN, OPEN_SELECTION, open_column, open_selected_model
from core.services.audit import verify_chain
from core.services.business_kpis import business_kpis
from core.services.dashboard import dashboard_summary
from core.services.kpi_lists import drift_alert_list
from core.services.kpis import governance_kpis
from core.services.reviews import my_reviews

user = user_session.signed_in_user()
st.title("Dashboard")
st.write(f"Welcome, **{escape_markdown(user.display_name)}**.")

waiting = attempt(lambda s: my_reviews(session=s, user=user_session.actor(s))) or []
if waiting:
    st.info(
        f"{len(waiting)} {'gate waits' if len(waiting) == 1 else 'gates wait'} for you; "
        "the oldest first on My reviews.",
        icon=":material/inbox:",
    )
    st.page_link(page_path("reviews.py"), label="Open My reviews", icon=":material/inbox:")


def _governance(s):  # type: ignore[no-untyped-def]
    actor = user_session.actor(s)
    kpis = governance_kpis(session=s, actor=actor)
    drift = drift_alert_list(session=s, actor=actor, now=kpis.as_of)
    return kpis, drift, business_kpis(session=s, actor=actor)


governance = attempt(_governance)
if governance is not None:
    kpis, drift, business = governance
    show_governance_tiles(kpis, drift)
    show_governance_charts(kpis)
    show_team_leaderboard(kpis)
    show_business_kpis(business)

summary = attempt(lambda s: dashboard_summary(session=s, actor=user_session.actor(s)))
if summary is None:
    st.stop()
overview, failing, missing = summary.models, summary.failing, summary.missing
st.subheader("Models and their evidence")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Models", len(overview))
c2.metric("In production", summary.in_production)
c3.metric(
    "Failing evidence",
    len(failing),
    help="Current versions whose newest performance or fairness evidence fails a policy check.",
)
c4.metric("Jobs waiting or running", summary.jobs_pending)

st.subheader("Current versions and their evidence")
if not overview:
    st.info("The inventory is empty; register a model first.")
else:
    colours = {"fail": "color: #b2182b; font-weight: 600", "pass": "color: #1a7837"}
    frame = pd.DataFrame(
        [
            {
                "Open": OPEN,
                "Model": m.model,
                "Stage": m.stage,
                "Performance": m.performance or "—",
                "Fairness": m.fairness or "—",
                "Explanations": m.explanation or "—",
            }
            for m in overview
        ]
    )
    table = st.dataframe(
        frame.style.map(
            lambda v: colours.get(v, ""), subset=["Performance", "Fairness", "Explanations"]
        ),
        hide_index=True,
        width="stretch",
        key="dash_table",
        **OPEN_SELECTION,
        column_config={"Open": open_column()},
    )
    open_selected_model(table, [m.model_id for m in overview], columns=("Open", "Model"))
    if failing:
        st.warning(
            "Failing checks: "
            + ", ".join(m.model for m in failing)
            + ". Open the Fairness and Performance pages for the checks and their thresholds.",
            icon=":material/warning:",
        )
    if missing:
        st.caption("Without evidence yet: " + ", ".join(m.model for m in missing) + ".")

st.subheader("Audit trail")
st.metric("Audit events", f"{summary.audit_events:,}")
if st.button("Verify the audit chain", key="verify_chain", help="Recomputes every event's hash."):
    chain = attempt(lambda s: verify_chain(session=s))
    if chain is not None and chain.intact:
        st.success(
            f"The audit chain is intact: {chain.events:,} events verified.",
            icon=":material/verified:",
        )
    elif chain is not None:
        st.error(chain.problem or "The audit chain does not verify.", icon=":material/error:")

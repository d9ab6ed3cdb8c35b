"""The findings register across the portfolio: filters kept in the URL, the table, one finding
with its history and change form, and the raise form."""

import streamlit as st

from app import session as user_session
from app.finding_forms import raise_form, update_form
from app.findings_view import finding_detail, finding_filters, findings_table, show_last_change
from app.ui import attempt
from core.services.finding_views import get_finding, list_findings
from core.services.inventory import model_choices

user = user_session.signed_in_user()
st.title("Findings")
show_last_change()

models = attempt(lambda s: model_choices(session=s)) or []
filters = finding_filters(models)
views = attempt(
    lambda s: list_findings(
        session=s,
        actor=user_session.actor(s),
        model_id=filters.model_id,
        status=filters.status,
        severity=filters.severity,
        type=filters.type,
        open_only=filters.open_only,
        overdue_only=filters.overdue_only,
    )
)
if views is None:
    st.stop()
overdue = sum(v.overdue for v in views)
noun = "finding matches" if len(views) == 1 else "findings match"
st.caption(f"{len(views)} {noun}, {overdue} overdue; open ones first, most severe first.")
if not views:
    st.write("No finding matches these filters.")
else:
    picked = findings_table(views, key="findings_table")
    if picked is not None:
        st.query_params["finding"] = str(picked)

wanted = st.query_params.get("finding")
if wanted and wanted.isdigit():
    view = attempt(
        lambda s: get_finding(session=s, actor=user_session.actor(s), finding_id=int(wanted))
    )
    if view is not None:
        with st.container(border=True):
            finding_detail(view)
            st.markdown("**Change this finding**")
            update_form(view)
else:
    st.caption("Select a finding's Open cell to see it in full, with its history.")

if models:
    with st.expander("Raise a finding", icon=":material/add:"):
        ids = [i for i, _ in models]
        names = dict(models)
        model_id = st.selectbox(
            "Model",
            ids,
            index=ids.index(filters.model_id) if filters.model_id in ids else 0,
            format_func=names.__getitem__,
            key="findings_raise_model",
        )
        raise_form(model_id, key="findings_raise", show_raised=True)

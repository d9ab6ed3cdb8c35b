"""Portfolio dashboard: what the signed-in person can act on, and the state of the audit trail."""

import streamlit as st

from app import session as user_session
from core.audit import verify_chain
from core.db import session_scope

user = user_session.signed_in_user()
st.title("Dashboard")
st.write(f"Welcome, **{user.display_name}**.")

with session_scope() as session:
    chain = verify_chain(session=session)

col1, col2 = st.columns(2)
col1.metric("Audit events", f"{chain.events:,}")
if chain.intact:
    col2.metric("Audit chain", "intact")
else:
    col2.metric("Audit chain", "BROKEN")
    st.error(chain.problem or "The audit chain does not verify.")

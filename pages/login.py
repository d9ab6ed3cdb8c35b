"""Sign in: local account, or single sign-on when an identity provider is configured."""

import streamlit as st

from app import session as user_session
from app.ui import show_problems
from core.errors import AuthenticationFailed

st.title("Gatehouse")
st.caption("Model governance and review. Sign in to see the inventory, evidence and sign-offs.")

with st.form("sign_in", border=True):
    username = st.text_input("Username", key="login_username")
    password = st.text_input("Password", type="password", key="login_password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    try:
        user_session.sign_in(username, password)
    except AuthenticationFailed as err:
        show_problems(err)
    else:
        st.rerun()

if user_session.sso_configured():
    st.divider()
    if st.button("Sign in with single sign-on", icon=":material/key:"):
        st.login()

"""Gatehouse entrypoint: page config, sign-in, and navigation built from pages/ by role."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import session as user_session
from app.navigation import NAVIGATION, PAGES_DIR, REVIEWER_LANDING, REVIEWER_ROLES
from app.ui import attempt, show_problems
from core.db import check_schema
from core.errors import GatehouseError
from core.services.users import DEMO_PASSWORD, demo_accounts_with_published_password

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_BANNER = (
    "Demo accounts that sign in with the published password {password} are active ({names}): "
    "this installation is for trying Gatehouse, not for real data; an admin should deactivate "
    "them on the Users page."
)


def _page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(PAGES_DIR / file, title=title, icon=icon, default=default)


def main() -> None:
    st.set_page_config(page_title="Gatehouse", page_icon=str(ASSETS / "logo.svg"), layout="wide")
    st.logo(str(ASSETS / "logo.svg"))
    try:
        check_schema()
        user = user_session.current_user()
    except GatehouseError as err:
        show_problems(err)
        st.stop()
        return
    user_session.sync_browser_cookie()
    if user is None:
        st.navigation([_page("login.py", "Sign in", ":material/login:", default=True)]).run()
        return
    user_session.remember(user)
    if demo_names := attempt(lambda s: demo_accounts_with_published_password(session=s)):
        names = ", ".join(demo_names)
        st.warning(DEMO_BANNER.format(password=DEMO_PASSWORD, names=names), icon=":material/key:")
    sections: dict[str, list[st.Page]] = {}
    landing = (
        REVIEWER_LANDING if user.has(*REVIEWER_ROLES) and not user.has("risk_manager") else None
    )
    first = True
    for section, entries in NAVIGATION.items():
        for file, title, icon, roles in entries:
            if roles is None or user.has(*roles):
                default = file == landing if landing else first
                sections.setdefault(section, []).append(_page(file, title, icon, default=default))
                first = False
    with st.sidebar:
        st.caption(f"Signed in as **{user.display_name}** ({', '.join(sorted(user.roles))})")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            user_session.sign_out()
            st.rerun()
    st.navigation(sections).run()


main()

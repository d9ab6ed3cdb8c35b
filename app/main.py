"""Gatehouse entrypoint: page config, sign-in, and navigation built from pages/ by role."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import session as user_session
from app.navigation import (
    NAVIGATION,
    PAGES_DIR,
    missing_role_sentence,
)
from app.session import CurrentUser
from app.ui import attempt, escape_markdown, show_problems
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


def _stand_in(file: str, title: str, body: Path | None, sentence: str = "") -> st.Page:
    """A hidden page at the real page's URL: the sign-in form (body) or a sentence saying which
    role the page needs. Its URL matches the real page's, so signing in or gaining the role
    opens the page the link named (Streamlit names a page by its URL path)."""

    def refuse() -> None:
        st.title(title)
        st.warning(sentence, icon=":material/lock:")

    source = body if body is not None else refuse
    return st.Page(
        source, title=title, url_path=Path(file).stem, visibility="hidden", icon=":material/lock:"
    )


def _signed_out_pages() -> list[st.Page]:
    login = PAGES_DIR / "login.py"
    pages = [st.Page(login, title="Sign in", icon=":material/login:", default=True)]
    for entries in NAVIGATION.values():
        pages += [_stand_in(file, "Sign in", login) for file, _, _, _ in entries]
    return pages


def _pages_for(user: CurrentUser) -> dict[str, list[st.Page]]:
    """The pages the user's roles open, the dashboard first (it says what waits for the user);
    pages their roles lack say which role they need."""
    sections: dict[str, list[st.Page]] = {}
    refused: list[st.Page] = []
    first = True
    for section, entries in NAVIGATION.items():
        for file, title, icon, roles in entries:
            if roles is None or user.has(*roles):
                sections.setdefault(section, []).append(_page(file, title, icon, default=first))
                first = False
            else:
                sentence = missing_role_sentence(title, roles, user.roles)
                refused.append(_stand_in(file, title, None, sentence))
    if refused:
        sections.setdefault(next(iter(sections)), []).extend(refused)
    return sections


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
        st.navigation(_signed_out_pages(), position="hidden").run()
        return
    user_session.remember(user)
    if demo_names := attempt(lambda s: demo_accounts_with_published_password(session=s)):
        names = ", ".join(demo_names)
        st.warning(DEMO_BANNER.format(password=DEMO_PASSWORD, names=names), icon=":material/key:")
    with st.sidebar:
        st.caption(
            f"Signed in as **{escape_markdown(user.display_name)}** ({', '.join(sorted(user.roles))})"
        )
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            user_session.sign_out()
            st.rerun()
    page = st.navigation(_pages_for(user))
    st.set_page_config(page_title=f"{page.title} · Gatehouse")
    page.run()


main()

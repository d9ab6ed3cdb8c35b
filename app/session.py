"""Who is signed in, kept in session state under named keys; pages never use bare strings."""

from __future__ import annotations

import json
from dataclasses import dataclass

import streamlit as st
from sqlmodel import Session
from streamlit.errors import StreamlitSecretNotFoundError

from app.cookie_routes import LOGOUT_PATH, SESSION_PATH
from core.db import session_scope
from core.errors import AuthenticationFailed
from core.services.auth import (
    COOKIE_NAME,
    authenticate,
    end_session,
    resolve_session,
    sign_in_with_sso,
    start_session,
)
from core.services.permissions import roles_of
from core.tables import User

SESSION_ID = "gatehouse.session_id"
PENDING_TICKET = "gatehouse.pending_ticket"
PENDING_LOGOUT = "gatehouse.pending_logout"
SIGNED_OUT = "gatehouse.signed_out"
SSO_REFUSED = "gatehouse.sso_refused"
CURRENT_USER = "gatehouse.current_user"
#: The confirmation of the signature a gate page just took, shown once in the next run.
LAST_SIGNATURE = "gatehouse.last_signature"


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person as pages see them."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


def _current(user: User, roles: set[str]) -> CurrentUser:
    assert user.id is not None
    return CurrentUser(user.id, user.username, user.display_name, frozenset(roles))


def sso_configured() -> bool:
    """Whether an OIDC provider is configured in .streamlit/secrets.toml ([auth])."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def current_user() -> CurrentUser | None:
    """The signed-in user: from this tab's session, else the browser's cookie, else SSO."""
    with session_scope() as session:
        if (sid := st.session_state.get(SESSION_ID)) is not None:
            user = resolve_session(session=session, session_id=sid)
            if user is not None:
                return _current(user, roles_of(session, user))
            st.session_state.pop(SESSION_ID, None)  # expired, revoked or deactivated
        cookie = st.context.cookies.get(COOKIE_NAME)
        if cookie and not st.session_state.get(SIGNED_OUT):
            user = resolve_session(session=session, cookie=cookie)
            if user is not None:
                return _current(user, roles_of(session, user))
        if sso_configured() and st.user.is_logged_in:
            return _sso_user(session)
    return None


def _sso_user(session: Session) -> CurrentUser | None:
    # core matches the e-mail, opens a session row and records the sign-in (or the refusal, once
    # per tab: a refused identity is not retried on every rerun).
    email = str(st.user.get("email") or "")
    refused = st.session_state.get(SSO_REFUSED)
    if refused is not None and refused[0] == email:
        raise AuthenticationFailed(refused[1])
    try:
        start = sign_in_with_sso(session=session, email=email, issuer=str(st.user.get("iss") or ""))
    except AuthenticationFailed as err:
        st.session_state[SSO_REFUSED] = (email, err.problems)
        raise
    st.session_state[SESSION_ID] = start.session_id
    st.session_state[PENDING_TICKET] = start.ticket
    user = resolve_session(session=session, session_id=start.session_id)
    return _current(user, roles_of(session, user)) if user is not None else None


def remember(user: CurrentUser) -> None:
    """Make this run's user available to the page script."""
    st.session_state[CURRENT_USER] = user


def signed_in_user() -> CurrentUser:
    """The user the entrypoint resolved for this run (pages only run when there is one)."""
    user = st.session_state.get(CURRENT_USER)
    if not isinstance(user, CurrentUser):
        st.stop()
    return user


def actor(session: Session, user: CurrentUser | None = None) -> User:
    """The signed-in user's row, to pass to core services as the acting user.

    Code that runs outside the script run (a download button's deferred data callable) has no
    session state: it passes the ``user`` the page read while the script ran.
    """
    row = session.get(User, (user or signed_in_user()).id)
    assert row is not None
    return row


def sign_in(username: str, password: str) -> None:
    """Check the password (core counts failures and locks), then open a session for this tab."""
    with session_scope() as session:
        user = authenticate(session=session, username=username, password=password)
        start = start_session(session=session, user=user)
    st.session_state[SESSION_ID] = start.session_id
    st.session_state[PENDING_TICKET] = start.ticket
    st.session_state.pop(SIGNED_OUT, None)


def sign_out() -> None:
    """Revoke this tab's session in the database and ask the browser to drop its cookie."""
    with session_scope() as session:
        if (sid := st.session_state.get(SESSION_ID)) is not None:
            end_session(session=session, session_id=sid)
        elif cookie := st.context.cookies.get(COOKIE_NAME):
            end_session(session=session, cookie=cookie)
    for key in (SESSION_ID, PENDING_TICKET, SSO_REFUSED, CURRENT_USER):
        st.session_state.pop(key, None)
    st.session_state[SIGNED_OUT] = True
    st.session_state[PENDING_LOGOUT] = True
    if sso_configured() and st.user.is_logged_in:
        st.logout()


def _post(path: str, body: dict[str, str]) -> None:
    # Runs in the browser: the response's Set-Cookie is what makes a sign-in survive a reload.
    st.html(
        "<script>fetch(" + json.dumps(path) + ", {method: 'POST', credentials: 'same-origin', "
        "headers: {'Content-Type': 'application/json'}, body: "
        + json.dumps(json.dumps(body))
        + "});</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def sync_browser_cookie() -> None:
    """Hand a fresh ticket to the browser once, or tell it to drop the cookie after sign-out."""
    if ticket := st.session_state.pop(PENDING_TICKET, None):
        _post(SESSION_PATH, {"ticket": ticket})
    elif st.session_state.pop(PENDING_LOGOUT, False):
        _post(LOGOUT_PATH, {})


__all__ = [
    "CurrentUser",
    "actor",
    "current_user",
    "remember",
    "sign_in",
    "sign_out",
    "signed_in_user",
    "sso_configured",
    "sync_browser_cookie",
]

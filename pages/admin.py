"""Users: add, change roles, deactivate or reactivate, unlock. Auditors see the list only."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.ui import attempt
from core.services.permissions import ADMIN_ROLES, ROLES, Role
from core.services.trusted_types import (
    add_trusted_type,
    list_trusted_types,
    remove_trusted_type,
)
from core.services.users import (
    add_user,
    deactivate_user,
    list_users,
    reactivate_user,
    set_roles,
    unlock_user,
)

ROLES_SAVED = "Roles of {username} changed from {old} to {new}."
ROLES_UNCHANGED = "Roles of {username} are unchanged: {new}."
UNLOCKED = "{username} is unlocked and can sign in again."
DEACTIVATED = "{username} is deactivated and can no longer sign in."
REACTIVATED = "{username} is reactivated and can sign in again."
SELF_DEMOTION = (
    "You are removing your own admin role: you will no longer be able to change users. Confirm "
    "to go ahead."
)
DONE = "gatehouse.admin.done"  # what the last change did, shown after the rerun
CONFIRMING = "gatehouse.admin.confirm_self_demotion"

me = user_session.signed_in_user()
st.title("Users")
if done := st.session_state.pop(DONE, None):
    st.success(done)

users = attempt(lambda s: list_users(session=s, actor=user_session.actor(s)))
if users is None:
    st.stop()

st.dataframe(
    pd.DataFrame(
        [
            {
                "Username": u.username,
                "Name": u.display_name,
                "E-mail": u.email or "",
                "Roles": ", ".join(u.roles),
                "Active": u.is_active,
                "Locked": u.locked,
            }
            for u in users
        ]
    ),
    hide_index=True,
    width="stretch",
)

if not me.has(*ADMIN_ROLES):
    st.info("Auditors see the user list; changes need the admin role.")
    st.stop()

st.subheader("Add a user")
with st.form("add_user", clear_on_submit=False):
    c1, c2 = st.columns(2)
    username = c1.text_input("Username", key="new_username")
    display_name = c2.text_input("Display name", key="new_display_name")
    email = c1.text_input("E-mail (for single sign-on)", key="new_email")
    password = c2.text_input("Initial password", type="password", key="new_password")
    roles = st.multiselect("Roles", ROLES, key="new_roles")
    if st.form_submit_button("Add user", type="primary"):
        added = attempt(
            lambda s: add_user(
                session=s,
                actor=user_session.actor(s),
                username=username,
                password=password,
                roles=roles,
                display_name=display_name or None,
                email=email or None,
            )
        )
        if added is not None:
            st.toast(f"Added {username}.")
            st.rerun()

st.subheader("Change a user")
names = [u.username for u in users]
chosen = st.selectbox("User", names, key="edit_user")
current = next(u for u in users if u.username == chosen)
new_roles = st.multiselect("Roles", ROLES, default=list(current.roles), key=f"roles_{chosen}")
c1, c2, c3 = st.columns(3)
clicked = None
if c1.button("Save roles", key="save_roles"):
    demotes_self = chosen == me.username and Role.admin in current.roles
    if demotes_self and Role.admin not in new_roles:
        st.session_state[CONFIRMING] = chosen
    else:
        clicked = "roles"
if current.is_active and c2.button("Deactivate", key="deactivate"):
    clicked = "deactivate"
if not current.is_active and c2.button("Reactivate", key="reactivate"):
    clicked = "reactivate"
if current.locked and c3.button("Unlock", key="unlock"):
    clicked = "unlock"
if st.session_state.get(CONFIRMING) == chosen:
    st.warning(SELF_DEMOTION)
    k1, k2 = st.columns(2)
    if k1.button("Remove my admin role", key="confirm_self_demotion", type="primary"):
        st.session_state.pop(CONFIRMING)
        clicked = "roles"
    k2.button(
        "Keep it", key="cancel_self_demotion", on_click=lambda: st.session_state.pop(CONFIRMING)
    )


def _roles_text(roles: tuple[str, ...] | list[str]) -> str:
    return ", ".join(roles) or "no role"


def _apply(session, change):  # type: ignore[no-untyped-def]
    actor = user_session.actor(session)
    if change == "roles":
        done = set_roles(session=session, actor=actor, username=chosen, roles=new_roles)
        template = ROLES_SAVED if done.old != done.new else ROLES_UNCHANGED
        return template.format(
            username=chosen, old=_roles_text(done.old), new=_roles_text(done.new)
        )
    if change == "deactivate":
        deactivate_user(session=session, actor=actor, username=chosen)
        return DEACTIVATED.format(username=chosen)
    if change == "reactivate":
        reactivate_user(session=session, actor=actor, username=chosen)
        return REACTIVATED.format(username=chosen)
    unlock_user(session=session, actor=actor, username=chosen)
    return UNLOCKED.format(username=chosen)


if clicked is not None and (done := attempt(lambda s: _apply(s, clicked))):
    st.session_state[DONE] = done
    st.rerun()

st.subheader("Trusted model types")
st.caption(
    "Types every model file may name beyond the built-in list, after an admin's review. Types "
    "that reach the operating system or the interpreter are denied and cannot be added."
)
allowlist = attempt(lambda s: list_trusted_types(session=s, actor=user_session.actor(s)))
if allowlist:
    st.dataframe(pd.DataFrame([t.to_dict() for t in allowlist]), hide_index=True, width="stretch")
elif allowlist is not None:
    st.write("No extra types are trusted.")
with st.form("trust_type", clear_on_submit=False):
    type_name = st.text_input("Type (full dotted name)", key="trust_type_name")
    reason = st.text_input("Why it is safe to build from a model file", key="trust_type_reason")
    add_clicked = st.form_submit_button("Trust type")
    remove_clicked = st.form_submit_button("Remove type")
if add_clicked and attempt(
    lambda s: add_trusted_type(
        session=s, actor=user_session.actor(s), type_name=type_name, reason=reason
    )
):
    st.rerun()
if remove_clicked and attempt(
    lambda s: (
        remove_trusted_type(session=s, actor=user_session.actor(s), type_name=type_name) or True
    )
):
    st.rerun()

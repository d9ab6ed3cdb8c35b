"""The Users page: admins add and change users; others are kept out by core, not only by the menu."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.errors import AuthenticationFailed
from core.services.auth import authenticate
from core.services.permissions import OPERATOR
from core.services.users import set_roles
from core.tables import User, UserRole

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

ADMIN_PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "admin.py")


def test_admin_adds_a_user_and_bad_input_is_listed(signed_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("admin")
    at.switch_page(ADMIN_PAGE).run()
    assert not at.exception
    assert "Users" in [t.value for t in at.title]
    at.text_input(key="new_username").input("olivia")
    at.text_input(key="new_password").input("short")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    errors = [e.value for e in at.error]
    assert "The username 'olivia' is taken; choose another username." in errors
    assert any("shorter than 10 characters" in e for e in errors)
    assert any("at least one role" in e for e in errors)
    assert at.text_input(key="new_username").value == "olivia"  # what was typed is kept
    at.text_input(key="new_username").input("nadia")
    at.text_input(key="new_password").input("a long enough password")
    at.multiselect(key="new_roles").select("validator")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not at.error
    user = session.exec(select(User).where(User.username == "nadia")).one()
    roles = session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all()
    assert roles == ["validator"]


def test_auditor_sees_the_list_but_no_forms(signed_in) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("auditor")
    at.switch_page(ADMIN_PAGE).run()
    assert not at.exception
    assert len(at.dataframe) == 1
    assert "changes need the admin role" in at.info[0].value
    assert len(at.text_input) == 0


def test_the_users_page_is_not_in_an_smes_navigation(signed_in) -> None:  # type: ignore[no-untyped-def]
    # The menu hides it; core.services.users refuses the calls anyway (tests/core/test_auth.py).
    at = signed_in("sme")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(ADMIN_PAGE)


def test_admin_keeps_the_trusted_type_allowlist(signed_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    from core.tables import TrustedType

    at = signed_in("admin")
    at.switch_page(ADMIN_PAGE).run()
    assert "Trusted model types" in [s.value for s in at.subheader]
    at.text_input(key="trust_type_name").input("posix.system")
    at.text_input(key="trust_type_reason").input("I looked at it")
    at.button(key="FormSubmitter:trust_type-Trust type").click().run()
    assert [e.value for e in at.error] == [
        "posix.system can reach the operating system or the interpreter; it is on the denylist "
        "and no one can trust it."
    ]
    at.text_input(key="trust_type_name").input("numpy.absolute")
    at.button(key="FormSubmitter:trust_type-Trust type").click().run()
    assert not at.error and not at.exception
    assert session.exec(select(TrustedType.type_name)).all() == ["numpy.absolute"]
    session.rollback()  # end the read, so the page may write (SQLite has one writer)
    at.button(key="FormSubmitter:trust_type-Remove type").click().run()
    assert not at.error
    assert session.exec(select(TrustedType.type_name)).all() == []


def _roles(session: Session, username: str) -> list[str]:
    session.expire_all()
    user = session.exec(select(User).where(User.username == username)).one()
    roles = sorted(session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all())
    session.rollback()  # end the read: SQLite transactions take the write lock the app needs
    return roles


def _admin_page(signed_in, username: str):  # type: ignore[no-untyped-def]
    at = signed_in("admin")
    at.switch_page(ADMIN_PAGE).run()
    at.selectbox(key="edit_user").select(username).run()
    return at


def test_role_changes_and_unlocks_say_what_was_done(signed_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    at = _admin_page(signed_in, "sam")
    at.multiselect(key="roles_sam").select("validator").run()
    at.button(key="save_roles").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Roles of sam changed from sme to sme, validator."]
    assert _roles(session, "sam") == ["sme", "validator"]
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            authenticate(session=session, username="sam", password="wrong")
    at = _admin_page(signed_in, "sam")
    at.button(key="unlock").click().run()
    assert [s.value for s in at.success] == ["sam is unlocked and can sign in again."]
    assert session.exec(select(User.locked_until).where(User.username == "sam")).one() is None


def test_removing_ones_own_admin_role_asks_first(signed_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    at = _admin_page(signed_in, "ada")
    at.multiselect(key="roles_ada").unselect("admin").select("auditor").run()
    at.button(key="save_roles").click().run()
    assert [w.value for w in at.warning][-1:] == [
        "You are removing your own admin role: you will no longer be able to change users. "
        "Confirm to go ahead."
    ]
    assert _roles(session, "ada") == ["admin"]  # nothing yet
    at.button(key="cancel_self_demotion").click().run()
    assert not any("own admin role" in w.value for w in at.warning)
    assert _roles(session, "ada") == ["admin"]
    # Confirmed, core still refuses: ada is the last active admin.
    at.multiselect(key="roles_ada").unselect("admin").select("auditor").run()
    at.button(key="save_roles").click().run()
    at.button(key="confirm_self_demotion").click().run()
    assert [e.value for e in at.error] == [
        "ada is the last active admin; give another user the admin role before removing it "
        "from ada."
    ]
    assert _roles(session, "ada") == ["admin"]
    # With another admin, the confirmed change goes through.
    set_roles(session=session, actor=OPERATOR, username="audrey", roles=["admin", "auditor"])
    session.commit()
    at = _admin_page(signed_in, "ada")
    at.multiselect(key="roles_ada").unselect("admin").select("auditor").run()
    at.button(key="save_roles").click().run()
    at.button(key="confirm_self_demotion").click().run()
    assert not at.exception
    assert _roles(session, "ada") == ["auditor"]


def test_an_admin_cannot_deactivate_their_own_account(signed_in) -> None:  # type: ignore[no-untyped-def]
    # Hence the last active admin can only be lost by removing their role, refused above.
    at = _admin_page(signed_in, "ada")
    at.button(key="deactivate").click().run()
    assert [e.value for e in at.error] == [
        "You cannot deactivate your own account; ask another admin."
    ]

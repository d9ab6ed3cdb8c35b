"""The Users page: admins add and change users; others are kept out by core, not only by the menu."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

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

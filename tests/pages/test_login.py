"""The sign-in page: nothing is shown before sign-in; refusals never say whether a username exists."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.demo.seed import DEMO_PASSWORD, DEMO_USERS, demo_email
from core.services.permissions import OPERATOR
from core.services.users import add_user, deactivate_user
from tests.pages.conftest import ENTRYPOINT, sign_in, texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both


def test_nothing_but_sign_in_before_login(demo_users: dict[str, str]) -> None:
    at = AppTest.from_file(ENTRYPOINT, default_timeout=30)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Gatehouse"]
    assert "Dashboard" not in texts(at)
    assert at.text_input(key="login_username") is not None
    assert len(at.sidebar.button) == 0  # no sign-out, no navigation to data


REFUSED = (
    "Sign-in refused: the username or password is wrong, or the account is locked or "
    "deactivated; check both, and after 5 failed tries wait 15 minutes or ask an admin to "
    "unlock it."
)


def test_wrong_password_is_refused_with_one_sentence(demo_users: dict[str, str]) -> None:
    at = sign_in(demo_users["admin"], "not the password")
    assert not at.exception
    assert [e.value for e in at.error] == [REFUSED]
    assert [t.value for t in at.title] == ["Gatehouse"]


def test_a_locked_account_answers_like_an_unknown_user(demo_users: dict[str, str]) -> None:
    for _ in range(5):
        sign_in(demo_users["sme"], "wrong password")
    locked = sign_in(demo_users["sme"])  # right password, locked
    unknown = sign_in("nobody-at-all", "wrong password")
    assert [e.value for e in locked.error] == [e.value for e in unknown.error] == [REFUSED]
    assert [t.value for t in locked.title] == ["Gatehouse"]


def test_a_banner_warns_while_demo_accounts_have_the_published_password(
    session: Session,
) -> None:
    for username, name, role in DEMO_USERS[:2]:
        add_user(session=session, actor=OPERATOR, username=username, password=DEMO_PASSWORD,
                 roles=[role], display_name=name, email=demo_email(username))  # fmt: skip
    session.commit()
    at = sign_in("ada")
    assert [w.value for w in at.warning][:1] == [
        "Demo accounts that sign in with the published password gatehouse-demo are active (ada, "
        "olivia): this installation is for trying Gatehouse, not for real data; an admin should "
        "deactivate them on the Users page."
    ]
    deactivate_user(session=session, actor=OPERATOR, username="olivia")
    session.commit()
    at = sign_in("ada")
    assert "(ada)" in at.warning[0].value


def test_no_banner_without_demo_accounts(demo_users: dict[str, str]) -> None:
    at = sign_in(demo_users["admin"])
    assert not any("published password" in w.value for w in at.warning)


def test_sign_in_then_sign_out(demo_users: dict[str, str]) -> None:
    at = sign_in(demo_users["validator"])
    assert not at.exception
    assert "Welcome, **Victor Validator**." in texts(at)
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Gatehouse"]

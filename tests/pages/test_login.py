"""The sign-in page: nothing is shown before sign-in; wrong passwords and lockout are explained."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

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


def test_wrong_password_is_refused_with_one_sentence(demo_users: dict[str, str]) -> None:
    at = sign_in(demo_users["admin"], "not the password")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Unknown username or wrong password; check both and try again."
    ]
    assert [t.value for t in at.title] == ["Gatehouse"]


def test_lockout_is_explained_after_five_failures(demo_users: dict[str, str]) -> None:
    for _ in range(4):
        sign_in(demo_users["sme"], "wrong password")
    at = sign_in(demo_users["sme"], "wrong password")
    assert "locked after 5 failed sign-ins" in at.error[0].value
    at = sign_in(demo_users["sme"])  # right password, still locked
    assert "locked" in at.error[0].value


def test_sign_in_then_sign_out(demo_users: dict[str, str]) -> None:
    at = sign_in(demo_users["validator"])
    assert not at.exception
    assert "Welcome, **Victor Validator**." in texts(at)
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Gatehouse"]

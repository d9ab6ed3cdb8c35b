"""A person signs in, reloads, is still signed in, and signs out, in a real browser."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import session_cookie, sign_in

pytestmark = pytest.mark.browser


def test_refused_before_login_then_sign_in_survives_reload(server: str, browser_page: Page) -> None:
    page = browser_page
    page.goto(server)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # No data page is reachable by URL before sign-in.
    page.goto(f"{server}/admin")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Ada Admin")).to_have_count(0)

    page.goto(server)
    sign_in(page, "ada")
    expect(page.get_by_text("Welcome, Ada Admin")).to_be_visible()
    # The browser holds the session only as an HttpOnly cookie.
    assert session_cookie(page)["httpOnly"] is True
    assert "gatehouse_session" not in page.evaluate("document.cookie")

    page.reload()
    expect(page.get_by_text("Welcome, Ada Admin")).to_be_visible()
    page.goto(f"{server}/admin")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Welcome, Ada Admin")).to_have_count(0)


def test_wrong_password_is_explained(server: str, browser_page: Page) -> None:
    page = browser_page
    page.goto(server)
    page.get_by_role("textbox", name="Username").fill("sam")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Sign-in refused: the username or password is wrong")).to_be_visible()


def test_session_route_refuses_unknown_tickets(server: str) -> None:
    req = urllib.request.Request(  # noqa: S310
        f"{server}/gatehouse/session", data=b'{"ticket": "made-up"}', method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)  # noqa: S310
    info.value.close()
    assert info.value.code == 403

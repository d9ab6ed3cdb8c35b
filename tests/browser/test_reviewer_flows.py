"""What reviewers do in a real browser, one demo role per context: downloads deliver files, the
chosen model survives navigation and shared links, role-less pages say which role they need,
the Audit page filters and exports, every page an admin opens reads in business words, and the
last admin cannot be removed. With the gate walk, every demo role signs in in its own context."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, session_cookie, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Browser:
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _context_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def idle(page: Page) -> None:
    """Wait until Streamlit has finished rerunning the script."""
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def _as(browser: Browser, server: str, username: str) -> Page:
    page = _context_page(browser)
    page.goto(server)
    sign_in(page, username)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    session_cookie(page)
    idle(page)
    return page


def _model_picker(page: Page):  # type: ignore[no-untyped-def]
    """The model picker's input, whose value is the model shown."""
    return page.get_by_role("combobox", name="Model")


def _choose_model(page: Page, name: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text="Model").first.click()
    page.get_by_role("option", name=name).click()
    idle(page)
    expect(_model_picker(page)).to_have_value(name)


def test_both_inventory_downloads_deliver_a_file(server: str, browser: Browser) -> None:
    page = _as(browser, server, "sam")
    page.goto(f"{server}/inventory")
    idle(page)
    for label in ("Download CSV", "Download for Excel"):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        path = Path(info.value.path())
        text = path.read_bytes().decode("utf-8-sig")
        assert "credit-gbm" in text and "credit-logit" in text, label
    page.context.close()


def test_the_model_choice_survives_navigation_and_shared_links(
    server: str, browser: Browser
) -> None:
    victor = _as(browser, server, "victor")
    victor.goto(f"{server}/performance")
    idle(victor)
    expect(_model_picker(victor)).to_have_value("credit-gbm")  # production, not alphabetical
    _choose_model(victor, "credit-logit")
    victor.get_by_test_id("stSidebarNav").get_by_role("link", name="Fairness").click()
    idle(victor)
    expect(victor.get_by_role("heading", name="Fairness")).to_be_visible()
    expect(_model_picker(victor)).to_have_value("credit-logit")
    expect(victor).to_have_url(re.compile(r"model=\d+.*version=\d+"))
    shared = victor.url
    victor.context.close()

    rita = _as(browser, server, "rita")  # a colleague, signed in, opens the link
    rita.goto(shared)
    idle(rita)
    expect(rita.get_by_role("heading", name="Fairness")).to_be_visible()
    expect(_model_picker(rita)).to_have_value("credit-logit")
    rita.context.close()

    stranger = _context_page(browser)  # signed out: the link leads there after sign-in
    stranger.goto(shared)
    expect(stranger.get_by_role("button", name="Sign in")).to_be_visible()
    expect(stranger.get_by_text("Page not found")).to_have_count(0)
    sign_in(stranger, "carla")
    expect(stranger.get_by_role("heading", name="Fairness")).to_be_visible()
    idle(stranger)
    expect(_model_picker(stranger)).to_have_value("credit-logit")
    stranger.context.close()


def test_a_page_the_role_lacks_says_which_role_it_needs(server: str, browser: Browser) -> None:
    page = _as(browser, server, "sam")
    page.goto(f"{server}/audit")
    idle(page)
    expect(page.get_by_text("The Audit trail page needs the role auditor")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.context.close()


def test_the_audit_page_filters_and_exports(server: str, browser: Browser) -> None:
    page = _as(browser, server, "audrey")
    page.goto(f"{server}/audit")
    idle(page)
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    _choose_model(page, "credit-gbm")
    # The caption names the filter once the rerun that applied it has drawn the page (and the
    # download button of that run, whose export reads the same filters).
    expect(page.get_by_text(re.compile(r"^Page 1 · \d+ events about credit-gbm"))).to_be_visible()
    idle(page)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    assert text.startswith("sequence,occurred_at_utc,user,action,subject,description,hash")
    assert "registered credit-gbm v1" in text and "credit-logit" not in text
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_text("The audit chain is intact")).to_be_visible()
    page.context.close()


#: Developer words and Python's own text that a business reader must never see.
JARGON = re.compile(
    r"predict_proba|decision_function|class 1\b|\bNone\b"
    r"|\{'|\['|np\.\w+\(|<class |datetime\.datetime\(|Timestamp\("
)


def test_an_admin_reads_every_page_in_business_words_and_cannot_remove_the_last_admin(
    server: str, browser: Browser
) -> None:
    page = _as(browser, server, "ada")
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_role("button", name=re.compile(r"^View \d+ more"))
    if more.count():  # a long navigation shows its first pages until asked for the rest
        more.click()
    # Each link reads its icon's ligature name, then its title.
    titles = [link.inner_text().strip().splitlines()[-1] for link in nav.get_by_role("link").all()]
    assert {"Dashboard", "Fairness", "Explanations", "Users", "Audit trail"} <= set(titles)
    for title in titles:
        nav.get_by_role("link", name=re.compile(rf"{re.escape(title)}$")).click()
        idle(page)
        expect(page.get_by_test_id("stMain")).to_be_visible()
        shown = page.get_by_test_id("stMain").inner_text()
        assert not JARGON.search(shown), (title, JARGON.findall(shown))
        assert "Traceback" not in shown, title

    # ada is the demo's only admin: removing her own admin role asks first, then core refuses.
    page.goto(f"{server}/admin")
    idle(page)
    roles = page.get_by_test_id("stMultiSelect").filter(has_text="admin").last
    roles.get_by_role("button", name=re.compile("admin", re.IGNORECASE)).first.click()
    idle(page)
    page.get_by_role("combobox", name="Roles").last.click()  # and gives herself another role
    page.get_by_role("option", name="auditor", exact=True).click()
    page.keyboard.press("Escape")
    idle(page)
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_text("You are removing your own admin role")).to_be_visible()
    page.get_by_role("button", name="Remove my admin role").click()
    expect(page.get_by_text("ada is the last active admin")).to_be_visible()
    page.goto(f"{server}/admin")  # still an admin: the page and its forms are there
    idle(page)
    expect(page.get_by_role("button", name="Save roles")).to_be_visible()
    page.context.close()

"""A subject matter expert finds the demo's injected age bias as a failed check, in a browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import session_cookie, sign_in

pytestmark = pytest.mark.browser


def _signed_in(page: Page, server: str, username: str, display: str) -> None:
    page.goto(server)
    sign_in(page, username)
    expect(page.get_by_text(f"Welcome, {display}")).to_be_visible()
    session_cookie(page)  # pages opened by URL from here on are signed in


def _choose(page: Page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option", name=option).click()


def test_sme_sees_the_failed_four_fifths_check(server: str, browser_page: Page) -> None:
    page = browser_page
    _signed_in(page, server, "sam", "Sam")
    page.goto(f"{server}/fairness")
    _choose(page, "Model", "credit-gbm")
    expect(page.get_by_text("Fairness of credit-gbm v1: 6 of 9 checks fail.")).to_be_visible()
    # The failing feature's tab opens first, its failing group named under the group table.
    expect(page.get_by_role("tab", name="Age band").first).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.get_by_text("Highlighted: 18-25, where the check fails.")).to_be_visible()
    # An SME reads evidence but cannot compute it.
    expect(page.get_by_role("button", name="Compute fairness evidence")).to_have_count(0)


def test_validator_runs_an_explanation_job_in_the_background(
    server: str, browser_page: Page
) -> None:
    page = browser_page
    _signed_in(page, server, "victor", "Victor")
    page.goto(f"{server}/explanations")
    _choose(page, "Model", "credit-logit")
    expect(page.get_by_text("Additivity holds")).to_be_visible()  # the demo's stored evidence
    page.get_by_text("Compute explanation evidence").click()
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-script-state", "notRunning")
    seed = page.get_by_label("Seed")
    seed.fill("5")
    seed.press("Enter")
    # The seed reaches the server in a rerun: wait for it to finish, and for the button to be
    # the one of the page that rerun drew, before pressing it.
    expect(seed).to_have_value("5")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
    evidence_picker = page.get_by_role("combobox", name="Evidence shown")
    stored = evidence_picker.input_value().split(" · ")[0]  # the demo's stored evidence
    button = page.get_by_role("button", name="Compute explanations")
    expect(button).to_be_enabled(timeout=60_000)
    button.click()
    expect(page.get_by_text("Explanation job #")).to_be_visible(timeout=60_000)
    # The server's worker thread runs the job; the page follows it and then shows the result.
    expect(evidence_picker).not_to_have_value(re.compile(rf"^{stored} "), timeout=60_000)
    expect(evidence_picker).to_have_value(re.compile(r"^#\d+ · .* · pass$"))
    expect(page.get_by_text("Additivity holds")).to_be_visible()

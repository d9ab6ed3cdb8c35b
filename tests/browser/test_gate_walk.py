"""A fresh version of a demo model walks through every gate in a real browser: each gate's
Responsible, Consulted and Accountable person signs in their own browser context, one attempt is
refused by segregation of duties, one by a wrong password, and one approval goes stale when a
validator computes newer evidence, and is signed again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import skops.io
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlmodel import select

from core.config import reset_settings
from core.db import dispose_engines, session_scope
from core.demo.data import SENSITIVE, TARGET
from core.demo.risk import DEMO_ANSWERS
from core.demo.seed import DEMO_PASSWORD
from core.rules.segregation import SOD_SUBMIT_APPROVE
from core.services.evidence import compute_explanation, evaluate_version
from core.services.gate_status import GateView, gate_status
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.risk import assess_model
from core.services.signatures import WRONG_SIGNING_PASSWORD
from core.services.users import set_roles
from core.tables import AuditEvent, Evidence, User
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, demo_server, session_cookie, sign_in

pytestmark = pytest.mark.browser

# Retrained without age or its proxies (employment, years employed) after the demo's ideation
# rejection ("Age is a proxy risk"): its fairness evidence passes the medium tier's checks, so
# every gate can be approved on the evidence, with no waiver.
WITHOUT_AGE = ["income", "debt_ratio", "region"]
# The medium tier's gates, in order: (id, title, Responsible, Consulted, Accountable).
WALK = (
    ("business_scoping", "Business scoping", "sam", ("carla",), "olivia"),
    ("development", "Development", "devi", ("sam",), "olivia"),
    ("validation", "Validation", "victor", ("olivia", "carla"), "rita"),
    ("deployment", "Deployment", "milo", (), "olivia"),
    ("monitoring", "Monitoring and periodic review", "milo", (), "olivia"),
)
LONG = 120_000  # ms: a busy two-core machine computing evidence while other tests run


@dataclass(frozen=True)
class Walk:
    """The server and the fresh version its gates are walked for."""

    url: str
    model_id: int
    version_id: int


def _fresh_version(data: Path) -> dict[str, int]:
    """Register credit-logit v2 as its developer, compute its evidence, and have its owner
    assess its risk so its gates open; milo, an ML engineer, also owns models in this team."""
    demo = data / "demo"
    train = pd.read_csv(demo / "train.csv")
    prepare = ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ["region"],
            ),
            ("numeric", StandardScaler(), ["income", "debt_ratio"]),
        ]
    )
    model = Pipeline([("prepare", prepare), ("model", LogisticRegression(max_iter=2_000))])
    artifact = data / "credit-logit-without-age.skops"
    skops.io.dump(model.fit(train[WITHOUT_AGE], train[TARGET]), artifact)
    with session_scope() as s:
        users = {u.username: u for u in s.exec(select(User)).all()}
        registered = register_version(
            session=s,
            actor=users["devi"],
            name="credit-logit",
            artifact=artifact,
            eval_data=demo / "eval.csv",
            train_data=demo / "train.csv",
            target=TARGET,
            sensitive=SENSITIVE,
            provenance="The demo's synthetic credit applications, as for version 1.",
        )
    with session_scope() as s:
        devi = s.exec(select(User).where(User.username == "devi")).one()
        evaluate_version(
            session=s, actor=devi, version_id=registered.version_id, segments=["region"]
        )
        compute_explanation(session=s, actor=devi, version_id=registered.version_id, rows=300)
    with session_scope() as s:
        olivia = s.exec(select(User).where(User.username == "olivia")).one()
        assess_model(
            session=s,
            actor=olivia,
            model_id=registered.model_id,
            answers=DEMO_ANSWERS["credit-logit"][0],
        )
        set_roles(session=s, actor=OPERATOR, username="milo", roles=["ml_engineer", "model_owner"])
    return {"model_id": registered.model_id, "version_id": registered.version_id}


@pytest.fixture(scope="module")
def walk(seeded_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    """Its own demo server (the walk changes the database other browser tests read)."""
    data = tmp_path_factory.mktemp("walk-data")
    ids: dict[str, int] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEHOUSE_DATA_DIR", str(data))
        mp.delenv("GATEHOUSE_DATABASE_URL", raising=False)
        reset_settings()
        try:
            with demo_server(
                seeded_demo, data, prepare=lambda: ids.update(_fresh_version(data))
            ) as url:
                yield Walk(url=url, **ids)
        finally:
            dispose_engines()
            reset_settings()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=60_000)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def idle(page: Page) -> None:
    """Wait until Streamlit has finished rerunning the script."""
    expect(page.get_by_test_id("stApp")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=LONG
    )


class People:
    """One signed-in browser context per person, opened the first time they act."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser, self.url, self.pages = browser, url, {}

    def __call__(self, username: str) -> Page:
        if username not in self.pages:
            context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(self.url)
            sign_in(page, username)
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            session_cookie(page)  # pages opened by URL from here on are signed in
            idle(page)
            self.pages[username] = page
        return self.pages[username]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def _heading(page: Page, title: str, state: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("heading", name=f"{title}: {state}", exact=True)


def _open_gate(page: Page, walk: Walk, gate_id: str, title: str, state: str) -> None:
    page.goto(f"{walk.url}/gate?version={walk.version_id}&gate={gate_id}")
    expect(_heading(page, title, state)).to_be_visible()
    idle(page)


def _sign(
    page: Page,
    act: str,
    comment: str,
    *,
    meaning: str,
    opinion: str | None = None,
    password: str = DEMO_PASSWORD,
) -> None:
    """Choose the act, read and confirm its meaning, re-enter the password and sign."""
    acts = page.get_by_test_id("stRadio").filter(has_text="What you do")
    choice = acts.get_by_role("radio", name=act, exact=True)
    if not choice.is_checked():
        acts.get_by_text(act, exact=True).click()
        expect(choice).to_be_checked()
        idle(page)
    form = page.get_by_test_id("stForm")
    expect(form.get_by_text(meaning, exact=True)).to_be_visible()
    if opinion is not None:
        form.get_by_test_id("stRadio").get_by_text(opinion, exact=True).click()
    form.get_by_label("Comment (reasons, links to evidence)").fill(comment)
    confirm = form.get_by_role("checkbox", name="I confirm the meaning above")
    if not confirm.is_checked():
        form.get_by_text("I confirm the meaning above").click()
    expect(confirm).to_be_checked()
    form.get_by_label("Re-enter your password to sign").fill(password)
    form.get_by_role("button", name="Sign").click()


def _views(walk: Walk) -> dict[str, GateView]:
    """The gates as the service reads them, from the server's database."""
    with session_scope() as s:
        return {g.gate_id: g for g in gate_status(session=s, version_id=walk.version_id).gates}


def _count(action: str) -> int:
    with session_scope() as s:
        return len(s.exec(select(AuditEvent.id).where(AuditEvent.action == action)).all())


def _newest_evidence(walk: Walk, kind: str) -> int:
    with session_scope() as s:
        ids = s.exec(
            select(Evidence.id).where(Evidence.version_id == walk.version_id, Evidence.kind == kind)
        ).all()
    return max(i for i in ids if i is not None)


def _meaning(act: str, title: str, unlocks: str | None = None) -> str:
    gate = title.lower()
    text = {
        "submit": f"I submit the {gate} gate of version 2 of credit-logit for approval",
        "opinion": f"I give my opinion on the {gate} gate of version 2 of credit-logit",
        "approve": f"I approve version 2 of credit-logit at the {gate} gate",
    }[act]
    return text + (f" for {unlocks}" if unlocks else "") + "."


UNLOCKS = {"development": "qa", "validation": "preproduction", "deployment": "production"}


def _submit(people: People, walk: Walk, gate_id: str, title: str, who: str, state: str) -> None:
    page = people(who)
    _open_gate(page, walk, gate_id, title, state)
    _sign(
        page,
        "Submit for approval",
        f"{title}: the work is done, see the evidence.",
        meaning=_meaning("submit", title),
    )
    expect(_heading(page, title, "submitted")).to_be_visible()
    idle(page)


def _opinion(people: People, walk: Walk, gate_id: str, title: str, who: str) -> None:
    page = people(who)
    _open_gate(page, walk, gate_id, title, "submitted")
    before = len(_views(walk)[gate_id].signatures)
    meaning = _meaning("opinion", title)
    _sign(
        page,
        "Give my opinion",
        f"{who} read the evidence of the {title.lower()} gate.",
        meaning=meaning,
        opinion="concur",
    )
    # An opinion leaves the gate submitted: the confirmation is what shows it was taken.
    # The page's confirmation, not the toast that says the same for a few seconds.
    confirmation = page.get_by_test_id("stAlert").filter(
        has_text=f"Signed: {meaning} The gate is now submitted."
    )
    expect(confirmation).to_be_visible()
    idle(page)
    view = _views(walk)[gate_id]
    assert [(s.act, s.username, s.opinion) for s in view.signatures[before:]] == [
        ("opinion", who, "concur")
    ]


def _approve(people: People, walk: Walk, gate_id: str, title: str, who: str) -> None:
    page = people(who)
    _open_gate(page, walk, gate_id, title, "submitted")
    _sign(
        page,
        "Approve",
        f"{title} approved on the evidence shown.",
        meaning=_meaning("approve", title, UNLOCKS.get(gate_id)),
    )
    expect(_heading(page, title, "approved")).to_be_visible()
    idle(page)


def _refused_own_approval(people: People, walk: Walk) -> None:
    """milo submitted the deployment gate and also owns models: the page offers him the
    approval, and the service refuses it with the rule's sentence; nothing changes."""
    page = people("milo")
    refusals = _count("gate_act_refused")
    _sign(
        page,
        "Approve",
        "Approving my own deployment.",
        meaning=_meaning("approve", "Deployment", "production"),
    )
    expect(page.get_by_text(SOD_SUBMIT_APPROVE.format(who="milo"))).to_be_visible()
    idle(page)
    expect(_heading(page, "Deployment", "submitted")).to_be_visible()
    view = _views(walk)["deployment"]
    assert view.state == "submitted" and view.approvals == 0
    assert [s.act for s in view.signatures] == ["submit"]
    assert _count("gate_act_refused") == refusals + 1


def _refused_wrong_password(people: People, walk: Walk) -> None:
    page = people("rita")
    _open_gate(page, walk, "validation", "Validation", "submitted")
    refusals = _count("signature_refused")
    _sign(
        page,
        "Approve",
        "Validated independently.",
        meaning=_meaning("approve", "Validation", "preproduction"),
        password="not my password",
    )
    expect(page.get_by_text(WRONG_SIGNING_PASSWORD)).to_be_visible()
    idle(page)
    expect(_heading(page, "Validation", "submitted")).to_be_visible()
    view = _views(walk)["validation"]
    assert view.state == "submitted" and view.approvals == 0
    assert _count("signature_refused") == refusals + 1


def _validator_recomputes_performance(people: People, walk: Walk) -> tuple[int, int]:
    """victor computes performance evidence again with another seed, on the Performance page."""
    page = people("victor")
    old = _newest_evidence(walk, "performance")
    page.goto(f"{walk.url}/performance?model={walk.model_id}&version={walk.version_id}")
    expect(page.get_by_role("heading", name="Performance", exact=True)).to_be_visible()
    idle(page)
    box = page.get_by_test_id("stExpander").filter(has_text="Compute performance evidence")
    box.get_by_text("Compute performance evidence").first.click()
    for label, value in (("Bootstrap replicates", "200"), ("Seed", "7")):
        field = box.get_by_role("spinbutton", name=label)
        field.fill(value)
        field.press("Enter")
        expect(field).to_have_value(value)
        idle(page)
    button = box.get_by_role("button", name="Compute performance evidence")
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_text(re.compile(r"Stored new performance evidence #\d+"))).to_be_visible(
        timeout=LONG
    )
    idle(page)
    new = _newest_evidence(walk, "performance")
    assert new > old
    return old, new


def _stale_and_signed_again(people: People, walk: Walk) -> None:
    old, new = _validator_recomputes_performance(people, walk)
    view = _views(walk)["development"]
    assert view.state == "stale"
    assert view.changes[0] == f"performance evidence #{old} → #{new}"
    page = people("olivia")
    _open_gate(page, walk, "development", "Development", "stale")
    expect(page.get_by_text("What this gate signed has changed since sign-off")).to_be_visible()
    expect(page.get_by_text("Changes since sign-off")).to_be_visible()
    # The owner cannot approve a stale gate; the developer resubmits on the new evidence.
    expect(page.get_by_text("Nothing for you to sign here now")).to_be_visible()
    _submit(people, walk, "development", "Development", "devi", "stale")
    _approve(people, walk, "development", "Development", "olivia")
    view = _views(walk)["development"]
    assert view.state == "approved" and view.changes == []


def _first_approval_from_my_reviews(people: People, walk: Walk) -> None:
    """The Accountable finds the submitted gate in My reviews and opens it from there."""
    page = people("olivia")
    page.goto(f"{walk.url}/reviews")
    expect(page.get_by_role("heading", name="My reviews")).to_be_visible()
    idle(page)
    page.get_by_role("link", name="Open the business scoping gate of credit-logit v2").click()
    expect(_heading(page, "Business scoping", "submitted")).to_be_visible()
    idle(page)


def test_a_version_walks_through_every_gate(walk: Walk, browser: Browser) -> None:
    assert [g for g in _views(walk)] == [gate_id for gate_id, *_ in WALK]
    people = People(browser, walk.url)
    try:
        for gate_id, title, responsible, consulted, accountable in WALK:
            _submit(people, walk, gate_id, title, responsible, "in progress")
            for who in consulted:
                _opinion(people, walk, gate_id, title, who)
            if gate_id == "business_scoping":
                _first_approval_from_my_reviews(people, walk)
            if gate_id == "validation":
                _refused_wrong_password(people, walk)
            if gate_id == "deployment":
                _refused_own_approval(people, walk)
            _approve(people, walk, gate_id, title, accountable)
            if gate_id == "development":
                _stale_and_signed_again(people, walk)

        views = _views(walk)
        assert {g: v.state for g, v in views.items()} == dict.fromkeys(views, "approved")
        page = people("rita")
        page.goto(f"{walk.url}/gate?version={walk.version_id}")
        picker = page.get_by_role("combobox", name="Model version")
        expect(picker).to_have_value("credit-logit v2 (development) — gates: all approved")
        idle(page)
        expect(page.get_by_text("Nothing for you to sign here now")).to_be_visible()
    finally:
        people.close()

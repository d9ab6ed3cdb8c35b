"""Every page in the navigation renders for someone who may see it, in business language; pages
a role lacks say which role they need; the chosen model follows the person across pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from app.navigation import MISSING_ROLE, NAVIGATION
from core.services.evidence import compute_explanation, evaluate_version
from core.services.permissions import OPERATOR
from core.tables import ModelVersion
from tests.pages.conftest import ENTRYPOINT
from tests.snapshots import built_once

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

HERE = Path(__file__).parent
PAGES = Path(__file__).resolve().parents[2] / "pages"
ENTRIES = [
    (file, title, roles) for entries in NAVIGATION.values() for file, title, _, roles in entries
]
#: Developer words and Python's own text that a business reader must never see.
JARGON = re.compile(
    r"predict_proba|decision_function|class 1\b|\bNone\b"
    r"|\{'|\['|np\.\w+\(|<class |datetime\.datetime\(|Timestamp\("
)


def _visible_text(at: AppTest) -> Iterator[str]:
    """Everything a person reads on the page: text, labels, options, cells and headers."""
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "exception",
    ):
        for element in getattr(at, kind):
            yield str(element.value)
    for metric in at.metric:
        yield f"{metric.label} {metric.value}"
    for tab in at.tabs:
        yield str(tab.label)
    for widget in [*at.selectbox, *at.multiselect, *at.radio]:
        yield str(widget.label)
        yield from (str(o) for o in widget.options)
    for widget in [*at.text_input, *at.number_input, *at.text_area, *at.button, *at.toggle]:
        yield str(widget.label)
    for expander in at.expander:
        yield str(expander.label)
    for frame in at.dataframe:
        table = frame.value
        yield from (str(c) for c in table.columns)
        for column in table.columns:
            yield from (_cell(v) for v in table[column].tolist())


def _cell(value: Any) -> str:
    # A missing number in a numeric column is drawn as an empty cell, not as text.
    return "" if isinstance(value, float) and value != value else str(value)


def jargon_on(at: AppTest) -> list[str]:
    """The pieces of page text that contain jargon or a Python repr."""
    return [text for text in _visible_text(at) if JARGON.search(text)]


def open_url(at: AppTest, url_path: str) -> AppTest:
    """Open a page by its URL path, as a link does (Streamlit names pages by that hash)."""
    at._page_hash = calc_hash(url_path)
    return at.run()


@pytest.fixture
def with_evidence(session: Session, demo_models: dict[str, int]) -> dict[str, int]:
    """Stored performance, fairness and explanation evidence for the production credit-gbm."""
    vid = demo_models["credit-gbm"]

    def build() -> dict[str, int]:
        evaluate_version(
            session=session, actor=OPERATOR, version_id=vid, segments=["region"], n_boot=50
        )
        compute_explanation(
            session=session, actor=OPERATOR, version_id=vid, rows=300, background=50
        )
        session.commit()
        return demo_models

    return built_once(session, "navigation_evidence", build)


def test_every_page_in_the_navigation_has_a_test_module() -> None:
    files = [file for file, _, _ in ENTRIES] + ["login.py"]
    missing = [f for f in files if not (HERE / f"test_{Path(f).stem}.py").exists()]
    assert missing == [], f"pages without tests/pages/test_<page>.py: {missing}"


@pytest.mark.parametrize(("file", "title", "roles"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_every_navigation_page_renders_in_business_language(  # type: ignore[no-untyped-def]
    signed_in, with_evidence, file: str, title: str, roles: tuple[str, ...] | None
) -> None:
    # Pages everyone reads are checked as the subject matter expert sees them.
    at = signed_in("sme" if roles is None else roles[0])
    at.switch_page(str(PAGES / file)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{file} shows no title"
    assert jargon_on(at) == [], file


def test_the_jargon_scan_finds_what_it_looks_for() -> None:
    at = AppTest.from_string(
        "import streamlit as st\n"
        "st.caption('probability of class 1 (model.predict_proba)')\n"
        "st.markdown(str({'a': 1}))\n"
        "st.dataframe({'owner': [str(None), 'ada']})\n"
        "st.metric('Probability of approval', '0.52')\n"
    ).run()
    assert sorted(jargon_on(at)) == sorted(
        ["probability of class 1 (model.predict_proba)", "{'a': 1}", "None"]
    )


def test_a_page_the_role_lacks_says_which_role_it_needs(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = open_url(signed_in("sme"), "register")
    assert not at.exception
    assert at.warning[0].value == MISSING_ROLE.format(
        page="Register a model", needed="developer or model_owner or admin", have="sme"
    )
    assert "Page not found" not in "\n".join(str(e.value) for e in at.exception)


def test_a_link_opened_signed_out_leads_to_its_page_after_sign_in(  # type: ignore[no-untyped-def]
    demo_users, demo_models, session: Session
) -> None:
    version = session.get(ModelVersion, demo_models["credit-logit"])
    assert version is not None
    session.commit()
    at = AppTest.from_file(ENTRYPOINT, default_timeout=30)
    at.query_params["model"] = str(version.model_id)
    at.run()
    open_url(at, "fairness")
    assert at.button[0].label == "Sign in"
    at.text_input(key="login_username").input(demo_users["sme"])
    at.text_input(key="login_password").input("gatehouse-demo")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Fairness"
    assert at.selectbox(key="fair_model").value == "credit-logit"


def test_the_chosen_model_follows_across_pages_and_defaults_to_production(  # type: ignore[no-untyped-def]
    signed_in, demo_models
) -> None:
    at = signed_in("validator")
    at.switch_page(str(PAGES / "performance.py")).run()
    # Nothing chosen: the production model (credit-gbm), not the first name in the alphabet.
    assert at.selectbox(key="perf_model").value == "credit-gbm"
    assert at.selectbox(key="perf_version").value == "v1 · production"
    at.selectbox(key="perf_model").select("credit-logit").run()
    assert at.query_params["model"] == str(at.session_state["gatehouse.model_in_view"])
    at.query_params.clear()  # the sidebar opens pages without the query string
    for page, key in (
        ("fairness.py", "fair_model"),
        ("explanations.py", "expl_model"),
        ("model.py", "model_pick"),
    ):
        at.switch_page(str(PAGES / page)).run()
        assert not at.exception
        assert at.selectbox(key=key).value == "credit-logit", page

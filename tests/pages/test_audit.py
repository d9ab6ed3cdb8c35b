"""The Audit page: filters, search, paging, CSV export and chain verification; SMEs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.services.audit import append_event

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "audit.py")


def test_auditor_filters_searches_pages_and_verifies(
    signed_in, demo_models, session: Session
) -> None:  # type: ignore[no-untyped-def]
    for k in range(60):
        append_event(session=session, actor=None, action="note", subject_type="note", subject_id=k)
    session.commit()
    at = signed_in("auditor")
    at.switch_page(PAGE).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 50 and list(table["Sequence"]) == sorted(table["Sequence"], reverse=True)
    at.button(key="audit_older").click().run()
    older = at.dataframe[0].value
    assert older["Sequence"].max() < table["Sequence"].min()
    at.selectbox(key="audit_model").select("credit-gbm").run()
    shown = at.dataframe[0].value
    assert "devi registered credit-gbm v1" in list(shown["What happened"])
    assert not any("credit-logit" in d for d in shown["What happened"])
    at.text_input(key="audit_text").input("production").run()
    assert list(at.dataframe[0].value["What happened"]) == [
        "operator moved credit-gbm v1 from development to production"
    ]
    at.button(key="audit_verify").click().run()
    assert at.success[0].value.startswith("The audit chain is intact: ")


def test_an_sme_is_told_which_role_the_audit_page_needs(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    from tests.pages.test_navigation import open_url

    at = open_url(signed_in("sme"), "audit")
    assert "needs the role auditor or risk_manager or compliance or admin" in at.warning[0].value

"""The audit report panel: generating a report on the model page archives it for download, and
the gate page offers the same for the version it shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.tables import ReportArchive
from tests.pages.test_gate import _gate_page
from tests.pages.test_gate import gated as gated  # the fixture
from tests.pages.test_model import _open

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGES = Path(__file__).resolve().parents[2] / "pages"


def test_model_page_generates_a_report_and_lists_it_for_download_again(
    signed_in,
    demo_models,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    at = _open(signed_in("auditor"), "credit-gbm")
    assert not at.exception
    at.button(key="model_report_generate").click().run()
    assert not at.exception, at.exception
    assert any("Report generated" in s.value for s in at.success)
    row = session.exec(select(ReportArchive)).one()
    assert row.version_id == demo_models["credit-gbm"] and row.generated_by_name == "audrey"
    session.rollback()
    source = (PAGES / "model.py").read_text()
    assert "report_panel(" in source
    # The earlier report is listed: a rerun shows it under "Earlier reports".
    at.run()
    assert any("Earlier reports of this model (1)" in e.label for e in at.expander)


def test_gate_page_offers_the_report_of_its_version(signed_in, gated) -> None:  # type: ignore[no-untyped-def]
    at = _gate_page(signed_in("validator"), gated)
    assert not at.exception
    at.button(key="gate_report_generate").click().run()
    assert not at.exception, at.exception
    assert any("Report generated" in s.value for s in at.success)

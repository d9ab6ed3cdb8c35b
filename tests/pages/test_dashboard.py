"""The dashboard: where the models stand, what fails, and the audit chain verified on request."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.services.evidence import evaluate_version
from core.services.permissions import OPERATOR
from core.tables import User
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both


def test_dashboard_after_sign_in(signed_in, session: Session) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("risk_manager")
    assert not at.exception
    assert "Welcome, **Rita Risk**." in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    # Each user added + the one sign-in, all recorded.
    users = len(session.exec(select(User)).all())
    session.rollback()
    assert metrics["Audit events"] == str(users + 1) and metrics["Models"] == "0"
    at.button(key="verify_chain").click().run()
    assert at.success[-1].value == f"The audit chain is intact: {users + 1} events verified."


def test_dashboard_shows_failing_evidence(signed_in, demo_models, session: Session) -> None:  # type: ignore[no-untyped-def]
    evaluate_version(
        session=session, actor=OPERATOR, version_id=demo_models["credit-gbm"], n_boot=0
    )
    session.commit()  # services flush; the edge (here, the test) commits
    at = signed_in("sme")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Models"] == "3" and metrics["In production"] == "1"
    assert metrics["Failing evidence"] == "1"
    # The governance KPIs' tables come first; the evidence table is the one with the checks.
    table = next(d.value for d in at.dataframe if "Performance" in d.value.columns)
    table = table.set_index("Model")
    assert table.loc["credit-gbm", "Fairness"] == "fail"
    assert table.loc["credit-gbm", "Performance"] == "pass"
    assert table.loc["credit-logit", "Fairness"] == "not computed"
    assert any("Failing checks: credit-gbm." in w.value for w in at.warning)

"""The Gate page's waiver form: a risk manager signs the waiver of a failed check."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.ui import text
from core.rules.gates import plan_from_pack_tier
from core.services.evidence import evaluate_version
from core.services.gate_status import gate_status
from core.services.gates import WAIVER_CONTROLS, open_gates
from core.services.permissions import OPERATOR
from core.services.signatures import WRONG_SIGNING_PASSWORD
from core.tables import AuditEvent, Waiver
from tests.pages.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "gate.py")
CHECK = "demographic_parity_difference"
TIER = {
    "gates": [
        {
            "id": "validation",
            "responsible": ["validator"],
            "accountable": "risk_manager",
            "evidence": [{"kind": "fairness", "checks": [CHECK]}],
        },
    ],
}


@pytest.fixture
def failing_gate(session: Session, demo_models: dict[str, int]) -> int:
    version_id = demo_models["credit-logit"]
    evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
    open_gates(
        session=session,
        version_id=version_id,
        plan=plan_from_pack_tier(TIER),
        policy_version=1,
        tier="medium",
    )
    session.commit()
    return version_id


def _requirement(session: Session, version_id: int) -> dict:  # type: ignore[type-arg]
    gates = gate_status(session=session, version_id=version_id).gates
    session.rollback()
    return gates[0].requirements[0]


def _open(at, version_id: int):  # type: ignore[no-untyped-def]
    at.query_params["version"] = str(version_id)
    at.query_params["gate"] = "validation"
    at.switch_page(PAGE).run()
    return at


def _fill(at, version_id: int, controls: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    key = f"waive_{version_id}_validation"
    at.text_area(key=f"{key}_justification").input("The gap is under study; <b>bold</b> claims.")
    at.text_area(key=f"{key}_controls").input(controls)
    at.checkbox(key=f"{key}_confirmed").check()
    at.text_input(key=f"{key}_password").input(password)
    at.button(key=f"FormSubmitter:{key}-Sign the waiver").click().run()
    return at


def test_a_risk_manager_waives_the_failed_check_through_the_page(
    signed_in, failing_gate: int, session: Session
) -> None:  # type: ignore[no-untyped-def]
    before = _requirement(session, failing_gate)
    assert before["status"] == "failing"
    assert f"{CHECK} (age_band)" in before["failing"]
    at = _open(signed_in("risk_manager"), failing_gate)
    assert not at.exception
    assert at.selectbox(key=f"waive_{failing_gate}_validation_check").options == [CHECK]
    # Missing controls and a wrong password: refused with one sentence each, nothing written.
    _fill(at, failing_gate, controls="   ")
    assert WAIVER_CONTROLS in [e.value for e in at.error]
    _fill(at, failing_gate, controls="Monthly review of approval rates by age band.", password="no")
    assert WRONG_SIGNING_PASSWORD in [e.value for e in at.error]
    assert session.exec(select(Waiver)).all() == []
    session.rollback()  # end the read, so the page may write
    _fill(at, failing_gate, controls="Monthly review of approval rates by age band.")
    assert not at.exception and not at.error
    waiver = session.exec(select(Waiver)).one()
    assert waiver.check_name == CHECK and waiver.version_id == failing_gate
    assert waiver.controls == "Monthly review of approval rates by age band."
    signed = text.escape_markdown(f"Signed: I waive the failed check {CHECK} on the validation")
    assert at.success[0].value.startswith(signed)
    # The check now stands waived on the gate, and the page says until when.
    after = _requirement(session, failing_gate)
    assert after["status"] == "waived" and f"{CHECK} (age_band)" in after["waived"]
    assert any(
        text.escape_markdown(f"Waiver in force for {CHECK} until {waiver.expires_at:%Y-%m-%d}")
        in i.value
        and "&lt;b&gt;" not in i.value
        and "\\<b\\>" in i.value
        for i in at.info
    )
    actions = session.exec(select(AuditEvent.action)).all()
    assert "signature_refused" in actions


def test_people_who_are_not_risk_managers_get_no_waiver_form(signed_in, failing_gate: int) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("validator"), failing_gate)
    assert not at.exception
    assert f"waive_{failing_gate}_validation_check" not in [s.key for s in at.selectbox]

"""The Gate page: the RACI and evidence of a gate, and signing through the real form."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from app.ui import text
from core.rules.gates import plan_from_pack_tier
from core.services.gate_status import gate_status
from core.services.gates import open_gates
from core.services.signatures import WRONG_SIGNING_PASSWORD
from tests.pages.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "gate.py")
TIER = {
    "segregation": {"min_distinct_people_per_gate": 2},
    "gates": [
        {
            "id": "business_scoping",
            "responsible": ["model_owner"],
            "accountable": "risk_manager",
            "consulted": ["sme"],
            "informed": ["validator"],
            "evidence": [{"kind": "card_fields", "fields": ["purpose"]}],
        },
        {
            "id": "development",
            "responsible": ["developer"],
            "accountable": "model_owner",
            "unlocks_stage": "qa",
        },
    ],
}


@pytest.fixture
def gated(session: Session, demo_models: dict[str, int]) -> int:
    version_id = demo_models["credit-logit"]
    open_gates(
        session=session,
        version_id=version_id,
        plan=plan_from_pack_tier(TIER),
        policy_version=1,
        tier="medium",
    )
    session.commit()
    return version_id


def _gate_page(at, version_id: int, gate: str = "business_scoping"):  # type: ignore[no-untyped-def]
    at.query_params["version"] = str(version_id)
    at.query_params["gate"] = gate
    at.switch_page(PAGE).run()
    return at


def _sign(at, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    at.checkbox[0].check()
    at.text_input[-1].input(password)
    at.button(
        key="FormSubmitter:sign_business_scoping_" + at.radio[-1].value.value + "-Sign"
    ).click().run()
    return at


def test_owner_submits_and_risk_manager_approves_through_the_page(
    signed_in, gated: int, session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = _gate_page(signed_in("model_owner"), gated)
    assert not at.exception
    assert [t.value for t in at.title] == ["Gate sign-off"]
    raci = at.dataframe[2].value
    assert list(raci["Role"]) == ["model owner", "risk manager", "sme", "validator"]
    assert list(raci["Accountable"]) == ["", "A", "", ""]
    assert any(
        "I submit the business scoping gate of version 1 of credit-logit" in t.value
        for t in at.text
    )
    _sign(at, password="wrong password")
    assert [e.value for e in at.error] == [WRONG_SIGNING_PASSWORD]
    _sign(at)
    assert not at.exception and not at.error
    states = {g.gate_id: g.state for g in gate_status(session=session, version_id=gated).gates}
    session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    assert states["business_scoping"] == "submitted"

    at = _gate_page(signed_in("risk_manager"), gated)
    assert [r.value for r in at.radio][-1].value == "approve"
    _sign(at)
    assert not at.exception, at.exception
    session.expire_all()
    view = gate_status(session=session, version_id=gated)
    assert [g.state for g in view.gates] == ["approved", "in progress"]
    session.rollback()
    signatures = at.dataframe[-1].value
    assert list(signatures["Act"]) == ["approve", "submit"]  # the refused attempt signed nothing


def test_a_role_with_no_part_is_told_so(signed_in, gated: int) -> None:  # type: ignore[no-untyped-def]
    at = _gate_page(signed_in("auditor"), gated)
    assert not at.exception
    assert any("Nothing for you to sign here now" in c.value for c in at.caption)


def test_a_signature_taken_is_confirmed_and_the_next_one_asks_again(
    signed_in, gated: int, session: Session
) -> None:  # type: ignore[no-untyped-def]
    _sign(_gate_page(signed_in("model_owner"), gated))
    at = _gate_page(signed_in("sme"), gated)
    assert at.radio[-2].value.value == "opinion"  # the Consulted person's only part
    at.text_area[0].input("Underwriters agree with the scope.")
    at.checkbox[0].check()
    at.text_input[-1].input(DEMO_PASSWORD)
    at.button(key="FormSubmitter:sign_business_scoping_opinion-Sign").click().run()
    assert not at.exception and not at.error
    meaning = "I give my opinion on the business scoping gate of version 1 of credit-logit."
    # Shown in the run after the signature (the toast may not survive the rerun); an opinion
    # moves no gate, so this is what tells the signer it was taken.
    assert [s.value for s in at.success] == [
        text.escape_markdown(f"Signed: {meaning} The gate is now submitted.")
    ]
    # The same form again, emptied: another signature needs the password and confirmation anew.
    assert at.text_input[-1].value == ""
    assert at.checkbox[0].value is False
    assert at.text_area[0].value == ""
    signatures = gate_status(session=session, version_id=gated).gates[0].signatures
    session.rollback()
    assert [(s.act, s.comment) for s in signatures] == [
        ("submit", ""),
        ("opinion", "Underwriters agree with the scope."),
    ]
    at.button(key="FormSubmitter:sign_business_scoping_opinion-Sign").click().run()
    assert [e.value for e in at.error] == [
        "Tick “I confirm the meaning above” to sign; a signature needs its meaning confirmed."
    ]
    assert not at.success  # the confirmation is shown once

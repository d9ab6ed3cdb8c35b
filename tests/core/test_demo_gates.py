"""The demo's gates: signed through the real services, one model signed off and in production,
gates in every state, and every promotion allowed by its gates."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from core.demo.data import DemoFiles
from core.demo.gates import seed_gates
from core.demo.risk import seed_risk
from core.demo.seed import DEMO_MODELS, DEMO_PASSWORD, DEMO_USERS, register_demo_models
from core.rules.gates import GateState
from core.services.audit import verify_chain
from core.services.gate_status import check_promotion, gate_status
from core.services.permissions import OPERATOR
from core.services.policy import ensure_shipped_pack
from core.services.users import add_user
from core.tables import AuditEvent, ModelEntry

pytestmark = pytest.mark.sqlite_only  # the demo's content; the services run on both elsewhere


def seed_signed_demo(session: Session, demo_files: DemoFiles) -> None:
    """The demo's people, its three models with small evidence, their risk and their gates."""
    for username, name, role in DEMO_USERS:
        add_user(session=session, actor=OPERATOR, username=username, password=DEMO_PASSWORD,
                 roles=[role], display_name=name)  # fmt: skip
    session.commit()
    ensure_shipped_pack(session)
    register_demo_models(session, demo_files, n_boot=20, explain_rows=40)
    session.commit()
    seed_risk(session)
    session.commit()
    seed_gates(session, {name: spec["stages"] for name, spec in DEMO_MODELS.items()})


def test_demo_signs_off_before_it_promotes_and_shows_every_gate_state(
    session: Session, demo_files: DemoFiles
) -> None:
    seed_signed_demo(session, demo_files)

    models = {m.name: m for m in session.exec(select(ModelEntry)).all()}
    views = {
        name: gate_status(session=session, version_id=m.current_version_id or 0)
        for name, m in models.items()
    }
    states = {name: {g.gate_id: g.state for g in v.gates} for name, v in views.items()}
    assert states["credit-gbm"] == {
        "business_scoping": "approved",
        "ideation": "approved",
        "development": "approved",
        "validation": "approved",
        "preproduction": "approved",
        "deployment": "approved",
        "monitoring": "in progress",
    }
    assert states["credit-logit"] == {
        "business_scoping": "approved",
        "development": "stale",
        "validation": "submitted",
        "deployment": "not started",
        "monitoring": "not started",
    }
    assert states["credit-forest"] == {
        "business_scoping": "approved",
        "development": "approved",
        "monitoring": "rejected",
    }
    shown = {s for by_gate in states.values() for s in by_gate.values()}
    assert shown == {s.value for s in GateState}
    assert {name: v.stage for name, v in views.items()} == {
        name: spec["stages"][-1] for name, spec in DEMO_MODELS.items()
    }
    gbm = models["credit-gbm"]
    assert gbm.production_version_id == gbm.current_version_id
    check_promotion(session, gbm.current_version_id or 0, "production")  # signed off: no raise
    # Two risk managers approved validation and deployment of the critical model.
    approvers = {
        g.gate_id: sorted(s.username for s in g.signatures if s.act == "approve")
        for g in views["credit-gbm"].gates
    }
    assert approvers["validation"] == approvers["deployment"] == ["reza", "rita"]
    refused = session.exec(
        select(AuditEvent.action).where(col(AuditEvent.action).like("%refused%"))
    ).all()
    assert refused == []  # nothing in the demo was forced past a refusal
    assert verify_chain(session=session).intact

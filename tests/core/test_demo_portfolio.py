"""The demo's portfolio: fifteen models across business units, tiers and stages, reached
through the real services, with findings raised by people and by monitoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.demo.data import DemoFiles
from core.demo.findings import seed_findings
from core.demo.monitoring import seed_monitoring
from core.demo.portfolio import PORTFOLIO, seed_portfolio
from core.rules.gates import GateState
from core.services.audit import verify_chain
from core.services.finding_views import list_findings
from core.services.gate_status import check_promotion, gate_status
from core.services.kpis import governance_kpis
from core.services.permissions import OPERATOR
from core.tables import ModelEntry, ModelVersion, MonitoringBatch
from tests.core.test_demo_gates import seed_signed_demo

pytestmark = pytest.mark.sqlite_only  # the demo's content; the services run on both elsewhere


def test_the_demo_portfolio_spans_teams_tiers_stages_and_gate_states(
    session: Session, demo_files: DemoFiles, tmp_path: Path
) -> None:
    seed_signed_demo(session, demo_files)
    seed_monitoring(session, tmp_path / "batches")
    session.commit()
    seed_findings(session)
    seeded = seed_portfolio(session, demo_files, tmp_path / "portfolio", n_boot=20)
    assert [s["name"] for s in seeded] == [p.name for p in PORTFOLIO]

    models = session.exec(select(ModelEntry)).all()
    assert len(models) >= 15
    assert len({m.business_unit for m in models}) >= 7
    assert {m.risk_tier for m in models} == {"low", "medium", "high", "critical"}
    stages = {v.stage for v in session.exec(select(ModelVersion)).all()}
    assert stages == {"development", "qa", "preproduction", "production", "retired"}

    states: set[str] = set()
    for m in models:
        version = session.get(ModelVersion, m.current_version_id)
        assert version is not None
        states |= {g.state for g in gate_status(session=session, version_id=version.id or 0).gates}
        if m.name in {p.name for p in PORTFOLIO}:  # each at a stage its gates allow
            check_promotion(session, version.id or 0, version.stage)
    assert {s.value for s in GateState} <= states

    # The SME's finding points at the production model's last batch and one record in it.
    business = list_findings(session=session, actor=OPERATOR, type="business")
    assert [f.raised_by for f in business] == ["Sam Subject-Expert"]
    last = session.exec(select(MonitoringBatch).order_by(MonitoringBatch.id.desc())).first()  # type: ignore[union-attr]
    assert last is not None
    assert f"monitoring batch {last.id}" in business[0].evidence_links
    assert f"record credit-gbm-{last.scored_at:%Y-%m}-00042" in business[0].evidence_links
    assert list_findings(session=session, actor=OPERATOR, type="drift")  # monitoring's own

    kpis = governance_kpis(session=session, actor=OPERATOR)
    assert kpis.production_without_approvals == ()  # promotion needed every gate
    assert len(kpis.teams) >= 5
    assert any(t.first_time < t.approved for t in kpis.teams)  # someone learnt from a rejection
    assert kpis.waiting_gates and kpis.overdue_reviews
    assert verify_chain(session=session).intact

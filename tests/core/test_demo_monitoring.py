"""The demo's monitoring: a drifted production batch that raised a finding, and KPI history
against the card's baseline and hurdle."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.monitoring import DEMO_BATCHES, seed_monitoring
from core.services.finding_views import list_findings
from core.services.inventory import current_card, promote_version, register_version
from core.services.monitoring_reads import monitoring_view
from core.services.permissions import OPERATOR
from tests.signoff import sign_off


def test_the_demo_monitors_its_production_model(
    session: Session, demo_files: DemoFiles, tmp_path: Path
) -> None:
    registered = register_version(
        session=session, actor=OPERATOR, name="credit-gbm",
        artifact=demo_files.model_paths["credit-gbm"], eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv, target=TARGET, sensitive=SENSITIVE,
    )  # fmt: skip
    sign_off(session, registered.version_id, "production")
    promote_version(
        session=session, actor=OPERATOR, version_id=registered.version_id, stage="production"
    )
    seeded = seed_monitoring(session, tmp_path)
    session.commit()
    assert len(seeded) == len(DEMO_BATCHES)
    view = monitoring_view(session=session, actor=OPERATOR, version_id=registered.version_id)
    assert [b["drift_status"] for b in view.batches] == ["pass", "pass", "pass", "fail"]
    drifted = view.batches[-1]["batch_id"]
    raised = {f.type: f for f in list_findings(session=session, actor=OPERATOR)}
    assert len(list_findings(session=session, actor=OPERATOR, type="drift")) == 1
    assert f"monitoring batch {drifted}" in raised["drift"].evidence_links
    assert f"monitoring batch {drifted}" in raised["kpi"].evidence_links  # approvals fell
    # The model's known age gap is one open finding, not one per batch.
    performance = list_findings(session=session, actor=OPERATOR, type="performance")
    assert len(performance) == 1
    assert "check min_selection_rate_ratio of age_band" in performance[0].evidence_links
    card = current_card(session=session, model_id=registered.model_id)
    assert card["baseline"].startswith("The underwriting scorecard")
    history = [(k["kpi"], k["baseline"], k["hurdle"]) for k in view.kpis]
    assert len(history) == 2 * len(DEMO_BATCHES)
    assert set(history) == {("approval_rate", 0.52, 0.55), ("default_rate", 0.21, 0.19)}

"""The Monitoring page shows a version's batches, the newest drift table with its thresholds,
the metrics and KPIs over time, the crossed thresholds and the findings they raised."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.demo.monitoring import DEMO_KPI_TARGETS, production_batch
from core.services.inventory import edit_card
from core.services.monitoring import ingest_batch
from core.services.monitoring_labels import ingest_labels
from core.services.monitoring_reads import monitoring_view
from core.services.permissions import OPERATOR
from core.tables import ModelVersion
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "monitoring.py")


@pytest.fixture
def monitored(session: Session, demo_models: dict[str, int], tmp_path: Path) -> int:
    """credit-gbm v1 with a stable batch and a drifted one, both labelled, with KPIs."""
    version_id = demo_models["credit-gbm"]
    model_id = session.get_one(ModelVersion, version_id).model_id
    edit_card(
        session=session,
        actor=OPERATOR,
        model_id=model_id,
        changes={"kpi_targets": DEMO_KPI_TARGETS},
    )
    for name, seed, downturn, kpis in (
        ("september", 102, 0.0, ["approval_rate=0.61", "default_rate=0.08"]),
        ("november", 104, 1.0, ["approval_rate=0.41", "default_rate=0.13"]),
    ):
        files = production_batch(tmp_path, name=name, seed=seed, n_rows=800, downturn=downturn)
        batch = ingest_batch(
            session=session, actor=OPERATOR, version_id=version_id, path=files.batch
        )
        ingest_labels(
            session=session, actor=OPERATOR, version_id=version_id, path=files.labels,
            batch_id=batch.batch_id, kpis=kpis,
        )  # fmt: skip
    session.commit()
    return version_id


def _open(at):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    picker = at.selectbox(key="mon_model")
    picker.select_index(list(picker.options).index("credit-gbm")).run()
    assert not at.exception
    return at


def _frame_with(at, column: str):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_batches_drift_thresholds_kpis_and_findings(  # type: ignore[no-untyped-def]
    signed_in, monitored, session: Session
) -> None:
    view = monitoring_view(session=session, actor=OPERATOR, version_id=monitored)
    session.rollback()
    at = _open(signed_in("sme"))
    assert at.metric[0].value == "2"
    batches = _frame_with(at, "Largest feature PSI")
    assert list(batches["Batch"]) == [str(b["batch_id"]) for b in view.batches]
    assert list(batches["Drift"]) == ["pass", "fail"]

    drift = _frame_with(at, "Thresholds crossed").set_index("Feature")
    income = next(f for f in view.drift if f["feature"] == "income")
    assert drift.loc["income", "PSI"] == f"{income['psi']:.3f}"
    assert drift.loc["income", "Reading"] == "significant"
    assert "PSI" in drift.loc["income", "Thresholds crossed"]
    assert "score" in drift.index
    thresholds = _frame_with(at, "Basis").set_index("Threshold")
    assert thresholds.loc["max_psi", "Value"] == "0.25"

    crossed = _frame_with(at, "In short")
    assert any("PSI of income" in s for s in crossed["In short"])
    assert any("approval_rate is 0.41, below its hurdle of 0.55" in s for s in crossed["In short"])

    findings = _frame_with(at, "Severity")
    assert {"drift", "kpi"} <= set(findings["Type"]) == {f["type"] for f in view.findings}
    assert len(findings) == len(view.findings)
    # PSI, ROC AUC, selection rate by group, and one chart per KPI.
    assert len(at.get("plotly_chart")) == 5
    assert "Business KPIs against the baseline and the hurdle" in [h.value for h in at.subheader]
    assert "Monitoring" in texts(at)


def test_a_version_without_batches_says_how_to_ingest(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("sme"))
    assert any("gatehouse monitor ingest" in i.value for i in at.info)

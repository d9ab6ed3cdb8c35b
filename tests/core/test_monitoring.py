"""Production monitoring: batches ingested, drift checked against scipy on the same data,
findings raised on crossed thresholds, labels joined, KPIs judged against their hurdles."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from scipy import stats
from sklearn.metrics import roc_auc_score
from sqlmodel import Session, select

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.monitoring import DEMO_KPI_TARGETS, production_batch
from core.errors import InputProblems
from core.rules.gates import Act, plan_from_pack_tier
from core.services.evidence import get_evidence, load_evaluation_data, load_version_model
from core.services.finding_views import list_findings
from core.services.gate_status import gate_status
from core.services.gates import open_gates, sign_gate
from core.services.inventory import register_version
from core.services.monitoring import ingest_batch
from core.services.monitoring_labels import ingest_labels
from core.services.monitoring_reads import monitoring_view
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import Dataset, ModelVersion, MonitoringBatch

PW = "a long enough password"
FEATURES = ["income", "debt_ratio", "age", "employment", "years_employed", "region"]


@pytest.fixture
def version_id(session: Session, demo_files: DemoFiles) -> int:
    result = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-gbm",
        artifact=demo_files.model_paths["credit-gbm"],
        eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
        card={"kpi_targets": DEMO_KPI_TARGETS, "baseline": "The scorecard it replaces."},
    )
    session.commit()
    return result.version_id


def _model_and_eval(session: Session, version_id: int) -> tuple[object, pd.DataFrame]:
    version = session.get(ModelVersion, version_id)
    assert version is not None
    frame, _ = load_evaluation_data(session, version)
    return load_version_model(version), frame


def _by_feature(results: dict, name: str) -> dict:
    return next(f for f in results["features"] if f["feature"] == name)


def test_a_stable_batch_is_stored_with_drift_that_matches_scipy(
    session: Session, version_id: int, tmp_path: Path
) -> None:
    files = production_batch(tmp_path, name="august", seed=101, n_rows=1500)
    result = ingest_batch(session=session, actor=OPERATOR, version_id=version_id, path=files.batch)
    session.commit()
    assert result.rows == result.good_rows == 1500
    assert result.scored_by_version
    assert result.finding_id is None and result.drift_status == "pass", result.crossed
    evidence = get_evidence(session=session, evidence_id=result.drift_evidence_id)
    assert evidence.kind == "drift"
    batch = pd.read_csv(files.batch)
    model, reference = _model_and_eval(session, version_id)
    for name in ("income", "debt_ratio", "age", "years_employed"):
        stored = _by_feature(evidence.results, name)
        ks = stats.ks_2samp(reference[name], batch[name], method="asymp")
        assert stored["ks_statistic"] == pytest.approx(ks.statistic, abs=1e-12)
        assert stored["ks_pvalue"] == pytest.approx(ks.pvalue, rel=1e-9)
        assert stored["wasserstein"] == pytest.approx(
            stats.wasserstein_distance(reference[name], batch[name]), rel=1e-9
        )
    region = _by_feature(evidence.results, "region")
    cats = sorted(set(reference["region"]) | set(batch["region"]))
    table = [
        [(reference["region"] == c).sum() for c in cats],
        [(batch["region"] == c).sum() for c in cats],
    ]
    chi2 = stats.chi2_contingency(table, correction=False)
    assert region["chi2_statistic"] == pytest.approx(chi2[0], rel=1e-9)
    assert region["chi2_pvalue"] == pytest.approx(chi2[1], rel=1e-9)
    # The score the version gave the batch, against its score on the evaluation data.
    ref_scores = model.predict_proba(reference[FEATURES])[:, 1]  # type: ignore[attr-defined]
    prod_scores = model.predict_proba(batch[FEATURES])[:, 1]  # type: ignore[attr-defined]
    score = evidence.results["score"]
    assert score["ks_statistic"] == pytest.approx(stats.ks_2samp(ref_scores, prod_scores).statistic)
    assert score["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(ref_scores, prod_scores), rel=1e-9
    )
    # Every batch is a dataset with a hash; so are its scored rows.
    row = session.exec(select(MonitoringBatch)).one()
    assert session.get(Dataset, row.dataset_id).rows == 1500  # type: ignore[union-attr]
    assert {g["column"] for g in evidence.results["groups"]} == set(SENSITIVE)


def test_a_drifted_batch_raises_a_drift_finding(
    session: Session, version_id: int, tmp_path: Path
) -> None:
    files = production_batch(tmp_path, name="november", seed=104, n_rows=1500, downturn=1.0)
    result = ingest_batch(session=session, actor=OPERATOR, version_id=version_id, path=files.batch)
    session.commit()
    assert result.drift_status == "fail"
    assert any("PSI of income" in s and "significant shift" in s for s in result.crossed)
    findings = list_findings(session=session, actor=OPERATOR, version_id=version_id)
    assert [(f.id, f.type, f.severity) for f in findings] == [
        (result.finding_id, "drift", "medium")
    ]
    assert f"monitoring batch {result.batch_id}" in findings[0].evidence_links
    assert "PSI of income" in findings[0].description


def test_labels_give_metrics_per_group_that_match_sklearn_and_fairlearn(
    session: Session, version_id: int, tmp_path: Path
) -> None:
    files = production_batch(tmp_path, name="september", seed=102, n_rows=1500)
    ingested = ingest_batch(
        session=session, actor=OPERATOR, version_id=version_id, path=files.batch
    )
    result = ingest_labels(
        session=session, actor=OPERATOR, version_id=version_id, path=files.labels
    )
    session.commit()
    assert result.joined_rows == 1500
    outcome = result.batches[0]
    stored = get_evidence(session=session, evidence_id=outcome["monitoring_evidence_id"])
    assert stored.kind == "monitoring"
    model, _ = _model_and_eval(session, version_id)
    batch = pd.read_csv(files.batch)
    truth = pd.read_csv(files.labels)[TARGET].to_numpy()
    score = model.predict_proba(batch[FEATURES])[:, 1]  # type: ignore[attr-defined]
    production = stored.results["production"]
    assert production["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(truth, score))
    decisions = (score >= 0.5).astype(int)
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate},
        y_true=truth, y_pred=decisions, sensitive_features=batch["age_band"],
    )  # fmt: skip
    for group in production["groups"]["age_band"]:
        expected = frame.by_group.loc[group["group"]]
        assert group["selection_rate"] == pytest.approx(expected["selection_rate"])
        assert group["true_positive_rate"] == pytest.approx(expected["true_positive_rate"])
    view = monitoring_view(session=session, actor=OPERATOR, version_id=version_id)
    assert [b["batch_id"] for b in view.batches] == [ingested.batch_id]
    assert view.batches[0]["roc_auc"] == pytest.approx(roc_auc_score(truth, score))


@pytest.mark.parametrize(
    ("kpis", "raised"),
    [
        (["approval_rate=0.61", "default_rate=0.08"], []),
        (
            ["approval_rate=0.41", "default_rate=0.08"],
            ["approval_rate is 0.41, below its hurdle of 0.55"],
        ),
        (
            ["approval_rate=0.61", "default_rate=0.24"],
            ["default_rate is 0.24, above its hurdle of 0.19"],
        ),
    ],
)
def test_a_kpi_that_misses_its_hurdle_raises_a_kpi_finding(
    session: Session, version_id: int, tmp_path: Path, kpis: list[str], raised: list[str]
) -> None:
    files = production_batch(tmp_path, name="october", seed=103, n_rows=800)
    result = ingest_batch(
        session=session, actor=OPERATOR, version_id=version_id, path=files.batch, kpis=kpis
    )
    session.commit()
    assert result.monitoring is not None
    kpi_findings = list_findings(session=session, actor=OPERATOR, version_id=version_id, type="kpi")
    assert len(kpi_findings) == len(raised)
    for finding, sentence in zip(kpi_findings, raised, strict=True):
        assert sentence in finding.description
        assert "(baseline" in finding.description
    view = monitoring_view(session=session, actor=OPERATOR, version_id=version_id)
    assert {k["kpi"]: (k["baseline"], k["hurdle"]) for k in view.kpis} == {
        "approval_rate": (0.52, 0.55),
        "default_rate": (0.21, 0.19),
    }


def test_a_crossed_threshold_reopens_an_approved_monitoring_gate(
    session: Session, version_id: int, tmp_path: Path
) -> None:
    people = {
        name: add_user(session=session, actor=OPERATOR, username=name, password=PW, roles=[role])
        for name, role in (("milo", "ml_engineer"), ("olivia", "model_owner"))
    }
    tier = {
        "segregation": {"min_distinct_people_per_gate": 2},
        "gates": [
            {"id": "monitoring", "responsible": ["ml_engineer"], "accountable": "model_owner"}
        ],
    }
    open_gates(
        session=session,
        version_id=version_id,
        plan=plan_from_pack_tier(tier),
        policy_version=1,
        tier="medium",
    )
    session.commit()
    for who, act in ((people["milo"], Act.submit), (people["olivia"], Act.approve)):
        sign_gate(
            session=session, actor=who, version_id=version_id, gate_id="monitoring", act=act,
            password=PW, meaning=f"I {act.value} the monitoring gate",
        )  # fmt: skip
        session.commit()
    files = production_batch(tmp_path, name="november", seed=104, n_rows=800, downturn=1.0)
    # The ML engineer ingests; the monitoring gate's RACI gives them a role on the model.
    result = ingest_batch(
        session=session, actor=people["milo"], version_id=version_id, path=files.batch
    )
    session.commit()
    assert result.gate_reopened
    gate = next(g for g in gate_status(session=session, version_id=version_id).gates)
    assert gate.state == "stale"
    assert gate.stale_reason == f"a monitoring threshold was crossed on batch {result.batch_id}"


def test_a_parquet_batch_with_its_outputs_is_read_in_chunks(
    session: Session, version_id: int, tmp_path: Path
) -> None:
    files = production_batch(tmp_path, name="parquet", seed=108, n_rows=600)
    frame = pd.read_csv(files.batch, dtype={"record_id": str})
    model, _ = _model_and_eval(session, version_id)
    frame["score"] = model.predict_proba(frame[FEATURES])[:, 1]  # type: ignore[attr-defined]
    frame["age"] = frame["age"].astype(str)
    frame.loc[7, "age"] = "unknown"
    path = tmp_path / "batch.parquet"
    frame.to_parquet(path)
    with pytest.raises(InputProblems) as refused:
        ingest_batch(session=session, actor=OPERATOR, version_id=version_id, path=path)
    assert refused.value.problems == [
        "The column 'age' has 1 values that are not numbers (e.g. 'unknown'); the model takes numbers there."
    ]
    result = ingest_batch(
        session=session, actor=OPERATOR, version_id=version_id, path=path, quarantine=True
    )
    session.commit()
    assert (result.good_rows, result.quarantined, result.scored_by_version) == (
        599,
        {"not_a_number:age": 1},
        False,
    )
    stored = get_evidence(session=session, evidence_id=result.drift_evidence_id).results
    kept = frame.drop(index=7)
    _, reference = _model_and_eval(session, version_id)
    assert _by_feature(stored, "age")["ks_statistic"] == pytest.approx(
        stats.ks_2samp(reference["age"], kept["age"].astype(float)).statistic
    )

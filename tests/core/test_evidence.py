"""Evidence: computed from the registered inputs, checked against independent references,
reproducible, immutable, and refused with clear sentences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sqlmodel import Session, func, select

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import InputProblems, NotFound, PermissionDenied
from core.services.evidence import (
    evaluate_version,
    latest_evidence,
    load_evaluation_data,
    load_version_model,
    verify_evidence,
)
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import AuditEvent, Evidence, ModelVersion

N_BOOT = 200


@pytest.fixture
def version_id(session: Session, demo_files: DemoFiles) -> int:
    for username, role in (("vic", "validator"), ("sue", "sme")):
        add_user(
            session=session, actor=OPERATOR, username=username, password="x" * 12, roles=[role]
        )
    result = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-gbm",
        artifact=demo_files.model_paths["credit-gbm"],
        eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
    )
    session.commit()
    return result.version_id


def _reference(session: Session, version_id: int) -> dict[str, np.ndarray]:
    version = session.get(ModelVersion, version_id)
    assert version is not None
    frame, _ = load_evaluation_data(session, version)
    model = load_version_model(version)
    features = json.loads(version.features_json)
    score = model.predict_proba(frame[features])[:, 1]
    return {
        "y_true": frame[TARGET].to_numpy(),
        "score": score,
        "y_pred": (score >= 0.5).astype(int),
        "age_band": frame["age_band"].to_numpy(),
        "sex": frame["sex"].to_numpy(),
    }


def test_evaluation_matches_fairlearn_and_scikit_learn(session: Session, version_id: int) -> None:
    result = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=N_BOOT)
    ref = _reference(session, version_id)
    fairness = result.fairness
    assert fairness is not None
    age = next(f for f in fairness.results["features"] if f["name"] == "age_band")
    between = age["between_groups"]
    expected_ratio = demographic_parity_ratio(
        ref["y_true"], ref["y_pred"], sensitive_features=ref["age_band"]
    )
    assert between["demographic_parity_ratio"]["value"] == pytest.approx(expected_ratio, abs=1e-12)
    expected_eod = equalized_odds_difference(
        ref["y_true"], ref["y_pred"], sensitive_features=ref["age_band"]
    )
    assert between["equalized_odds_difference"]["value"] == pytest.approx(expected_eod, abs=1e-12)
    metrics = result.performance.results["overall"]["metrics"]
    assert metrics["roc_auc"]["value"] == pytest.approx(
        roc_auc_score(ref["y_true"], ref["score"]), abs=1e-12
    )
    assert metrics["brier_score"]["value"] == pytest.approx(
        brier_score_loss(ref["y_true"], ref["score"]), abs=1e-12
    )
    # The stored ROC curve is scikit-learn's, thinned: its points lie on it, corners included.
    roc = result.performance.results["roc_curve"]
    fpr, tpr, _ = roc_curve(ref["y_true"], ref["score"])
    on_curve = set(zip(fpr.round(12), tpr.round(12), strict=True))
    stored = list(zip(np.round(roc["fpr"], 12), np.round(roc["tpr"], 12), strict=True))
    assert set(stored) <= on_curve and 2 < len(stored) <= 200
    assert stored[0] == (0, 0) and stored[-1] == (1, 1)
    assert np.all(np.diff(roc["fpr"]) >= 0)


def test_the_demo_age_bias_fails_the_four_fifths_rule(session: Session, version_id: int) -> None:
    result = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=N_BOOT)
    assert result.fairness is not None and result.fairness.status == "fail"
    checks = {(c["feature"], c["check"]): c for c in result.fairness.summary()["checks"]}
    four_fifths = checks[("age_band", "Selection-rate ratio (four-fifths rule)")]
    assert four_fifths["status"] == "fail" and four_fifths["value"] < 0.8
    assert "18-25" in four_fifths["sentence"]
    assert checks[("sex", "Selection-rate ratio (four-fifths rule)")]["status"] == "pass"
    assert result.performance.status == "pass"  # accurate overall, unfair to the young


def test_recomputing_gives_the_same_evidence(session: Session, version_id: int) -> None:
    first = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=N_BOOT)
    again = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=N_BOOT)
    assert again.performance.sha256 == first.performance.sha256 and again.performance.reproduced
    assert again.fairness.sha256 == first.fairness.sha256  # type: ignore[union-attr]
    assert session.exec(select(func.count()).select_from(Evidence)).one() == 2
    reproduced = session.exec(
        select(func.count()).where(AuditEvent.action == "evidence_reproduced")
    ).one()
    assert reproduced == 2
    other_seed = evaluate_version(
        session=session, actor=OPERATOR, version_id=version_id, n_boot=N_BOOT, seed=7
    )
    assert other_seed.performance.sha256 != first.performance.sha256
    assert verify_evidence(session=session, evidence_id=first.performance.id)
    assert (
        latest_evidence(session=session, version_id=version_id, kind="fairness").config[  # type: ignore[union-attr]
            "seed"
        ]
        == 7
    )


def test_evidence_cannot_be_changed_or_deleted(session: Session, version_id: int) -> None:
    result = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
    session.commit()  # the service flushes; the edge commits, as here
    change = sa.update(Evidence).where(Evidence.id == result.performance.id).values(status="pass")
    for statement in (change, sa.delete(Evidence).where(Evidence.id == result.performance.id)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            session.execute(statement)
        session.rollback()
    assert verify_evidence(session=session, evidence_id=result.performance.id)


def test_a_reference_group_and_segments_are_recorded(session: Session, version_id: int) -> None:
    result = evaluate_version(
        session=session,
        actor=OPERATOR,
        version_id=version_id,
        n_boot=0,
        segments=["region"],
        references=["age_band=36-50"],
    )
    assert result.fairness is not None
    age = next(f for f in result.fairness.results["features"] if f["name"] == "age_band")
    assert age["reference_group"] == "36-50"
    assert result.fairness.config["reference_groups"] == {"age_band": "36-50"}
    regions = {s["group"] for s in result.performance.results["segments"]}
    assert len(regions) >= 2


def test_who_may_compute(session: Session, version_id: int) -> None:
    from core.services.users import get_user

    with pytest.raises(PermissionDenied, match="compute evidence"):
        evaluate_version(
            session=session,
            actor=get_user(session=session, username="sue"),
            version_id=version_id,
            n_boot=0,
        )
    done = evaluate_version(
        session=session,
        actor=get_user(session=session, username="vic"),
        version_id=version_id,
        n_boot=0,
    )
    assert done.performance.computed_by == "vic"


def test_bad_requests_say_what_to_fix_and_store_nothing(session: Session, version_id: int) -> None:
    with pytest.raises(InputProblems) as err:
        evaluate_version(
            session=session,
            actor=OPERATOR,
            version_id=version_id,
            sensitive=["nationality"],
            segments=["branch"],
        )
    assert len(err.value.problems) == 2
    assert "nationality" in err.value.problems[0] and "choose from" in err.value.problems[0]
    with pytest.raises(InputProblems, match="COLUMN=GROUP"):
        evaluate_version(session=session, actor=OPERATOR, version_id=version_id, references=["sex"])
    with pytest.raises(NotFound, match="No model version with id 999"):
        evaluate_version(session=session, actor=OPERATOR, version_id=999)
    assert session.exec(select(func.count()).select_from(Evidence)).one() == 0


def test_a_changed_artifact_is_refused(session: Session, version_id: int) -> None:
    version = session.get(ModelVersion, version_id)
    assert version is not None
    stored = Path(version.artifact_path)
    original = stored.read_bytes()
    # The store keeps files read-only; a tamperer who owns them makes them writable first (a
    # plain write would only work as root).
    stored.chmod(0o644)
    try:
        stored.write_bytes(original + b"\0")
        with pytest.raises(InputProblems, match="no longer matches the hash"):
            evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
    finally:
        stored.write_bytes(original)
        stored.chmod(0o444)


def test_overview_gives_the_newest_status_of_each_current_version(
    session: Session, version_id: int
) -> None:
    from core.services.evidence import evidence_overview

    assert evidence_overview(session=session) == [
        {
            "model_id": session.get(ModelVersion, version_id).model_id,  # type: ignore[union-attr]
            "model": "credit-gbm",
            "stage": "development",
            "version_id": version_id,
            "performance": "not computed",
            "fairness": "not computed",
            "explanation": "not computed",
        }
    ]
    evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
    # A laxer policy passes; the newest evidence decides what the overview shows.
    from core.rules.thresholds import FairnessPolicy

    lax = FairnessPolicy(
        min_selection_rate_ratio=0.5,
        max_demographic_parity_difference=0.5,
        max_equalized_odds_difference=0.5,
    )
    (row,) = evidence_overview(session=session)
    assert (row["performance"], row["fairness"]) == ("pass", "fail")
    evaluate_version(
        session=session, actor=OPERATOR, version_id=version_id, n_boot=0, fairness_policy=lax
    )
    (row,) = evidence_overview(session=session)
    assert row["fairness"] == "pass"

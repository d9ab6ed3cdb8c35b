"""Comparing two real versions: the demo credit-logit against a retrained one with a changed
hyperparameter and a dropped feature, each evaluated through the real evidence path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import skops.io
from sklearn.metrics import log_loss, roc_auc_score
from sqlmodel import Session

from core.demo.data import FEATURES, SENSITIVE, TARGET, DemoFiles
from core.rules.version_change import MetricVerdict
from core.services.evidence import evaluate_version, latest_evidence
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.version_comparison import (
    DIFFERENT_DATA,
    NO_EVIDENCE,
    compare_versions,
)
from core.tables import ModelVersion
from tests.core.retrained import DROPPED, retrained_logit

N_BOOT = 200


def _register(session: Session, demo_files: DemoFiles, artifact: Path, eval_data: Path) -> int:
    return register_version(
        session=session,
        actor=OPERATOR,
        name="credit-logit",
        artifact=artifact,
        eval_data=eval_data,
        train_data=demo_files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
        card={"vocabulary": {"features": {DROPPED: {"name": "Debt-to-income ratio"}}}},
    ).version_id


@pytest.fixture
def versions(session: Session, demo_files: DemoFiles, tmp_path: Path) -> dict[str, Any]:
    train = pd.read_csv(demo_files.train_csv)
    retrained = retrained_logit(train)
    skops.io.dump(retrained, tmp_path / "credit-logit-v2.skops")
    first = _register(
        session, demo_files, demo_files.model_paths["credit-logit"], demo_files.eval_csv
    )
    second = _register(session, demo_files, tmp_path / "credit-logit-v2.skops", demo_files.eval_csv)
    for version_id in (first, second):
        evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=N_BOOT)
    session.commit()
    path = demo_files.model_paths["credit-logit"]
    original = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    return {"first": first, "second": second, "models": (original, retrained)}


def test_the_comparison_names_the_estimator_its_changed_setting_and_the_dropped_feature(
    session: Session, versions: dict[str, Any]
) -> None:
    c = compare_versions(session=session, before_id=versions["first"], after_id=versions["second"])
    original, retrained = versions["models"]
    assert (c.before.version, c.after.version) == (1, 2)
    assert not c.estimator_changed and not c.steps_changed
    assert c.after.structure.final_name == "LogisticRegression"
    assert c.after.structure.steps == (
        ("prepare", "ColumnTransformer"),
        ("model", "LogisticRegression"),
    )
    assert [(h.name, h.before, h.after) for h in c.changed_hyperparameters] == [("C", 1.0, 0.1)]
    # Every setting shown is the fitted estimator's own get_params (deprecated slots aside).
    for side, model in ((c.before, original), (c.after, retrained)):
        params = model.named_steps["model"].get_params(deep=False)
        assert dict(side.structure.hyperparameters) == {
            k: v for k, v in params.items() if v != "deprecated"
        }
    assert c.features_removed == (DROPPED,) and c.features_added == ()
    assert set(c.features_kept) == set(FEATURES) - {DROPPED}
    assert c.vocabulary.feature(DROPPED) == "Debt-to-income ratio"


def test_the_data_is_compared_by_the_files_content_hash(
    session: Session, versions: dict[str, Any], demo_files: DemoFiles
) -> None:
    c = compare_versions(session=session, before_id=versions["first"], after_id=versions["second"])
    digests = {
        "training": hashlib.sha256(demo_files.train_csv.read_bytes()).hexdigest(),
        "evaluation": hashlib.sha256(demo_files.eval_csv.read_bytes()).hexdigest(),
    }
    for change in c.data:
        assert change.before_sha256 == change.after_sha256 == digests[change.role]
        assert not change.changed
    assert DIFFERENT_DATA not in c.notes


def test_metrics_carry_the_stored_intervals_and_the_worse_model_is_called_worse(
    session: Session, versions: dict[str, Any], demo_files: DemoFiles
) -> None:
    c = compare_versions(session=session, before_id=versions["first"], after_id=versions["second"])
    stored = [
        latest_evidence(session=session, version_id=versions[k], kind="performance")
        for k in ("first", "second")
    ]
    assert [c.before.evidence_sha256, c.after.evidence_sha256] == [e.sha256 for e in stored]  # type: ignore[union-attr]
    by_metric = {m.metric: m for m in c.metrics}
    for change in c.metrics:
        assert change.before == stored[0].results["overall"]["metrics"][change.metric]  # type: ignore[union-attr]
        assert change.after == stored[1].results["overall"]["metrics"][change.metric]  # type: ignore[union-attr]
    # The stored values are scikit-learn's on the same evaluation data.
    frame = pd.read_csv(demo_files.eval_csv)
    original, retrained = versions["models"]
    auc, loss = [], []
    for model in (original, retrained):
        scores = model.predict_proba(frame[list(model.feature_names_in_)])[:, 1]
        auc.append(roc_auc_score(frame[TARGET], scores))
        loss.append(log_loss(frame[TARGET], scores))
    roc = by_metric["roc_auc"]
    assert (roc.before["value"], roc.after["value"]) == pytest.approx(auc, abs=1e-9)  # type: ignore[index]
    assert by_metric["log_loss"].after["value"] == pytest.approx(loss[1], abs=1e-9)  # type: ignore[index]
    # Without the debt ratio the intervals of AUC part: v2's upper bound is below v1's lower.
    assert roc.after["upper"] < roc.before["lower"]  # type: ignore[index]
    assert roc.verdict is MetricVerdict.worse
    assert roc.change == pytest.approx(auc[1] - auc[0], abs=1e-9)
    # A loss that rose with parted intervals is worse too: lower is better for it.
    log = by_metric["log_loss"]
    parted = log.after["lower"] > log.before["upper"]  # type: ignore[index]
    assert log.verdict is (MetricVerdict.worse if parted else MetricVerdict.no_clear_change)
    for change in c.metrics:
        overlap = max(change.before["lower"], change.after["lower"]) <= min(  # type: ignore[index]
            change.before["upper"],
            change.after["upper"],  # type: ignore[index]
        )
        if overlap:
            assert change.verdict is MetricVerdict.no_clear_change


def test_other_data_and_missing_evidence_are_said_before_the_metrics(
    session: Session, versions: dict[str, Any], demo_files: DemoFiles, tmp_path: Path
) -> None:
    half = tmp_path / "eval-half.csv"
    pd.read_csv(demo_files.eval_csv).head(450).to_csv(half, index=False)
    third = _register(session, demo_files, demo_files.model_paths["credit-forest"], half)
    session.commit()
    c = compare_versions(session=session, before_id=versions["second"], after_id=third)
    assert c.estimator_changed and c.after.structure.final_name == "RandomForestClassifier"
    assert c.features_removed == () and c.features_added == (DROPPED,)
    evaluation = next(d for d in c.data if d.role == "evaluation")
    assert evaluation.changed and (evaluation.before_rows, evaluation.after_rows) == (900, 450)
    assert NO_EVIDENCE.format(label="credit-logit v3") in c.notes
    assert {m.verdict for m in c.metrics} == {MetricVerdict.not_comparable}

    evaluate_version(session=session, actor=OPERATOR, version_id=third, n_boot=N_BOOT)
    session.commit()
    c = compare_versions(session=session, before_id=versions["second"], after_id=third)
    assert DIFFERENT_DATA in c.notes


def test_an_altered_artifact_is_said_and_the_rest_still_compares(
    session: Session, versions: dict[str, Any]
) -> None:
    version = session.get(ModelVersion, versions["second"])
    assert version is not None
    Path(version.artifact_path).write_bytes(b"changed behind Gatehouse's back")
    c = compare_versions(session=session, before_id=versions["first"], after_id=versions["second"])
    assert any(n.startswith("The structure of credit-logit v2 could not be read") for n in c.notes)
    assert c.after.structure.hyperparameters == {}
    assert c.features_removed == (DROPPED,)

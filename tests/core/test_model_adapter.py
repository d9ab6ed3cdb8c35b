"""One positive class for every kind of evidence, and labels read as the model's classes.

A model with classes ['bad', 'good'] registered with positive label "bad": performance,
fairness, explanations, partial dependence and the one-decision view must all name "bad" and
use P(bad), checked against the model's own predict_proba (scikit-learn). Targets are read as
the model's classes: 0.0/1.0 matches the classes 0/1, missing and unknown labels are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC
from sqlmodel import Session

from core.errors import InputProblems
from core.files.adapter import (
    BAD_POSITIVE,
    TARGET_MISSING,
    TARGET_MORE_CLASSES,
    TARGET_UNKNOWN,
    adapt,
)
from core.metrics.explain import ADDITIVITY_TOLERANCE
from core.services.evidence import (
    compute_explanation,
    evaluate_version,
    explain_decision,
    load_version_model,
)
from core.services.evidence.evaluate import BAD_THRESHOLD
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.users import add_user, get_user
from core.tables import ModelVersion, User

FEATURES = ["income", "debt_ratio", "age"]
ROWS = 240


def _credit(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": np.round(rng.lognormal(10.5, 0.4, n), -2),
            "debt_ratio": np.round(rng.uniform(0.0, 1.0, n), 3),
            "age": rng.integers(18, 80, n).astype(float),
            "sex": rng.choice(["female", "male"], n),
        }
    )
    logit = 3.0 * (frame["debt_ratio"] - 0.5) - 1.5 * (np.log(frame["income"]) - 10.5)
    bad = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    frame["outcome"] = np.where(bad, "bad", "good")
    return frame


MODELS = {
    "gbm": lambda: GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0),
    "logistic": lambda: LogisticRegression(max_iter=1000),
    "forest": lambda: RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
}


def _files(tmp_path: Path, model: Any, train: pd.DataFrame, evaluation: pd.DataFrame) -> dict:
    skops.io.dump(model, tmp_path / "model.skops")
    train.to_csv(tmp_path / "train.csv", index=False)
    evaluation.to_csv(tmp_path / "eval.csv", index=False)
    return {
        "artifact": tmp_path / "model.skops",
        "train_data": tmp_path / "train.csv",
        "eval_data": tmp_path / "eval.csv",
    }


def _sme(session: Session) -> User:
    add_user(session=session, actor=OPERATOR, username="sue", password="x" * 12, roles=["sme"])
    return get_user(session=session, username="sue")


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_kind_of_evidence_is_about_the_registered_positive_class(
    session: Session, tmp_path: Path, kind: str
) -> None:
    train, evaluation = _credit(400, seed=1), _credit(ROWS, seed=2)
    model = MODELS[kind]().fit(train[FEATURES], train["outcome"])
    assert list(model.classes_) == ["bad", "good"]
    vid = register_version(
        session=session,
        actor=OPERATOR,
        name=f"credit-{kind}",
        target="outcome",
        sensitive=["sex"],
        positive_label="bad",
        **_files(tmp_path, model, train, evaluation),
    ).version_id
    sue = _sme(session)
    session.commit()
    version = session.get(ModelVersion, vid)
    assert version is not None and version.positive_label == "bad"
    loaded = load_version_model(version)
    X = evaluation[FEATURES]
    p_bad = loaded.predict_proba(X)[:, 0]  # the reference: the model's own P(bad)
    is_bad = (evaluation["outcome"] == "bad").to_numpy()

    evaluated = evaluate_version(session=session, actor=OPERATOR, version_id=vid, n_boot=0)
    session.commit()
    performance = evaluated.performance.results
    assert performance["positive_label"] == "bad"
    auc = performance["overall"]["metrics"]["roc_auc"]["value"]
    assert auc == pytest.approx(roc_auc_score(is_bad, p_bad), abs=1e-12)
    assert evaluated.fairness is not None
    fairness = evaluated.fairness.results
    assert fairness["positive_label"] == "bad"
    sex = next(f for f in fairness["features"] if f["name"] == "sex")
    for group in sex["groups"]:
        rows = (evaluation["sex"] == group["group"]).to_numpy()
        selected = float(np.mean(p_bad[rows] >= 0.5))
        assert group["metrics"]["selection_rate"]["value"] == pytest.approx(selected, abs=1e-12)
        base_rate = float(np.mean(is_bad[rows]))
        assert group["metrics"]["base_rate"]["value"] == pytest.approx(base_rate, abs=1e-12)

    explained = compute_explanation(session=session, actor=OPERATOR, version_id=vid, rows=ROWS)
    session.commit()
    results = explained.results
    assert results["positive_class"] == "bad" and "'bad'" in results["output_label"]
    assert results["additivity_ok"] and results["additivity_max_error"] < ADDITIVITY_TOLERANCE
    for curve in results["partial_dependence"]:
        assert curve["positive_class"] == "bad" and "'bad'" in curve["output_label"]
        assert curve["output_space"] == "probability"
        feature = curve["feature"]
        for value, average in list(zip(curve["grid"], curve["average"], strict=True))[::5]:
            changed = X.assign(**{feature: value})
            reference = loaded.predict_proba(changed)[:, 0].mean()
            assert average == pytest.approx(reference, abs=1e-9)

    decision = explain_decision(session=session, actor=sue, version_id=vid, row_index=3)
    session.commit()
    assert decision["positive_class"] == "bad" and "'bad'" in decision["output_label"]
    assert "np.str_" not in repr(decision) + repr(results)
    assert decision["probability"] == pytest.approx(p_bad[3], abs=1e-12)
    row = X.iloc[[3]]
    if decision["output_space"] == "probability":
        expected_output = p_bad[3]
    else:  # log-odds of bad: minus the decision function, which speaks of classes_[1]
        assert decision["output_space"] == "log_odds"
        expected_output = -loaded.decision_function(row)[0]
    assert decision["prediction"] == pytest.approx(expected_output, abs=1e-9)
    total = decision["base_value"] + sum(c["contribution"] for c in decision["contributions"])
    assert total == pytest.approx(decision["prediction"], abs=ADDITIVITY_TOLERANCE)
    assert decision["actual"] == evaluation["outcome"].iloc[3]


def test_a_model_without_probabilities_decides_by_its_positive_decision_function() -> None:
    train = _credit(300, seed=3)
    model = LinearSVC().fit(train[FEATURES], train["outcome"])
    adapter = adapt(model, features=FEATURES, positive_label="bad")
    scores = adapter.scores(train[FEATURES])
    assert adapter.output_space == "decision_function" and adapter.positive_class == "bad"
    np.testing.assert_allclose(scores, -model.decision_function(train[FEATURES]))
    labels = adapter.decisions(scores, 0.0)
    assert set(labels[scores >= 0]) <= {"bad"} and set(labels[scores < 0]) <= {"good"}


def test_labels_are_plain_python_values_and_the_default_is_classes_1() -> None:
    train = _credit(200, seed=4)
    model = LogisticRegression(max_iter=500).fit(train[FEATURES], train["outcome"])
    adapter = adapt(model)
    assert (adapter.positive_class, adapter.negative_class) == ("good", "bad")
    assert type(adapter.positive_class) is str and adapter.features == tuple(FEATURES)
    numeric = LogisticRegression(max_iter=500).fit(train[FEATURES], train["outcome"] == "bad")
    assert adapt(numeric).positive_class is True
    with pytest.raises(InputProblems) as caught:
        adapt(model, positive_label="Bad")
    assert caught.value.problems == [BAD_POSITIVE.format(label="Bad", classes=["bad", "good"])]


# --- Issue: labels are the model's classes --------------------------------------------------


def _numeric_case(tmp_path: Path, target: pd.Series) -> dict:
    train = _credit(300, seed=5)
    y = (train["outcome"] == "bad").astype(int)
    model = LogisticRegression(max_iter=500).fit(train[FEATURES], y)
    evaluation = _credit(len(target), seed=6).assign(outcome=target.to_numpy())
    return _files(tmp_path, model, train.assign(outcome=y), evaluation)


def test_a_target_written_as_floats_matches_the_models_integer_classes(
    session: Session, tmp_path: Path
) -> None:
    frame = _credit(ROWS, seed=6)
    target = (frame["outcome"] == "bad").astype(float)  # 0.0 / 1.0 in the file
    files = _numeric_case(tmp_path, target)
    assert "1.0" in Path(files["eval_data"]).read_text()
    vid = register_version(
        session=session,
        actor=OPERATOR,
        name="floats",
        target="outcome",
        positive_label="1.0",
        **files,
    ).version_id
    session.commit()
    version = session.get(ModelVersion, vid)
    assert version is not None and version.positive_label == "1"
    result = evaluate_version(session=session, actor=OPERATOR, version_id=vid, n_boot=0)
    session.commit()
    p = load_version_model(version).predict_proba(frame[FEATURES])[:, 1]
    metrics = result.performance.results["overall"]["metrics"]
    assert metrics["roc_auc"]["value"] == pytest.approx(roc_auc_score(target, p), abs=1e-12)
    confusion = result.performance.results["overall"]["confusion_matrix"]
    assert sum(confusion[1]) == int(target.sum())  # rows whose recorded outcome is 1


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            [0.0, 1.0, np.nan, 1.0, np.nan],
            TARGET_MISSING.format(target="outcome", count=2 * ROWS // 5),
        ),
        (
            [0, 1, 2, 1, 0],
            TARGET_MORE_CLASSES.format(
                target="outcome", count=3, found=[0, 1, 2], n=2, classes=[0, 1]
            ),
        ),
        (
            ["bad", "good", "good", "bad", "bad"],
            TARGET_UNKNOWN.format(
                target="outcome", unknown=["bad", "good"], found=["bad", "good"], classes=[0, 1]
            ),
        ),
    ],
    ids=["missing", "three-classes", "unknown-labels"],
)
def test_targets_the_model_cannot_read_are_refused_with_the_values_found(
    session: Session, tmp_path: Path, values: list[Any], expected: str
) -> None:
    target = pd.Series(values * (ROWS // len(values)))
    files = _numeric_case(tmp_path, target)
    with pytest.raises(InputProblems) as caught:
        register_version(session=session, actor=OPERATOR, name="odd", target="outcome", **files)
    session.rollback()
    assert caught.value.problems == [expected]


def test_a_yes_no_maybe_target_is_refused_for_a_yes_no_model() -> None:
    train = _credit(200, seed=7)
    model = LogisticRegression(max_iter=500).fit(
        train[FEATURES], np.where(train["outcome"] == "bad", "yes", "no")
    )
    adapter = adapt(model, positive_label="yes")
    truth = pd.Series(["yes", "no", "maybe", "yes"])
    with pytest.raises(InputProblems) as caught:
        adapter.target_labels(truth, target="default")
    assert caught.value.problems == [
        "Target column 'default' has 3 distinct values ['maybe', 'no', 'yes'] but the model has "
        "2 classes ['no', 'yes']; evaluate it on data labelled with the model's classes."
    ]
    assert list(adapter.target_labels(pd.Series(["yes", "no"]), target="default")) == [
        "yes",
        "no",
    ]


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_a_decision_threshold_outside_0_1_is_refused(
    session: Session, tmp_path: Path, threshold: float
) -> None:
    files = _numeric_case(tmp_path, (_credit(ROWS, seed=6)["outcome"] == "bad").astype(int))
    vid = register_version(
        session=session, actor=OPERATOR, name="thresholds", target="outcome", **files
    ).version_id
    session.commit()
    with pytest.raises(InputProblems) as caught:
        evaluate_version(session=session, actor=OPERATOR, version_id=vid, threshold=threshold)
    assert caught.value.problems == [BAD_THRESHOLD.format(threshold=threshold)]

"""Explanation evidence: stored once, additive, reproducible, stable; one decision explained;
refused with clear sentences; run as a recorded job; and the `gatehouse explain` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shap
import skops.io
from click.testing import CliRunner
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sqlmodel import Session, func, select

from core.cli import main
from core.demo.data import FEATURES, NUMERIC_FEATURES, SENSITIVE, TARGET, DemoFiles
from core.errors import InputProblems, NotFound, PermissionDenied
from core.metrics.explain import ADDITIVITY_TOLERANCE
from core.services.evidence import (
    compute_explanation,
    explain_decision,
    load_evaluation_data,
    load_version_model,
    search_rows,
    submit_explanation,
)
from core.services.inventory import register_version
from core.services.jobs import run_job
from core.services.permissions import OPERATOR
from core.services.users import add_user, deactivate_user, get_user
from core.tables import AuditEvent, Evidence, Job, ModelVersion, User

ROWS = 300


@pytest.fixture
def versions(session: Session, demo_files: DemoFiles) -> dict[str, int]:
    """The demo models registered with training data, and a validator and an SME."""
    for username, role in (("vic", "validator"), ("sue", "sme")):
        add_user(
            session=session, actor=OPERATOR, username=username, password="x" * 12, roles=[role]
        )
    ids = {
        name: register_version(
            session=session,
            actor=OPERATOR,
            name=name,
            artifact=demo_files.model_paths[name],
            eval_data=demo_files.eval_csv,
            train_data=demo_files.train_csv,
            target=TARGET,
            sensitive=SENSITIVE,
        ).version_id
        for name in ("credit-gbm", "credit-logit")
    }
    session.commit()
    return ids


def _sue(session: Session) -> User:
    """The SME: she reads single decisions, as SMEs judge them."""
    return get_user(session=session, username="sue")


def _explanations(session: Session) -> int:
    count = session.exec(select(func.count()).where(Evidence.kind == "explanation")).one()
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return int(count)


def test_evidence_is_additive_reproducible_and_complete(
    session: Session, versions: dict[str, int]
) -> None:
    vic = get_user(session=session, username="vic")
    calls: list[tuple[float, str]] = []
    first = compute_explanation(
        session=session,
        actor=vic,
        version_id=versions["credit-gbm"],
        rows=ROWS,
        progress=lambda f, m: calls.append((f, m)),
    )
    results = first.results
    assert (first.kind, first.status, first.reproduced) == ("explanation", "pass", False)
    assert results["additivity_ok"] and results["additivity_max_error"] < ADDITIVITY_TOLERANCE
    assert results["output_space"] == "log_odds"
    provenance = results["provenance"]
    assert (provenance["explainer"], provenance["seed"], provenance["sample_size"]) == (
        "tree",
        0,
        ROWS,
    )
    assert provenance["stratified_by_label"] and len(provenance["sample_sha256"]) == 64
    assert sorted(i["feature"] for i in results["global_importance"]) == sorted(FEATURES)
    assert all(
        i["ci_low"] <= i["mean_abs_shap"] <= i["ci_high"] for i in results["global_importance"]
    )
    stability = results["stability"]
    assert len(stability["kendall_tau"]) == 3 and stability["unstable_features"] == []
    top = stability["top_features"]
    assert [c["feature"] for c in results["partial_dependence"]] == top
    assert [d["feature"] for d in results["dependence"]] == top
    income = next(c for c in results["partial_dependence"] if c["feature"] == "income")
    assert income["operating_range"]["source"] == "training data"
    assert first.inputs["train_sha256"] and first.inputs["eval_rows"] > ROWS
    assert {k: first.config[k] for k in ("rows", "seed", "background")} == {
        "rows": ROWS,
        "seed": 0,
        "background": 100,
    }
    # Progress only moves forward, within [0, 1].
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] <= 1

    again = compute_explanation(
        session=session, actor=vic, version_id=versions["credit-gbm"], rows=ROWS
    )
    assert (again.id, again.sha256, again.reproduced) == (first.id, first.sha256, True)
    other_seed = compute_explanation(
        session=session, actor=vic, version_id=versions["credit-gbm"], rows=ROWS, seed=1
    )
    assert other_seed.sha256 != first.sha256
    assert other_seed.results["provenance"]["sample_sha256"] != provenance["sample_sha256"]
    assert _explanations(session) == 2
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    session.commit()
    assert actions.count("evidence_reproduced") == 1


def test_stored_importance_matches_shap_on_the_same_rows(
    session: Session, versions: dict[str, int]
) -> None:
    stored = compute_explanation(
        session=session, actor=OPERATOR, version_id=versions["credit-gbm"], rows=ROWS
    )
    version = session.get(ModelVersion, versions["credit-gbm"])
    assert version is not None
    frame, _ = load_evaluation_data(session, version)
    session.commit()
    model = load_version_model(version)
    sample = frame.loc[stored.results["sample_row_index"], list(FEATURES)]
    prepare, gbm = model[:-1], model[-1]
    # The reference: shap itself on the transformed rows, one-hot columns summed by hand.
    values = shap.TreeExplainer(gbm).shap_values(prepare.transform(sample))
    names = list(prepare.get_feature_names_out())
    grouped = {
        feature: np.abs(
            sum(values[:, j] for j, n in enumerate(names) if n.split("__")[1].startswith(feature))
        ).mean()
        for feature in FEATURES
    }
    for item in stored.results["global_importance"]:
        assert item["mean_abs_shap"] == pytest.approx(grouped[item["feature"]], abs=1e-9)


def test_linear_models_use_a_recorded_background(
    session: Session, versions: dict[str, int]
) -> None:
    stored = compute_explanation(
        session=session,
        actor=OPERATOR,
        version_id=versions["credit-logit"],
        rows=ROWS,
        background=50,
        seed=3,
    )
    provenance = stored.results["provenance"]
    assert (provenance["explainer"], provenance["background_size"]) == ("linear", 50)
    assert provenance["background_source"] == "the training data"
    assert stored.results["additivity_max_error"] < ADDITIVITY_TOLERANCE
    assert stored.results["stability"]["method"] == "background"


def test_unstable_top_features_make_the_evidence_a_warning(
    session: Session, tmp_path: Path
) -> None:
    # Twenty features with the same weight: on 20 explained rows their ranks are a coin toss.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(600, 20)), columns=[f"x{i:02d}" for i in range(20)])
    frame["label"] = (frame.sum(axis=1) + rng.normal(size=600) > 0).astype(int)
    features = frame.columns[:-1]
    model = GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0)
    model.fit(frame[features], frame["label"])
    skops.io.dump(model, tmp_path / "tied.skops")
    frame.to_csv(tmp_path / "tied.csv", index=False)
    vid = register_version(
        session=session,
        actor=OPERATOR,
        name="tied-features",
        artifact=tmp_path / "tied.skops",
        eval_data=tmp_path / "tied.csv",
        target="label",
    ).version_id
    session.commit()
    stored = compute_explanation(session=session, actor=OPERATOR, version_id=vid, rows=20)
    stability = stored.results["stability"]
    assert stored.status == "warning" and stability["unstable_features"]
    moved = stability["rank_tolerance"]
    for feature in stability["unstable_features"]:
        main, *runs = stability["ranks"][feature]
        assert max(abs(r - main) for r in runs) > moved
    assert stored.results["notes"][0] == (
        f"Version {vid} has no training data registered; operating ranges come from the "
        "evaluation data instead."
    )


def test_people_who_only_read_evidence_cannot_compute_it(
    session: Session, versions: dict[str, int]
) -> None:
    sue = get_user(session=session, username="sue")
    with pytest.raises(PermissionDenied, match="sue may not compute evidence"):
        compute_explanation(session=session, actor=sue, version_id=versions["credit-gbm"])
    with pytest.raises(PermissionDenied, match="sue may not compute evidence"):
        submit_explanation(session=session, actor=sue, version_id=versions["credit-gbm"])
    session.rollback()
    assert _explanations(session) == 0


def test_bad_parameters_and_unknown_versions_are_all_reported(
    session: Session, versions: dict[str, int]
) -> None:
    with pytest.raises(InputProblems) as caught:
        submit_explanation(session=session, actor=OPERATOR, version_id=999, rows=1, seed=-1)
    assert caught.value.problems == [
        "No model version with id 999; list them with `gatehouse model show NAME`.",
        "Rows must be a whole number of at least 2; got 1.",
        "Seed must be a whole number of at least 0; got -1.",
    ]
    with pytest.raises(NotFound, match="No model version with id 999"):
        compute_explanation(session=session, actor=OPERATOR, version_id=999)


def test_one_decision_has_three_drivers_and_adds_up(
    session: Session, versions: dict[str, int]
) -> None:
    vid = versions["credit-gbm"]
    decision = explain_decision(session=session, actor=_sue(session), version_id=vid, row_index=4)
    version = session.get(ModelVersion, vid)
    assert version is not None
    frame, _ = load_evaluation_data(session, version)
    session.commit()
    model = load_version_model(version)
    row = frame.iloc[[4]][list(FEATURES)]
    assert decision["prediction"] == pytest.approx(model.decision_function(row)[0], abs=1e-9)
    assert decision["probability"] == pytest.approx(model.predict_proba(row)[0, 1], abs=1e-12)
    total = decision["base_value"] + sum(c["contribution"] for c in decision["contributions"])
    assert total == pytest.approx(decision["prediction"], abs=ADDITIVITY_TOLERANCE)
    assert decision["actual"] == int(frame[TARGET].iloc[4]) and decision["row_index"] == 4
    assert len(decision["drivers"]) == 3
    biggest = decision["contributions"][0]
    label = biggest["feature"].replace("_", " ").capitalize()
    assert decision["drivers"][0].startswith(label)
    assert decision["drivers"][0].endswith(f"{biggest['direction']} the approved score the most.")
    assert decision["boundary_warnings"] == [] and decision["outside_operating_range"] == []


def test_applicant_level_reads_check_the_acting_user_on_every_call(
    session: Session, versions: dict[str, int]
) -> None:
    vid = versions["credit-logit"]
    sue = _sue(session)
    assert search_rows(session=session, actor=sue, version_id=vid, text="north")
    deactivate_user(session=session, actor=OPERATOR, username="sue")
    session.commit()
    for read in (
        lambda: search_rows(session=session, actor=sue, version_id=vid, text="north"),
        lambda: explain_decision(session=session, actor=sue, version_id=vid, row_index=0),
    ):
        with pytest.raises(PermissionDenied, match="deactivated"):
            read()
    session.rollback()


def test_a_what_if_outside_the_training_range_is_explained_and_flagged(
    session: Session, versions: dict[str, int]
) -> None:
    vid = versions["credit-logit"]
    base = explain_decision(session=session, actor=_sue(session), version_id=vid, row_index=0)
    record = base["row"] | {"income": 5_000_000.0, "region": "atlantis"}
    what_if = explain_decision(session=session, actor=_sue(session), version_id=vid, record=record)
    session.commit()
    assert what_if["row"]["income"] == 5_000_000.0 and what_if["row_index"] is None
    assert sorted(what_if["outside_operating_range"]) == ["income", "region"]
    assert what_if["boundary_warnings"][0].startswith(
        "Income 5,000,000 is outside the training range ("
    )
    assert what_if["boundary_warnings"][1] == (
        "Region atlantis was not seen in training; the explanation is unreliable there."
    )


def test_bad_decision_requests_name_every_problem(
    session: Session, versions: dict[str, int]
) -> None:
    vid = versions["credit-gbm"]
    with pytest.raises(InputProblems, match="not both"):
        explain_decision(
            session=session, actor=_sue(session), version_id=vid, row_index=1, record={"income": 1}
        )
    with pytest.raises(InputProblems, match="Say which decision to explain"):
        explain_decision(session=session, actor=_sue(session), version_id=vid)
    with pytest.raises(InputProblems) as caught:
        explain_decision(session=session, actor=_sue(session), version_id=vid, row_index=10**6)
    (problem,) = caught.value.problems
    assert problem.startswith(f"Row 1000000 is not in the evaluation data of version {vid};")
    record = {f: 1.0 for f in NUMERIC_FEATURES} | {"employment": "employed", "region": "north"}
    with pytest.raises(InputProblems) as caught:
        explain_decision(
            session=session,
            actor=_sue(session),
            version_id=vid,
            record=record | {"income": "a lot", "shoe_size": 44},
        )
    session.commit()
    assert caught.value.problems == [
        "The row has values for columns the model does not use: ['shoe_size']; remove them.",
        "Feature 'income' of the row needs a number; got 'a lot'.",
    ]


def test_an_all_missing_feature_is_refused_with_its_name(
    session: Session, demo_files: DemoFiles, tmp_path: Path
) -> None:
    train = pd.read_csv(demo_files.train_csv)
    columns = list(NUMERIC_FEATURES)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    model.fit(train[columns], train[TARGET])
    artifact = tmp_path / "hgb.skops"
    skops.io.dump(model, artifact)
    evaluation = pd.read_csv(demo_files.eval_csv)
    evaluation["years_employed"] = np.nan
    eval_csv = tmp_path / "eval-missing.csv"
    evaluation.to_csv(eval_csv, index=False)
    vid = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-hgb",
        artifact=artifact,
        eval_data=eval_csv,
        target=TARGET,
    ).version_id
    session.commit()
    with pytest.raises(InputProblems) as caught:
        compute_explanation(session=session, actor=OPERATOR, version_id=vid, rows=ROWS)
    session.rollback()
    assert caught.value.problems[0].startswith(
        "Feature column 'years_employed' in the evaluation data X has no values (all "
    )
    assert _explanations(session) == 0


def test_the_job_records_its_outcome_and_a_failure(
    session: Session, versions: dict[str, int]
) -> None:
    vic = get_user(session=session, username="vic")
    job = submit_explanation(
        session=session, actor=vic, version_id=versions["credit-logit"], rows=ROWS
    )
    session.commit()
    done = run_job(job.id)  # type: ignore[arg-type]
    assert (done.state, done.progress, done.error) == ("done", 1.0, "")
    evidence = session.get(Evidence, done.evidence_id)
    assert evidence is not None and evidence.computed_by == vic.id

    version = session.get(ModelVersion, versions["credit-gbm"])
    assert version is not None
    stored = Path(version.artifact_path)
    stored.chmod(0o644)  # the store keeps files read-only; only root could write without this
    stored.write_bytes(b"tampered")
    failing = submit_explanation(session=session, actor=vic, version_id=versions["credit-gbm"])
    session.commit()
    failed = run_job(failing.id)  # type: ignore[arg-type]
    assert failed.state == "failed" and failed.evidence_id is None
    assert "no longer matches the hash recorded at registration" in failed.error
    states = session.exec(select(Job.state).order_by(Job.id)).all()
    session.commit()
    assert states == ["done", "failed"]


# --- gatehouse explain --------------------------------------------------------------------------

PASSWORD = "a long enough password"


@pytest.fixture
def run(db_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, user: str | None = "vic"):  # type: ignore[no-untyped-def]
        env = (
            {"GATEHOUSE_USER": user, "GATEHOUSE_PASSWORD": PASSWORD}
            if user
            else {"GATEHOUSE_USER": ""}
        )
        return runner.invoke(main, list(args), input=input, env=env)

    for name, role in (("vic", "validator"), ("sam", "sme"), ("devi", "developer")):
        result = invoke("user", "add", name, "--role", role, input=PASSWORD + "\n", user=None)
        assert result.exit_code == 0, result.stderr
    return invoke


def test_explain_command_prints_and_stores_the_evidence(run, demo_files: DemoFiles) -> None:  # type: ignore[no-untyped-def]
    args = ["model", "register", "--name", "credit-gbm", "--artifact", str(demo_files.model_paths["credit-gbm"]),
            "--eval", str(demo_files.eval_csv), "--train", str(demo_files.train_csv), "--target", TARGET]  # fmt: skip
    registered = run(*args, "--json", user="devi")
    vid = json.loads(registered.stdout)["version_id"]
    result = run("explain", str(vid), "--rows", str(ROWS), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["explainer"], out["output_space"], out["status"]) == ("tree", "log_odds", "pass")
    assert out["additivity_max_error"] < ADDITIVITY_TOLERANCE
    assert out["rows_explained"] == ROWS and out["seed"] == 0 and not out["reproduced"]
    assert [g["rank"] for g in out["global_importance"]] == list(range(1, len(FEATURES) + 1))
    assert set(out["stability"]) >= {"kendall_tau", "unstable_features", "top_features"}
    assert len(out["sha256"]) == 64 and out["evidence_id"] and out["job_id"]

    again = json.loads(run("explain", str(vid), "--rows", str(ROWS), "--json").stdout)
    assert (again["sha256"], again["reproduced"]) == (out["sha256"], True)
    assert again["job_id"] != out["job_id"]
    text = run("explain", str(vid), "--rows", str(ROWS)).stdout
    assert f"Explanation evidence {out['evidence_id']} ({out['sha256'][:12]})" in text
    assert "Additivity: max error" in text and "Kendall tau" in text
    assert "  1. income" in text


def test_explain_command_refusals_are_one_sentence_on_stderr(run) -> None:  # type: ignore[no-untyped-def]
    missing = run("explain", "999", "--json")
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr == (
        "error: No model version with id 999; list them with `gatehouse model show NAME`.\n"
    )
    refused = run("explain", "999", user="sam")
    assert refused.exit_code == 1 and "sam may not compute evidence" in refused.stderr
    bad = run("explain", "1", "--rows", "1")
    assert bad.exit_code == 2 and "--rows" in bad.stderr

"""Registration, idempotency, bad input, stages, card edits, "as of" views and CSV export."""

from __future__ import annotations

import csv
import io
import pickle
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from sqlmodel import Session, func, select

from core.demo.data import FEATURES, SENSITIVE, TARGET, make_credit_applications, train_demo_models
from core.errors import InputProblems, PermissionDenied
from core.services.inventory import (
    InventoryFilter,
    card_as_of,
    card_history,
    edit_card,
    export_inventory_csv,
    promote_version,
    query_inventory,
    register_version,
    versions_as_of,
)
from core.services.permissions import OPERATOR, Actor, roles_of
from core.services.users import add_user
from core.tables import AuditEvent, Dataset, ModelEntry, ModelVersion, StageChange, User, utcnow
from tests.signoff import sign_off

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real data and models, written once for the module."""
    folder = tmp_path_factory.mktemp("inventory")
    df = make_credit_applications(n_rows=2500, seed=7)
    train, evaluation = df.iloc[:1800], df.iloc[1800:]
    train.to_csv(folder / "train.csv", index=False)
    evaluation.to_csv(folder / "eval.csv", index=False)
    models = train_demo_models(train, seed=7)
    for name in ("credit-logit", "credit-gbm"):
        skops.io.dump(models[name], folder / f"{name}.skops")
    numeric = LogisticRegression(max_iter=500).fit(train[["income", "debt_ratio"]], train[TARGET])
    skops.io.dump(numeric, folder / "numeric.skops")
    return {
        "train": folder / "train.csv",
        "eval": folder / "eval.csv",
        "logit": folder / "credit-logit.skops",
        "gbm": folder / "credit-gbm.skops",
        "numeric": folder / "numeric.skops",
        "folder": folder,
    }


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    users = {}
    for name, role in [("devi", "developer"), ("olivia", "model_owner"), ("sam", "sme"),
                       ("milo", "ml_engineer"), ("victor", "validator")]:  # fmt: skip
        users[name] = add_user(
            session=session, actor=OPERATOR, username=name, password=PASSWORD, roles=[role]
        )
    session.commit()
    return users


def _register(session: Session, actor: Actor, files: dict[str, Path], **kw: Any) -> Any:
    args: dict[str, Any] = {
        "name": "credit-logit",
        "artifact": files["logit"],
        "eval_data": files["eval"],
        "train_data": files["train"],
        "target": TARGET,
        "sensitive": SENSITIVE,
    }
    args.update(kw)
    return register_version(session=session, actor=actor, **args)


def _count(session: Session, table: Any) -> int:
    return int(session.exec(select(func.count()).select_from(table)).one())


def test_registration_records_everything_and_is_idempotent(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    first = _register(session, people["devi"], files, card={"purpose": "Score loans"})
    assert first.created and first.version == 1
    version = session.get(ModelVersion, first.version_id)
    assert version is not None
    assert version.features_json == '["' + '", "'.join(FEATURES) + '"]'
    assert version.estimator_class == "sklearn.pipeline.Pipeline"
    assert version.task == "classification" and version.positive_label == "1"
    assert '"python"' in version.environment_json and '"scikit-learn"' in version.environment_json
    assert Path(version.artifact_path).read_bytes() == files["logit"].read_bytes()
    evaluation = session.get(Dataset, version.eval_dataset_id)
    assert evaluation is not None
    assert (evaluation.rows, evaluation.columns) == pd.read_csv(files["eval"]).shape
    assert "age_band" in evaluation.columns_json

    again = _register(session, people["devi"], files)
    assert (again.version_id, again.created) == (first.version_id, False)
    assert _count(session, ModelVersion) == 1

    second = _register(session, people["devi"], files, artifact=files["gbm"])
    assert second.version == 2 and second.model_id == first.model_id
    newer = session.get(ModelVersion, second.version_id)
    assert newer is not None and newer.parent_version_id == first.version_id
    assert _count(session, Dataset) == 2  # datasets are stored once by content
    actions = session.exec(select(AuditEvent.action)).all()
    assert actions.count("version_registered") == 2


def test_sme_may_not_register(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    assert roles_of(session, people["sam"]) == {"sme"}
    with pytest.raises(PermissionDenied, match="sam may not register models"):
        _register(session, people["sam"], files)


def _refused(session: Session, actor: User, files: dict[str, Path], **kw: Any) -> list[str]:
    before = _count(session, AuditEvent)
    with pytest.raises(InputProblems) as info:
        _register(session, actor, files, **kw)
    # Nothing written but the audit event of the refusal.
    assert _count(session, ModelEntry) == 0
    assert _count(session, ModelVersion) == 0
    assert _count(session, Dataset) == 0
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).all()  # type: ignore[union-attr]
    assert len(events) == before + 1 and events[0].action == "registration_refused"
    return info.value.problems


def _csv(files: dict[str, Path], name: str, frame: pd.DataFrame) -> Path:
    path = files["folder"] / name
    frame.to_csv(path, index=False)
    return path


def test_missing_target_and_sensitive_columns_are_both_reported(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    problems = _refused(session, people["devi"], files, target="repaid", sensitive=["sex", "race"])
    assert any("target column 'repaid' is not in the evaluation data" in p for p in problems)
    assert any("Sensitive columns not in the evaluation data: ['race']" in p for p in problems)


def test_feature_columns_that_do_not_match(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    frame = pd.read_csv(files["eval"]).drop(columns=["income", "region"])
    path = _csv(files, "no_income.csv", frame)
    problems = _refused(session, people["devi"], files, eval_data=path)
    assert any("lacks: ['income', 'region']" in p for p in problems)


def test_empty_file(session: Session, people: dict[str, User], files: dict[str, Path]) -> None:
    path = files["folder"] / "empty.csv"
    path.write_bytes(b"")
    problems = _refused(session, people["devi"], files, eval_data=path)
    assert problems == [
        "Evaluation data: The file empty.csv is empty; give a CSV or Parquet file with a header row and data."
    ]


def test_text_where_the_model_needs_numbers(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    frame = pd.read_csv(files["eval"])
    frame["income"] = frame["income"].map(lambda v: f"{v:,.0f} EUR")
    path = _csv(files, "text_income.csv", frame)
    problems = _refused(session, people["devi"], files, artifact=files["numeric"], eval_data=path)
    assert any("Columns ['income'] are not numeric" in p for p in problems)


def test_one_class_label(session: Session, people: dict[str, User], files: dict[str, Path]) -> None:
    frame = pd.read_csv(files["eval"])
    frame[TARGET] = 1
    path = _csv(files, "one_class.csv", frame)
    problems = _refused(session, people["devi"], files, eval_data=path)
    assert any("has a single value (1)" in p for p in problems)


def test_file_that_is_not_what_its_extension_says(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    fake = files["folder"] / "eval.parquet"
    fake.write_bytes(files["eval"].read_bytes())
    problems = _refused(session, people["devi"], files, eval_data=fake)
    assert any("not a Parquet file despite its extension" in p for p in problems)
    zipped = files["folder"] / "zipped.csv"
    zipped.write_bytes(files["logit"].read_bytes())
    problems = _refused(session, people["devi"], files, eval_data=zipped)
    assert any("not a text CSV file despite its extension" in p for p in problems)


def test_model_that_fails_to_predict_shows_the_models_error(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    frame = pd.read_csv(files["eval"])
    frame.loc[frame.index[:5], "income"] = None  # LogisticRegression does not accept NaN
    path = _csv(files, "nan.csv", frame)
    problems = _refused(session, people["devi"], files, artifact=files["numeric"], eval_data=path)
    assert any(
        p.startswith("The model failed to predict on the evaluation data: ValueError")
        and "NaN" in p
        for p in problems
    )


def test_malicious_pickle_is_refused_and_never_runs(
    session: Session, people: dict[str, User], files: dict[str, Path], tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[Path]]:
            return (Path.touch, (marker,))

    for suffix in (".pkl", ".joblib", ".skops"):
        artifact = tmp_path / f"model{suffix}"
        artifact.write_bytes(pickle.dumps(Payload()))
        problems = _refused(session, people["devi"], files, artifact=artifact)
        assert any("pickle/joblib file; loading it can run arbitrary code" in p for p in problems)
    assert not marker.exists()


def test_untrusted_skops_type_is_named_with_the_fix(
    session: Session, people: dict[str, User], files: dict[str, Path], tmp_path: Path
) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = pd.read_csv(files["train"])
    model = make_pipeline(FunctionTransformer(abs), LogisticRegression(max_iter=500))
    model.fit(frame[["income", "debt_ratio"]], frame[TARGET])
    path = tmp_path / "odd.skops"
    skops.io.dump(model, path)
    problems = _refused(session, people["devi"], files, artifact=path)
    assert any("FunctionTransformer" in p and "trust-type add" in p for p in problems)


def test_card_edits_and_promotions_are_history_and_as_of_reads_it(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    devi, olivia, milo = people["devi"], people["olivia"], people["milo"]
    v1 = _register(session, devi, files, card={"purpose": "Score loans", "owner": "olivia"})
    sign_off(session, v1.version_id, "production", password=PASSWORD)
    promote_version(session=session, actor=milo, version_id=v1.version_id, stage="production")
    t_first = utcnow()
    # Backdate nothing: move the clock forward by taking a time between the two histories.
    edit_card(session=session, actor=olivia, model_id=v1.model_id,
              changes={"purpose": "Score consumer loans", "business_unit": "Lending"})  # fmt: skip
    v2 = _register(session, devi, files, artifact=files["gbm"])
    sign_off(session, v2.version_id, "production", password=PASSWORD)
    promote_version(session=session, actor=milo, version_id=v2.version_id, stage="production")

    session.commit()
    with pytest.raises(PermissionDenied):
        edit_card(
            session=session, actor=people["sam"], model_id=v1.model_id, changes={"purpose": "x"}
        )
    with pytest.raises(PermissionDenied):
        promote_version(session=session, actor=devi, version_id=v1.version_id, stage="qa")
    session.rollback()

    now = query_inventory(session=session, actor=people["sam"])
    assert [(r.name, r.version, r.stage, r.business_unit) for r in now.rows] == [
        ("credit-logit", 2, "production", "Lending")
    ]
    then = query_inventory(session=session, actor=people["sam"], as_of=t_first)
    assert [(r.version, r.stage, r.purpose, r.business_unit) for r in then.rows] == [
        (1, "production", "Score loans", "")
    ]
    assert versions_as_of(session=session, model_id=v1.model_id, when=t_first) == {1: "production"}
    assert versions_as_of(session=session, model_id=v1.model_id, when=utcnow()) == {
        1: "retired",
        2: "production",
    }
    assert (
        card_as_of(session=session, model_id=v1.model_id, when=t_first)["purpose"] == "Score loans"
    )
    before = query_inventory(
        session=session, actor=people["sam"], as_of=t_first - timedelta(days=1)
    )
    assert before.total == 0
    history = card_history(session=session, model_id=v1.model_id)
    assert history[0].edited_by == "olivia"
    assert history[0].changes["purpose"] == {"old": "Score loans", "new": "Score consumer loans"}
    reasons = session.exec(select(StageChange.reason).order_by(StageChange.id)).all()
    assert reasons[-1] == "replaced by version 2"


def test_filters_sort_pages_and_csv_export(
    session: Session, people: dict[str, User], files: dict[str, Path]
) -> None:
    devi = people["devi"]
    for i, unit in enumerate(["Lending", "Cards", "Lending"]):
        _register(session, devi, files, name=f"model-{i}", artifact=files["gbm" if i else "logit"],
                  card={"business_unit": unit, "purpose": "=HYPERLINK(\"http://x\")" if i == 2 else f"p{i}"})  # fmt: skip
    sam = people["sam"]
    lending = query_inventory(
        session=session, actor=sam, filters=InventoryFilter(business_units=["Lending"])
    )
    assert [r.name for r in lending.rows] == ["model-0", "model-2"]
    page2 = query_inventory(
        session=session, actor=sam, sort="name", descending=True, page=2, page_size=2
    )
    assert [r.name for r in page2.rows] == ["model-0"] and page2.pages == 2
    search = query_inventory(session=session, actor=sam, filters=InventoryFilter(text="P1"))
    assert [r.name for r in search.rows] == ["model-1"]
    with pytest.raises(InputProblems, match="Page 3 is out of range"):
        query_inventory(session=session, actor=sam, page=3, page_size=2)

    data = export_inventory_csv(session=session, actor=sam, excel=True)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data[3:].decode())))
    assert [r["name"] for r in rows] == ["model-0", "model-1", "model-2"]
    assert rows[2]["purpose"] == '\'=HYPERLINK("http://x")'  # never a live formula
    assert rows[0]["business_unit"] == "Lending" and rows[0]["owner"] == "devi"

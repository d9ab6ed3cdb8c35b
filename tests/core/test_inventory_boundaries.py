"""Inventory trust boundaries: who assigns a model's people, look-alike names, search text, data
width, and concurrent registrations."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.config import get_settings, reset_settings
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import InputProblems, PermissionDenied, SegregationOfDuties
from core.files.datasets import TOO_MANY_COLUMNS, max_columns_allowed, read_data
from core.services.audit import verify_chain
from core.services.inventory import (
    InventoryFilter,
    RegistrationResult,
    current_card,
    edit_card,
    export_inventory_csv,
    promote_version,
    query_inventory,
    register_version,
)
from core.services.inventory.card import (
    PEOPLE_NOT_ALLOWED,
    VALIDATOR_DEVELOPS,
    VALIDATOR_REGISTERED,
)
from core.services.inventory.listing import MAX_SEARCH_CHARS, SEARCH_TOO_LONG
from core.services.inventory.names import LOOKALIKE, MIXED_SCRIPTS
from core.services.permissions import OPERATOR
from core.services.users import add_user, get_user
from core.tables import AuditEvent, Dataset, ModelEntry, ModelVersion, User
from tests.signoff import sign_off

PASSWORD = "a long enough password"


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    users = {}
    for name, role in [("olivia", "model_owner"), ("devi", "developer"), ("dana", "developer"),
                       ("rita", "risk_manager"), ("ada", "admin"), ("victor", "validator"),
                       ("sam", "sme")]:  # fmt: skip
        users[name] = add_user(
            session=session, actor=OPERATOR, username=name, password=PASSWORD, roles=[role]
        )
    session.commit()
    return users


def _register(
    session: Session,
    actor: User | None,
    files: DemoFiles,
    *,
    name: str = "credit-gbm",
    model: str = "credit-gbm",
    **kw: Any,
) -> RegistrationResult:
    kw.setdefault("eval_data", files.eval_csv)
    result = register_version(
        session=session,
        actor=actor,
        name=name,
        artifact=files.model_paths[model],
        target=TARGET,
        sensitive=SENSITIVE,
        **kw,
    )
    session.commit()  # as the command or page that registers does
    return result


def _people_events(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(
        select(AuditEvent.details)
        .where(AuditEvent.action == "model_people_changed")
        .order_by(col(AuditEvent.id))
    ).all()
    return [json.loads(d)["changes"] for d in rows]


def test_only_the_owner_a_risk_manager_or_an_admin_assigns_people(
    session: Session, people: dict[str, User], demo_files: DemoFiles
) -> None:
    first = _register(
        session, people["devi"], demo_files, card={"owner": "olivia", "developer": "devi"}
    )
    model_id = first.model_id

    def model() -> ModelEntry:
        session.expire_all()
        row = session.get(ModelEntry, model_id)
        assert row is not None
        return row

    assert (model().owner_id, model().developer_id) == (people["olivia"].id, people["devi"].id)

    # The reported attack: a developer makes herself owner and validator of someone else's model.
    with pytest.raises(PermissionDenied) as denied:
        edit_card(session=session, actor=people["devi"], model_id=model_id,
                  changes={"owner": "devi", "validator": "devi"})  # fmt: skip
    assert denied.value.problems == [
        PEOPLE_NOT_ALLOWED.format(who="devi", fields="owner, validator", model="credit-gbm")
    ]
    session.rollback()
    assert (model().owner_id, model().validator_id) == (people["olivia"].id, None)
    # Her card text is still hers to edit.
    assert edit_card(session=session, actor=people["devi"], model_id=model_id,
                     changes={"kpis": "Default rate"})  # fmt: skip
    session.commit()

    # Not even the owner makes the developer the validator.
    with pytest.raises(SegregationOfDuties) as split:
        edit_card(session=session, actor=people["olivia"], model_id=model_id,
                  changes={"validator": "devi"})  # fmt: skip
    assert split.value.problems == [VALIDATOR_DEVELOPS.format(who="devi", model="credit-gbm")]
    session.rollback()

    # Whoever registered a version is not its model's validator, whoever assigns it...
    _register(session, people["dana"], demo_files, model="credit-logit")
    with pytest.raises(SegregationOfDuties) as split:
        edit_card(session=session, actor=people["ada"], model_id=model_id,
                  changes={"validator": "dana"})  # fmt: skip
    assert split.value.problems == [VALIDATOR_REGISTERED.format(who="dana", model="credit-gbm")]
    session.rollback()
    # ... nor names themselves validator in the card of a version they register.
    with pytest.raises(SegregationOfDuties) as split:
        _register(session, people["olivia"], demo_files, model="credit-forest",
                  card={"validator": "olivia"})  # fmt: skip
    assert split.value.problems == [VALIDATOR_REGISTERED.format(who="olivia", model="credit-gbm")]
    session.rollback()
    # A card naming the people already assigned is no assignment (a pipeline passes the same card
    # with every version).
    again = _register(session, people["devi"], demo_files, model="credit-forest",
                      card={"owner": "olivia", "developer": "devi", "kpis": "Losses"})  # fmt: skip
    assert again.created
    assert session.exec(select(func.count()).select_from(ModelVersion)).one() == 3

    # A risk manager assigns the validator; an admin hands the model over; both are audited.
    edit_card(session=session, actor=people["rita"], model_id=model_id,
              changes={"validator": "victor"})  # fmt: skip
    session.commit()
    with pytest.raises(PermissionDenied):  # a risk manager assigns people, not card text
        edit_card(session=session, actor=people["rita"], model_id=model_id,
                  changes={"purpose": "Anything"})  # fmt: skip
    session.rollback()
    edit_card(session=session, actor=people["ada"], model_id=model_id, changes={"owner": "rita"})
    session.commit()
    assert (model().owner_id, model().validator_id) == (people["rita"].id, people["victor"].id)
    assert _people_events(session) == [
        {"owner": {"old": None, "new": "olivia"}, "developer": {"old": None, "new": "devi"}},
        {"validator": {"old": None, "new": "victor"}},
        {"owner": {"old": "olivia", "new": "rita"}},
    ]


def test_services_flush_and_leave_the_commit_to_the_edge(
    session: Session, people: dict[str, User], demo_files: DemoFiles
) -> None:
    first = _register(session, people["devi"], demo_files, card={"purpose": "Score loans"})
    sign_off(session, first.version_id, "qa", password=PASSWORD)
    events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    promote_version(session=session, actor=people["ada"], version_id=first.version_id, stage="qa")
    edit_card(session=session, actor=people["devi"], model_id=first.model_id,
              changes={"purpose": "Something else"})  # fmt: skip
    session.rollback()  # the edge's rollback undoes both: neither service committed
    version = session.get(ModelVersion, first.version_id)
    assert version is not None and version.stage == "development"
    assert current_card(session=session, model_id=first.model_id)["purpose"] == "Score loans"
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == events


def test_look_alike_names_are_refused(
    session: Session, people: dict[str, User], demo_files: DemoFiles
) -> None:
    first = _register(session, people["devi"], demo_files)
    cyrillic = "\u0441redit-gbm"  # Cyrillic small es, then Latin
    with pytest.raises(InputProblems) as refused:
        _register(session, people["devi"], demo_files, name=cyrillic, model="credit-logit")
    assert refused.value.problems == [
        LOOKALIKE.format(
            name=cyrillic,
            existing="credit-gbm",
            chars="the character 'с' (U+0441 CYRILLIC SMALL LETTER ES)",
        )
    ]
    full_width = "ｃｒｅｄｉｔ-gbm"
    with pytest.raises(InputProblems) as refused:
        _register(session, people["devi"], demo_files, name=full_width, model="credit-logit")
    (problem,) = refused.value.problems
    assert problem.startswith(f"The model name {full_width!r} looks like the existing model")
    mixed = "scor\u0435-v2"  # Latin with a Cyrillic small ie, like nothing registered
    with pytest.raises(InputProblems) as refused:
        _register(session, people["devi"], demo_files, name=mixed, model="credit-logit")
    assert refused.value.problems == [MIXED_SCRIPTS.format(name=mixed, scripts="CYRILLIC, LATIN")]
    assert session.exec(select(ModelEntry.name)).all() == ["credit-gbm"]
    # The exact name is the model itself; a name in one other script is a name.
    again = _register(session, people["devi"], demo_files, model="credit-logit")
    assert (again.model_id, again.version, again.created) == (first.model_id, 2, True)
    other = _register(session, people["devi"], demo_files, name="кредит-бизнес")
    assert other.created and other.model_id != first.model_id


def test_search_text_is_literal_and_bounded(session: Session, people: dict[str, User]) -> None:
    for name, purpose in [("rate_card", "a"), ("ratexcard", "b"), ("full-100%", "c"),
                          ("full-1000", "d"), ("slash-a", "path a\\b"), ("slash-b", "path ab")]:  # fmt: skip
        session.add(ModelEntry(name=name, purpose=purpose))
    session.commit()

    def found(text: str) -> list[str]:
        page = query_inventory(
            session=session, actor=people["sam"], filters=InventoryFilter(text=text)
        )
        return [r.name for r in page.rows]

    assert found("e_c") == ["rate_card"]
    assert found("_") == ["rate_card"]
    assert found("100%") == ["full-100%"]
    assert found("%") == ["full-100%"]
    assert found("a\\b") == ["slash-a"]
    assert found("x" * MAX_SEARCH_CHARS) == []
    for call in (query_inventory, export_inventory_csv):
        with pytest.raises(InputProblems) as refused:
            call(session=session, actor=people["sam"], filters=InventoryFilter(text="y" * 60_000))
        assert refused.value.problems == [SEARCH_TOO_LONG.format(n=60_000, limit=MAX_SEARCH_CHARS)]


def test_data_with_absurdly_many_columns_is_refused(
    session: Session,
    people: dict[str, User],
    demo_files: DemoFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(
        ",".join(f"c{i}" for i in range(100_000)) + "\n" + ",".join("0" * 100_000) + "\n"
    )
    sentence = TOO_MANY_COLUMNS.format(name="wide.csv", n=100_000, cap=10_000)
    with pytest.raises(ValueError) as refused:
        read_data(wide, max_columns=max_columns_allowed())
    assert str(refused.value) == sentence
    with pytest.raises(InputProblems) as problems:
        _register(session, people["devi"], demo_files, eval_data=wide)
    assert f"Evaluation data: {sentence}" in problems.value.problems

    # The cap is a setting; Parquet files are measured by their schema.
    monkeypatch.setenv("GATEHOUSE_MAX_DATASET_COLUMNS", "3")
    reset_settings()
    assert get_settings().max_dataset_columns == 3
    narrow = tmp_path / "four.parquet"
    pd.DataFrame({c: [1, 2] for c in "abcd"}).to_parquet(narrow)
    with pytest.raises(ValueError) as refused:
        read_data(narrow, max_columns=max_columns_allowed())
    assert str(refused.value) == TOO_MANY_COLUMNS.format(name="four.parquet", n=4, cap=3)
    # Files already registered stay readable whatever the cap is today.
    assert read_data(narrow).frame.shape == (2, 4)


def _stored_files(root: Path) -> set[str]:
    return {
        str(p)
        for kind in ("artifacts", "datasets")
        for p in (root / kind).rglob("*")
        if p.is_file()
    }


def _race(db_url: str, files: DemoFiles, plan: list[tuple[str, str]]) -> list[Any]:
    """Register every (name, model) of the plan at once, each from a thread with its own
    connection and session that commits as the edge does; the results, or the errors raised."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    start = threading.Barrier(len(plan))

    def register(job: tuple[str, str]) -> Any:
        name, model = job
        with Session(engine, expire_on_commit=False) as own:
            actor = get_user(session=own, username="devi")
            start.wait()
            try:
                result = register_version(
                    session=own,
                    actor=actor,
                    name=name,
                    artifact=files.model_paths[model],
                    eval_data=files.eval_csv,
                    train_data=files.train_csv,
                    target=TARGET,
                    sensitive=SENSITIVE,
                )
            except InputProblems as err:
                return err
            own.commit()
            return result

    try:
        with ThreadPoolExecutor(len(plan)) as pool:
            return list(pool.map(register, plan))  # any other exception fails the test here
    finally:
        engine.dispose()


@pytest.fixture
def devi(db_url: str, session: Session) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent writers are a PostgreSQL matter; SQLite serialises transactions")
    add_user(
        session=session, actor=OPERATOR, username="devi", password=PASSWORD, roles=["developer"]
    )
    session.commit()


@pytest.mark.usefixtures("devi")
def test_twenty_concurrent_registrations_each_get_the_right_answer(
    db_url: str, session: Session, demo_files: DemoFiles
) -> None:
    # Two names, two artifacts, shared datasets: every unique constraint is raced for.
    plan = [
        (f"credit-{'ab'[i % 2]}", ("credit-gbm", "credit-logit")[i % 4 // 2]) for i in range(20)
    ]
    results = _race(db_url, demo_files, plan)
    assert all(isinstance(r, RegistrationResult) for r in results), results

    by_job: dict[tuple[str, str], set[int]] = {}
    for job, result in zip(plan, results, strict=True):
        by_job.setdefault(job, set()).add(result.version_id)
    assert all(len(ids) == 1 for ids in by_job.values()), by_job
    assert Counter(r.created for r in results) == {True: 4, False: 16}
    session.expire_all()
    versions = session.exec(select(ModelVersion)).all()
    assert {v.id for v in versions} == {i for ids in by_job.values() for i in ids}
    numbers: dict[int, list[int]] = {}
    for v in versions:
        numbers.setdefault(v.model_id, []).append(v.version)
    assert sorted(sorted(n) for n in numbers.values()) == [[1, 2], [1, 2]]
    assert session.exec(select(func.count()).select_from(ModelEntry)).one() == 2
    datasets = session.exec(select(Dataset)).all()
    assert len(datasets) == 2
    # Every stored file is referenced by a row, and nothing is left half-written.
    referenced = {v.artifact_path for v in versions} | {d.path for d in datasets}
    assert _stored_files(get_settings().data_dir) == referenced
    actions = Counter(session.exec(select(AuditEvent.action)).all())
    assert (actions["model_created"], actions["version_registered"]) == (2, 4)
    assert actions["registration_refused"] == 0
    assert verify_chain(session=session).intact


@pytest.mark.usefixtures("devi")
def test_concurrent_look_alike_names_register_one_model(
    db_url: str, session: Session, demo_files: DemoFiles
) -> None:
    # Each name in one script, so either may win; the other is then its look-alike.
    names = ("copa", "\u0441\u043e\u0440\u0430")
    plan = [(names[i % 2], ("credit-gbm", "credit-logit")[i % 2]) for i in range(6)]
    results = _race(db_url, demo_files, plan)
    (winner,) = session.exec(select(ModelEntry.name)).all()
    for (name, _), result in zip(plan, results, strict=True):
        if name == winner:
            assert isinstance(result, RegistrationResult), result
        else:
            assert isinstance(result, InputProblems)
            (problem,) = result.problems
            assert problem.startswith(f"The model name {name!r} looks like the existing model")
    assert Counter(isinstance(r, RegistrationResult) and r.created for r in results)[True] == 1

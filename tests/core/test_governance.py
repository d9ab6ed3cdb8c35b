"""Risk assessments, overrides, review flags and policy versions on a real database (SQLite and
PostgreSQL): permissions, exact refusals, immutability enforced by the database, and thresholds
flowing from the governing policy version into stored evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.risk import DEMO_ANSWERS
from core.errors import InputProblems, PermissionDenied
from core.services.evidence import evaluate_version
from core.services.inventory import InventoryFilter, query_inventory, register_version
from core.services.permissions import OPERATOR
from core.services.policy import (
    adopt_policy,
    diff_versions,
    ensure_shipped_pack,
    latest_policy_version,
    policy_for_model,
    publish_pack,
    shipped_pack_text,
)
from core.services.risk import (
    assess_model,
    current_risk,
    override_tier,
    risk_columns,
    risk_history,
)
from core.services.users import add_user
from core.tables import AuditEvent, ModelEntry, ModelSnapshot, utcnow

HIGH = DEMO_ANSWERS["credit-gbm"][0]
MEDIUM = DEMO_ANSWERS["credit-logit"][0]
LOW = DEMO_ANSWERS["credit-forest"][0]


@pytest.fixture
def world(session: Session, demo_files: DemoFiles) -> dict[str, object]:
    users = {}
    for name, role in (
        ("ada", "admin"), ("olivia", "model_owner"), ("owen", "model_owner"),
        ("devi", "developer"), ("rita", "risk_manager"),
    ):  # fmt: skip
        users[name] = add_user(
            session=session, actor=OPERATOR, username=name, password="x" * 12, roles=[role]
        )
    session.commit()
    ensure_shipped_pack(session)
    session.commit()
    ids = {}
    for name in ("credit-logit", "credit-forest"):
        ids[name] = register_version(
            session=session,
            actor=users["devi"],
            name=name,
            artifact=demo_files.model_paths[name],
            eval_data=demo_files.eval_csv,
            train_data=demo_files.train_csv,
            target=TARGET,
            sensitive=SENSITIVE,
            card={"owner": "olivia"},
        ).model_id
    return {"users": users, "models": ids, "session": session}


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_shipped_pack_is_published_once(world) -> None:  # type: ignore[no-untyped-def]
    session = world["session"]
    assert latest_policy_version(session).version == 1
    assert ensure_shipped_pack(session) is None
    assert len(_events(session, "policy_published")) == 1


def test_owner_assesses_and_the_tier_sets_the_review(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    model_id = models["credit-logit"]
    result = assess_model(session=session, actor=users["olivia"], model_id=model_id, answers=HIGH)
    session.commit()
    assert (result.computed_tier, result.tier, result.policy_version) == ("high", "high", 1)
    assert [g["id"] for g in result.requires][:2] == ["business_scoping", "ideation"]
    model = session.get(ModelEntry, model_id)
    history = risk_history(session, model_id)
    assessed_at = history[0]["assessed_at"]
    assert model.risk_tier == "high"
    assert (model.next_review_date - timedelta(days=180)).isoformat() == assessed_at
    assert history[0]["answers"] == HIGH and history[0]["method_version"] == "2026.1"
    snapshots = session.exec(select(ModelSnapshot).where(ModelSnapshot.model_id == model_id)).all()
    assert snapshots[-1].risk_tier == "high"
    assert _events(session, "risk_assessed")[0].subject_id == str(model_id)
    assert _events(session, "policy_adopted")[0].details  # bound at the first assessment
    page = query_inventory(
        session=session, actor=users["rita"], filters=InventoryFilter(tiers=["high"])
    )
    assert [r.name for r in page.rows] == ["credit-logit"]


def test_only_the_owner_or_a_risk_manager_assesses(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    with pytest.raises(PermissionDenied) as info:
        assess_model(
            session=session, actor=users["owen"], model_id=models["credit-logit"], answers=LOW
        )
    assert info.value.problems == [
        "owen may not assess credit-logit: only its owner (olivia) or a risk manager answers its "
        "risk questionnaire."
    ]
    with pytest.raises(PermissionDenied):
        assess_model(
            session=session, actor=users["devi"], model_id=models["credit-logit"], answers=LOW
        )
    result = assess_model(
        session=session, actor=users["rita"], model_id=models["credit-logit"], answers=LOW
    )
    assert result.tier == "low"


def test_incomplete_answers_give_no_tier(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    answers = {k: v for k, v in LOW.items() if k not in ("decay", "lifetime")} | {"colour": "red"}
    with pytest.raises(InputProblems) as info:
        assess_model(
            session=session,
            actor=users["olivia"],
            model_id=models["credit-forest"],
            answers=answers,
        )
    assert info.value.problems == [
        "No answer to lifetime, decay; answer every question (list them with `gatehouse risk questions`).",
        "Unknown questions colour; use only the ids `gatehouse risk questions` lists.",
    ]
    assert session.get(ModelEntry, models["credit-forest"]).risk_tier is None


def test_override_needs_a_risk_manager_and_a_justification(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    model_id = models["credit-logit"]
    assess_model(session=session, actor=users["olivia"], model_id=model_id, answers=MEDIUM)
    session.commit()
    with pytest.raises(PermissionDenied) as info:
        override_tier(
            session=session, actor=users["olivia"], model_id=model_id, tier="low", justification=""
        )
    assert info.value.problems == [
        "olivia may not override a risk tier: only a risk_manager may, with a justification.",
        "An override needs a written justification; give --justification TEXT.",
    ]
    with pytest.raises(InputProblems) as info:
        override_tier(
            session=session,
            actor=users["rita"],
            model_id=model_id,
            tier="severe",
            justification="  ",
        )
    assert info.value.problems == [
        "An override needs a written justification; give --justification TEXT.",
        "The tier 'severe' is unknown; use one of low, medium, high, critical.",
    ]
    result = override_tier(
        session=session, actor=users["rita"], model_id=model_id, tier="critical",
        justification="Feeds the champion's decisions.",
    )  # fmt: skip
    session.commit()
    assert (result.computed_tier, result.tier) == ("medium", "critical")
    columns = risk_columns(session, [model_id])[model_id]
    assert (columns["computed_tier"], columns["override_tier"], columns["tier"]) == (
        "medium", "critical", "critical",
    )  # fmt: skip
    assessed = risk_history(session, model_id)[0]
    # The cadence follows the tier in force (critical: 90 days) from the assessment's date.
    assert columns["next_review"] == session.get(ModelEntry, model_id).next_review_date
    assert (columns["next_review"] - timedelta(days=90)).isoformat() == assessed["assessed_at"]
    assert assessed["overrides"][0]["justification"] == "Feeds the champion's decisions."
    assert policy_for_model(session, model_id).tier == "critical"
    assert _events(session, "risk_tier_overridden")[0].actor_id == users["rita"].id


def test_overdue_review_is_flagged_and_filtered(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    late = models["credit-logit"]
    assess_model(
        session=session,
        actor=users["olivia"],
        model_id=late,
        answers=MEDIUM,
        at=utcnow() - timedelta(days=366),
    )
    assess_model(
        session=session,
        actor=users["olivia"],
        model_id=models["credit-forest"],
        answers=MEDIUM,
        at=utcnow() - timedelta(days=364),
    )
    session.commit()
    flags = risk_columns(session, models.values())
    assert flags[late]["overdue"] is True
    assert flags[models["credit-forest"]]["overdue"] is False
    page = query_inventory(
        session=session, actor=users["rita"], filters=InventoryFilter(overdue=True)
    )
    assert [r.name for r in page.rows] == ["credit-logit"]


def test_a_material_change_marks_the_assessment_needs_review(world, demo_files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    model_id = models["credit-logit"]
    assess_model(session=session, actor=users["olivia"], model_id=model_id, answers=MEDIUM)
    session.commit()
    assert current_risk(session, model_id)["needs_review"] is False
    register_version(
        session=session, actor=users["devi"], name="credit-logit",
        artifact=demo_files.model_paths["credit-forest"], eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv, target=TARGET,
    )  # fmt: skip
    # Same features, target, training data and (Pipeline) class: not a material change.
    assert current_risk(session, model_id)["needs_review"] is False
    retrained = tmp_path / "train-2.csv"
    lines = demo_files.train_csv.read_text().splitlines(keepends=True)
    retrained.write_text("".join(lines[:-100]))
    register_version(
        session=session, actor=users["devi"], name="credit-logit",
        artifact=demo_files.model_paths["credit-gbm"], eval_data=demo_files.eval_csv,
        train_data=retrained, target=TARGET,
    )  # fmt: skip
    risk = current_risk(session, model_id)
    assert risk["needs_review"] is True
    assert risk["changed"] == ["training_data"]
    assert risk_columns(session, [model_id])[model_id]["needs_review"] is True


def test_published_rows_are_immutable_in_the_database(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    assess_model(
        session=session, actor=users["olivia"], model_id=models["credit-logit"], answers=MEDIUM
    )
    override_tier(
        session=session,
        actor=users["rita"],
        model_id=models["credit-logit"],
        tier="high",
        justification="why",
    )
    session.commit()
    for table, column in (
        ("policy_version", "name"), ("risk_assessment", "computed_tier"),
        ("risk_override", "tier"), ("model_policy", "reason"),
    ):  # fmt: skip
        for statement in (f"UPDATE {table} SET {column} = 'low'", f"DELETE FROM {table}"):  # noqa: S608 (fixed names)
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                session.execute(sa.text(statement))
            session.rollback()
    assert latest_policy_version(session).name == "Gatehouse default policy"


def test_publishing_refusals_keep_the_version_in_force(world) -> None:  # type: ignore[no-untyped-def]
    session, users = world["session"], world["users"]
    with pytest.raises(PermissionDenied):
        publish_pack(
            session=session, actor=users["rita"], text=shipped_pack_text(), source_name="p.yaml"
        )
    bad = shipped_pack_text().replace("accountable: validator", "accountable: [validator, sme]", 1)
    with pytest.raises(InputProblems):
        publish_pack(session=session, actor=users["ada"], text=bad, source_name="p.yaml")
    same, created = publish_pack(
        session=session, actor=users["ada"], text=shipped_pack_text(), source_name="p.yaml"
    )
    assert (same.version, created) == (1, False)
    changed = shipped_pack_text().replace("review_every_days: 90", "review_every_days: 60")
    row, created = publish_pack(
        session=session, actor=users["ada"], text=changed, source_name="p.yaml"
    )
    session.commit()
    assert (row.version, created) == (2, True)
    assert diff_versions(session, 1, 2) == [
        {"key": "tiers.critical.review_every_days", "old": 90, "new": 60}
    ]


def test_thresholds_come_from_the_governing_policy_version(world) -> None:  # type: ignore[no-untyped-def]
    session, users, models = world["session"], world["users"], world["models"]
    model_id = models["credit-logit"]
    version_id = session.get(ModelEntry, model_id).current_version_id
    assess_model(session=session, actor=users["olivia"], model_id=model_id, answers=MEDIUM)
    session.commit()
    strict = shipped_pack_text().replace("      value: 0.70\n", "      value: 0.99\n", 1)
    strict = strict.replace(
        "    min_group_size:\n      value: 30", "    min_group_size:\n      value: 40", 1
    )
    publish_pack(session=session, actor=users["ada"], text=strict, source_name="strict.yaml")
    session.commit()
    # Still bound to version 1: publishing moves nobody.
    first = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
    assert first.performance.inputs["policy_version"] == 1
    assert first.performance.results["policy"]["min_roc_auc"] == 0.70
    with pytest.raises(InputProblems) as info:
        adopt_policy(
            session=session,
            actor=users["rita"],
            version=2,
            model_names=["credit-logit"],
            reason=" ",
        )
    assert info.value.problems == [
        "Say why the models move to policy version 2; give --reason TEXT."
    ]
    moved = adopt_policy(
        session=session, actor=users["rita"], version=2, model_names=["credit-logit"],
        reason="stricter AUC",
    )  # fmt: skip
    session.commit()
    assert moved == ["credit-logit"]
    second = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
    assert second.performance.inputs["policy_version"] == 2
    assert second.performance.results["policy"]["min_roc_auc"] == 0.99
    auc = next(c for c in second.performance.results["checks"] if c["label"] == "ROC AUC")
    assert auc["threshold"] == 0.99 and auc["status"] == "fail"
    assert second.fairness.results["policy"]["min_group_size"] == 40
    assert second.fairness.inputs["policy_version"] == 2
    assert [e.details for e in _events(session, "policy_adopted")][-1].count("stricter AUC") == 1

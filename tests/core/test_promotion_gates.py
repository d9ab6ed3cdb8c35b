"""No path moves a version to a stage whose gates are not approved: the service, the command,
the operator; retirement needs the gates the policy ties to it. Refusals are recorded."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, select

from core.cli import main
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import GateBlocked
from core.rules.gates import plan_from_pack_tier
from core.services.audit import verify_chain
from core.services.audit_log import AuditFilter, query_events
from core.services.gate_status import PROMOTION_BLOCKED
from core.services.gates import open_gates
from core.services.inventory import promote_version, register_version
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import AuditEvent, ModelEntry, ModelVersion, StageChange, User
from tests.signoff import SIGN_OFF_TIER, sign_off

PW = "a long enough password"
PEOPLE = {
    "devi": "developer",
    "olivia": "model_owner",
    "sam": "sme",
    "victor": "validator",
    "rita": "risk_manager",
    "milo": "ml_engineer",
    "ada": "admin",
}


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    users = {
        name: add_user(session=session, actor=OPERATOR, username=name, password=PW, roles=[role])
        for name, role in PEOPLE.items()
    }
    session.commit()
    return users


def _register(session: Session, who: User, files: DemoFiles, artifact: str = "credit-gbm") -> int:
    result = register_version(
        session=session,
        actor=who,
        name="credit-gbm",
        artifact=files.model_paths[artifact],
        eval_data=files.eval_csv,
        train_data=files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
        card={"purpose": "Rank consumer loan applications."},
    )
    session.commit()
    return result.version_id


def _stage(session: Session, version_id: int) -> str:
    session.expire_all()
    version = session.get(ModelVersion, version_id)
    assert version is not None
    stage = version.stage
    session.rollback()  # the read's transaction must not hold SQLite's lock for the next caller
    return stage


def _refusals(session: Session) -> list[dict[str, object]]:
    session.expire_all()
    rows = session.exec(
        select(AuditEvent.details)
        .where(AuditEvent.action == "promotion_refused")
        .order_by(col(AuditEvent.id))
    ).all()
    session.rollback()
    return [json.loads(d) for d in rows]


def test_a_version_without_gates_is_refused_by_the_service_for_any_caller(
    session: Session, people: dict[str, User], demo_files: DemoFiles
) -> None:
    version_id = _register(session, people["devi"], demo_files)
    sentence = PROMOTION_BLOCKED.format(
        version=1,
        model="credit-gbm",
        stage="production",
        reasons="it has no gates yet (assess the model's risk to open them)",
    )
    for actor in (people["milo"], OPERATOR):
        with pytest.raises(GateBlocked) as err:
            promote_version(session=session, actor=actor, version_id=version_id, stage="production")
        assert err.value.problems == [sentence]
        session.rollback()  # as the edge does on an error; the refusal was kept
    assert _stage(session, version_id) == "development"
    assert session.exec(select(StageChange.stage)).all() == ["development"]
    refusals = _refusals(session)
    assert refusals == [
        {"model": "credit-gbm", "version": 1, "old": "development", "new": "production",
         "reason": sentence},
    ] * 2  # fmt: skip
    actors = session.exec(
        select(AuditEvent.actor).where(AuditEvent.action == "promotion_refused")
    ).all()
    assert actors == ["milo", "operator"]
    described = query_events(
        session=session, actor=OPERATOR, filters=AuditFilter(actions=["promotion_refused"])
    ).rows
    assert described[0].description == (
        "operator was refused moving credit-gbm v1 from development to production"
    )
    assert verify_chain(session=session).intact


def test_open_gates_are_named_and_signing_them_off_lets_the_move_through(
    session: Session, people: dict[str, User], demo_files: DemoFiles
) -> None:
    version_id = _register(session, people["devi"], demo_files)
    open_gates(
        session=session,
        version_id=version_id,
        plan=plan_from_pack_tier(SIGN_OFF_TIER),
        policy_version=None,
        tier=None,
    )
    session.commit()
    with pytest.raises(GateBlocked) as err:
        promote_version(session=session, actor=people["milo"], version_id=version_id, stage="qa")
    assert err.value.problems == [
        PROMOTION_BLOCKED.format(
            version=1,
            model="credit-gbm",
            stage="qa",
            reasons="the business scoping gate is in progress, the development gate is not started",
        )
    ]
    session.rollback()
    sign_off(session, version_id, "qa", password=PW)
    promote_version(session=session, actor=people["milo"], version_id=version_id, stage="qa")
    session.commit()
    assert _stage(session, version_id) == "qa"
    # qa's gates do not open production: the validation and deployment gates are still open.
    with pytest.raises(GateBlocked, match="the validation gate is in progress, the deployment"):
        promote_version(
            session=session, actor=people["milo"], version_id=version_id, stage="production"
        )
    session.rollback()
    sign_off(session, version_id, "production", password=PW)
    promote_version(
        session=session, actor=people["milo"], version_id=version_id, stage="production"
    )
    session.commit()
    assert _stage(session, version_id) == "production"
    model = session.exec(select(ModelEntry)).one()
    assert model.production_version_id == version_id
    assert len(_refusals(session)) == 2
    # Moving back to development needs no gate.
    promote_version(
        session=session, actor=people["olivia"], version_id=version_id, stage="development"
    )
    session.commit()
    assert _stage(session, version_id) == "development"


RETIREMENT_TIER = {
    **SIGN_OFF_TIER,
    "gates": [
        *SIGN_OFF_TIER["gates"],  # type: ignore[misc]
        {
            "id": "monitoring",
            "responsible": ["ml_engineer"],
            "accountable": "risk_manager",
            "unlocks_stage": "retired",
        },
    ],
}


def test_retirement_needs_the_gates_the_policy_ties_to_it(
    session: Session, people: dict[str, User], demo_files: DemoFiles
) -> None:
    # Without a retirement gate (the shipped pack), retiring needs no sign-off.
    plain = _register(session, people["devi"], demo_files)
    open_gates(session=session, version_id=plain,
               plan=plan_from_pack_tier(SIGN_OFF_TIER), policy_version=None, tier=None)  # fmt: skip
    session.commit()
    promote_version(session=session, actor=people["milo"], version_id=plain, stage="retired")
    session.commit()
    assert _stage(session, plain) == "retired"

    # A policy that ties the monitoring gate to retirement: blocked until it is approved.
    version_id = _register(session, people["devi"], demo_files, artifact="credit-logit")
    open_gates(session=session, version_id=version_id,
               plan=plan_from_pack_tier(RETIREMENT_TIER), policy_version=None, tier=None)  # fmt: skip
    session.commit()
    sign_off(session, version_id, "production", password=PW)
    promote_version(
        session=session, actor=people["milo"], version_id=version_id, stage="production"
    )
    session.commit()
    with pytest.raises(GateBlocked) as err:
        promote_version(session=session, actor=OPERATOR, version_id=version_id, stage="retired")
    assert err.value.problems == [
        PROMOTION_BLOCKED.format(
            version=2,
            model="credit-gbm",
            stage="retired",
            reasons="the monitoring and periodic review gate is in progress",
        )
    ]
    session.rollback()
    # Replacing it in production retires it too, so the replacement is refused the same way.
    replacement = _register(session, people["devi"], demo_files)
    sign_off(session, replacement, "production", password=PW)
    with pytest.raises(GateBlocked, match="Version 2 of credit-gbm may not move to retired"):
        promote_version(
            session=session, actor=people["milo"], version_id=replacement, stage="production"
        )
    session.rollback()
    assert _stage(session, version_id) == "production"
    sign_off(session, version_id, "retired", password=PW)
    promote_version(
        session=session, actor=people["milo"], version_id=replacement, stage="production"
    )
    session.commit()
    assert (_stage(session, version_id), _stage(session, replacement)) == ("retired", "production")


@pytest.fixture
def run(db_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, user: str = "milo"):  # type: ignore[no-untyped-def]
        return runner.invoke(
            main, list(args), env={"GATEHOUSE_USER": user, "GATEHOUSE_PASSWORD": PW}
        )

    return invoke


def test_the_promote_command_is_refused_with_the_sentence_until_signed_off(
    session: Session, people: dict[str, User], demo_files: DemoFiles, run
) -> None:  # type: ignore[no-untyped-def]
    version_id = _register(session, people["devi"], demo_files)
    open_gates(session=session, version_id=version_id,
               plan=plan_from_pack_tier(SIGN_OFF_TIER), policy_version=None, tier=None)  # fmt: skip
    session.commit()
    refused = run("model", "promote", str(version_id), "--stage", "production")
    assert refused.exit_code == 1
    assert (
        refused.stderr
        == "error: "
        + PROMOTION_BLOCKED.format(
            version=1,
            model="credit-gbm",
            stage="production",
            reasons="the business scoping gate is in progress, the development gate is not started, "
            "the validation gate is not started, the deployment gate is not started",
        )
        + "\n"
    )
    assert _stage(session, version_id) == "development"
    assert [r["new"] for r in _refusals(session)] == ["production"]
    sign_off(session, version_id, "production", password=PW)
    moved = run("model", "promote", str(version_id), "--stage", "production", "--json")
    assert moved.exit_code == 0, moved.stderr
    assert json.loads(moved.stdout) == {"version_id": version_id, "stage": "production"}
    assert _stage(session, version_id) == "production"

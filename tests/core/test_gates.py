"""Gate sign-off: every transition, each segregation rule, re-authentication, waivers, staleness
and blocked promotion, against a real database and the demo credit model."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import (
    AuthenticationFailed,
    GateBlocked,
    InputProblems,
    SegregationOfDuties,
)
from core.rules.gates import Act, GateSpec, GateState, plan_from_pack_tier
from core.rules.segregation import (
    ALREADY_APPROVED,
    MIN_PEOPLE,
    NOT_IN_RACI,
    ROLE_NOT_HELD,
    SOD_REGISTRANT_VALIDATION,
    SOD_SUBMIT_APPROVE,
    SOD_VALIDATOR_DEVELOPER,
)
from core.services.audit import verify_chain
from core.services.evidence import evaluate_version
from core.services.gate_records import WaiverRequest
from core.services.gate_status import (
    PROMOTION_BLOCKED,
    check_promotion,
    gate_status,
    refresh_staleness,
)
from core.services.gates import NOT_NOW, open_gates, sign_gate
from core.services.inventory import edit_card, register_version
from core.services.notifications import inbox
from core.services.permissions import OPERATOR
from core.services.reviews import my_reviews
from core.services.signatures import SIGNING_LOCKED, WRONG_SIGNING_PASSWORD
from core.services.users import add_user
from core.tables import AuditCheckpoint, AuditEvent, Evidence, GateAct, ModelVersion, User, utcnow

PW = "a long enough password"
PEOPLE = {
    "olivia": ["model_owner"],
    "owen": ["model_owner"],
    "devi": ["developer", "validator"],
    "victor": ["validator"],
    "vera": ["validator"],
    "wes": ["validator"],
    "rita": ["risk_manager"],
    "sam": ["sme"],
    "carla": ["compliance"],
    "milo": ["ml_engineer"],
}
# A tier as a policy pack writes it (the shipped pack's "medium" shape, trimmed).
TIER = {
    "segregation": {
        "registrant_may_not_approve_validation": True,
        "validator_differs_from_developer": True,
        "min_distinct_people_per_gate": 2,
    },
    "gates": [
        {
            "id": "business_scoping",
            "responsible": ["model_owner"],
            "accountable": "model_owner",
            "consulted": ["sme"],
            "informed": ["risk_manager"],
            "evidence": [{"kind": "card_fields", "fields": ["purpose"]}],
        },
        {
            "id": "development",
            "responsible": ["developer"],
            "accountable": "model_owner",
            "informed": ["validator"],
            "unlocks_stage": "qa",
            "evidence": [{"kind": "performance", "metrics": ["roc_auc"], "stale_after_days": 365}],
        },
        {
            "id": "validation",
            "responsible": ["validator"],
            "accountable": "validator",
            "consulted": ["compliance"],
            "approvers": 2,
            "consulted_objection_blocks": True,
            "unlocks_stage": "preproduction",
            "evidence": [
                {"kind": "fairness", "checks": ["selection_rate_ratio"], "stale_after_days": 180}
            ],
        },
        {
            "id": "deployment",
            "responsible": ["ml_engineer"],
            "accountable": "risk_manager",
            "informed": ["sme"],
            "unlocks_stage": "production",
        },
    ],
}


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    users = {
        name: add_user(
            session=session,
            actor=OPERATOR,
            username=name,
            password=PW,
            roles=roles,
            email=f"{name}@example.org",
        )
        for name, roles in PEOPLE.items()
    }
    session.commit()
    return users


@pytest.fixture
def version_id(session: Session, demo_files: DemoFiles, people: dict[str, User]) -> int:
    result = register_version(
        session=session,
        actor=people["devi"],
        name="credit-gbm",
        artifact=demo_files.model_paths["credit-gbm"],
        eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
        card={"purpose": "Decide on consumer credit applications."},
    )
    session.commit()
    evaluate_version(session=session, actor=OPERATOR, version_id=result.version_id, n_boot=50)
    session.commit()
    open_gates(
        session=session,
        version_id=result.version_id,
        plan=plan_from_pack_tier(TIER),
        policy_version=1,
        tier="medium",
    )
    session.commit()
    return result.version_id


def _sign(
    session: Session, who: User, version_id: int, gate: str, act: Act, **kw: object
) -> GateAct:
    row = sign_gate(
        session=session,
        actor=who,
        version_id=version_id,
        gate_id=gate,
        act=act,
        password=kw.pop("password", PW),  # type: ignore[arg-type]
        meaning=kw.pop("meaning", f"I {act.value} the {gate} gate"),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    session.commit()
    return row


def _state(session: Session, version_id: int, gate: str) -> str:
    return next(
        g.state
        for g in gate_status(session=session, version_id=version_id).gates
        if g.gate_id == gate
    )


def _through_development(session: Session, p: dict[str, User], v: int) -> None:
    _sign(session, p["olivia"], v, "business_scoping", Act.submit)
    _sign(session, p["owen"], v, "business_scoping", Act.approve)
    _sign(session, p["devi"], v, "development", Act.submit)
    _sign(session, p["olivia"], v, "development", Act.approve)


def test_gates_open_in_order_and_walk_through_every_state(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    states = [g.state for g in gate_status(session=session, version_id=version_id).gates]
    assert states == ["in progress", "not started", "not started", "not started"]
    with pytest.raises(GateBlocked) as err:
        _sign(session, p["devi"], version_id, "development", Act.submit)
    assert err.value.problems == [
        NOT_NOW.format(
            gate="Development",
            state="not started",
            verb="submitted",
            hint="the gate before it must be approved first.",
        )
    ]
    _sign(session, p["olivia"], version_id, "business_scoping", Act.submit, comment="scope agreed")
    assert _state(session, version_id, "business_scoping") == "submitted"
    _sign(session, p["sam"], version_id, "business_scoping", Act.opinion, opinion="concur")
    _sign(session, p["owen"], version_id, "business_scoping", Act.reject, comment="KPIs missing")
    assert _state(session, version_id, "business_scoping") == "rejected"
    _sign(session, p["olivia"], version_id, "business_scoping", Act.submit, comment="KPIs added")
    _sign(session, p["owen"], version_id, "business_scoping", Act.approve)
    view = gate_status(session=session, version_id=version_id)
    assert [g.state for g in view.gates][:2] == ["approved", "in progress"]
    approval = next(s for s in view.gates[0].signatures if s.act == "approve")
    assert approval.printed_name == p["owen"].display_name and approval.role == "model_owner"
    assert (
        approval.meaning == "I approve the business_scoping gate"
        and len(approval.manifest_sha256) == 64
    )
    # The manifest binds the artifact, data and the gate; its hash is what was stored.
    act = session.exec(
        select(GateAct).where(GateAct.manifest_sha256 == approval.manifest_sha256)
    ).one()
    manifest = json.loads(act.manifest_json)
    assert (
        manifest["model"] == "credit-gbm"
        and manifest["tier"] == "medium"
        and manifest["policy_version"] == 1
    )
    assert set(manifest["datasets"]) == {"training", "evaluation"} and manifest["signer"] == "owen"
    # The approval took a signed checkpoint, notified the informed and the next in line.
    assert session.exec(select(AuditCheckpoint).where(AuditCheckpoint.reason == "approval")).first()
    assert any("approved" in n.subject for n in inbox(session=session, user=p["rita"]))
    assert any("is open" in n.subject for n in inbox(session=session, user=p["devi"]))
    with pytest.raises(GateBlocked, match="already approved"):
        _sign(session, p["olivia"], version_id, "business_scoping", Act.approve)
    assert verify_chain(session=session).intact


def test_segregation_of_duties_and_raci_refusals_are_recorded(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    _sign(session, p["olivia"], version_id, "business_scoping", Act.submit)
    with pytest.raises(SegregationOfDuties) as err:
        _sign(session, p["olivia"], version_id, "business_scoping", Act.approve)
    assert err.value.problems == [SOD_SUBMIT_APPROVE.format(who="olivia")]
    with pytest.raises(SegregationOfDuties) as err:
        _sign(session, p["rita"], version_id, "business_scoping", Act.approve)
    assert err.value.problems == [
        NOT_IN_RACI.format(
            gate="Business scoping",
            who="rita",
            verb="approve it",
            needed="model_owner",
            held="risk_manager",
        )
    ]
    with pytest.raises(SegregationOfDuties) as err:
        _sign(session, p["owen"], version_id, "business_scoping", Act.approve, role="admin")
    assert err.value.problems == [
        ROLE_NOT_HELD.format(who="owen", role="admin", held="model_owner")
    ]
    refused = session.exec(select(AuditEvent).where(AuditEvent.action == "gate_act_refused")).all()
    assert len(refused) == 3 and "Segregation of duties" in json.loads(refused[0].details)["reason"]
    _sign(session, p["owen"], version_id, "business_scoping", Act.approve)
    _sign(session, p["devi"], version_id, "development", Act.submit)
    _sign(session, p["olivia"], version_id, "development", Act.approve)
    # Validation: the developer may not submit or approve it; two different validators approve.
    with pytest.raises(SegregationOfDuties) as err:
        _sign(session, p["devi"], version_id, "validation", Act.submit)
    assert err.value.problems == [SOD_VALIDATOR_DEVELOPER.format(who="devi")]
    _sign(session, p["victor"], version_id, "validation", Act.submit)
    with pytest.raises(SegregationOfDuties) as err:
        _sign(session, p["devi"], version_id, "validation", Act.approve)
    assert err.value.problems == [SOD_REGISTRANT_VALIDATION]


def test_approval_needs_passing_evidence_or_a_waiver_and_n_people(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    _through_development(session, p, version_id)
    _sign(session, p["victor"], version_id, "validation", Act.submit)
    with pytest.raises(GateBlocked) as err:  # the demo model fails the four-fifths rule for 18-25
        _sign(session, p["vera"], version_id, "validation", Act.approve)
    assert "fails selection_rate_ratio" in err.value.problems[0]
    with pytest.raises(InputProblems, match="must be in the future"):
        _sign(
            session,
            p["rita"],
            version_id,
            "validation",
            Act.waive,
            waiver=WaiverRequest("selection_rate_ratio", "j", "c", utcnow() - timedelta(days=1)),
        )
    _sign(
        session,
        p["rita"],
        version_id,
        "validation",
        Act.waive,
        waiver=WaiverRequest(
            "selection_rate_ratio",
            "Portfolio too young to rebalance",
            "Monthly manual review",
            utcnow() + timedelta(days=90),
        ),
    )
    _sign(session, p["vera"], version_id, "validation", Act.approve)
    assert _state(session, version_id, "validation") == "submitted"  # 1 of 2 approvers
    with pytest.raises(SegregationOfDuties) as err:
        _sign(session, p["vera"], version_id, "validation", Act.approve)
    assert err.value.problems == [ALREADY_APPROVED.format(who="vera", n=2, role="validator")]
    _sign(
        session, p["carla"], version_id, "validation", Act.opinion, opinion="object", comment="no"
    )
    with pytest.raises(GateBlocked, match="objected"):
        _sign(session, p["wes"], version_id, "validation", Act.approve)


def test_min_distinct_people_is_enforced(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    tier = json.loads(json.dumps(TIER))
    tier["segregation"]["min_distinct_people_per_gate"] = 3
    spec = plan_from_pack_tier(tier)[0]
    assert isinstance(spec, GateSpec) and spec.segregation.min_distinct_people_per_gate == 3
    from core.rules.segregation import ActorFacts, PriorAct, check_act

    facts = ActorFacts(2, "owen", frozenset({"model_owner"}), registrant_id=9, developer_id=9)
    role, refusal = check_act(facts, spec, Act.approve, [PriorAct(1, Act.submit)])
    assert role is None and refusal == MIN_PEOPLE.format(gate="Business scoping", n=3, k=2)
    role, refusal = check_act(
        facts, spec, Act.approve, [PriorAct(1, Act.submit), PriorAct(3, Act.opinion)]
    )
    assert role == "model_owner" and refusal is None


def test_wrong_password_at_signing_is_refused_recorded_and_counts_to_lockout(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    with pytest.raises(AuthenticationFailed) as err:
        _sign(session, p["olivia"], version_id, "business_scoping", Act.submit, password="wrong")
    assert err.value.problems == [WRONG_SIGNING_PASSWORD]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "signature_refused")).first()
    assert _state(session, version_id, "business_scoping") == "in progress"
    for _ in range(4):  # the lockout threshold is 5 wrong passwords
        with pytest.raises(AuthenticationFailed):
            _sign(
                session, p["olivia"], version_id, "business_scoping", Act.submit, password="wrong"
            )
    with pytest.raises(AuthenticationFailed) as err:  # locked: even the right password is refused
        _sign(session, p["olivia"], version_id, "business_scoping", Act.submit)
    assert err.value.problems == [SIGNING_LOCKED]
    assert _state(session, version_id, "business_scoping") == "in progress"


def test_new_evidence_makes_an_approval_stale_with_the_change(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    _through_development(session, p, version_id)
    assert refresh_staleness(session, version_id) == []
    # Storing the new evidence marks the approval stale in the same transaction, with no
    # further call: whichever page, command or job computed it.
    evaluate_version(
        session=session, actor=OPERATOR, version_id=version_id, n_boot=50, threshold=0.3
    )
    session.commit()
    assert _state(session, version_id, "development") == "stale"
    assert refresh_staleness(session, version_id) == []  # nothing approved is left to mark
    view = next(
        g
        for g in gate_status(session=session, version_id=version_id).gates
        if g.gate_id == "development"
    )
    assert view.state == "stale"
    performance = session.exec(
        select(Evidence.id)
        .where(Evidence.version_id == version_id, Evidence.kind == "performance")
        .order_by(Evidence.id)
    ).all()
    assert view.changes[0] == f"performance evidence #{performance[0]} → #{performance[1]}"
    assert view.stale_reason.startswith(view.changes[0])
    assert any(n.kind == "gate_stale" for n in inbox(session=session, user=p["devi"]))
    # Re-signing: a Responsible person resubmits, the Accountable approves again.
    _sign(session, p["devi"], version_id, "development", Act.submit)
    _sign(session, p["olivia"], version_id, "development", Act.approve)
    assert _state(session, version_id, "development") == "approved"


def test_editing_a_signed_card_field_makes_the_approval_stale(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    _through_development(session, p, version_id)
    model_id = session.get(ModelVersion, version_id).model_id  # type: ignore[union-attr]
    # A field the scoping gate did not sign leaves its approval standing.
    edit_card(
        session=session, actor=p["olivia"], model_id=model_id, changes={"restrictions": "EU only."}
    )
    session.commit()
    assert _state(session, version_id, "business_scoping") == "approved"
    edit_card(
        session=session,
        actor=p["olivia"],
        model_id=model_id,
        changes={"purpose": "Decide on consumer and small-business credit."},
    )
    session.commit()
    assert _state(session, version_id, "business_scoping") == "stale"
    assert _state(session, version_id, "development") == "approved"  # it signed no card field
    view = next(
        g
        for g in gate_status(session=session, version_id=version_id).gates
        if g.gate_id == "business_scoping"
    )
    assert "card field purpose edited" in view.changes


def test_reproducing_the_signed_evidence_leaves_the_approval_standing(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    _through_development(session, people, version_id)
    again = evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=50)
    session.commit()
    assert again.performance.reproduced  # same inputs and seed: the same evidence row
    assert _state(session, version_id, "development") == "approved"


def test_promotion_is_blocked_until_the_gates_tied_to_it_are_approved(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    with pytest.raises(GateBlocked) as err:
        check_promotion(session, version_id, "qa")
    assert err.value.problems == [
        PROMOTION_BLOCKED.format(
            version=1,
            model="credit-gbm",
            stage="qa",
            reasons="the business scoping gate is in progress, the development gate is not started",
        )
    ]
    _through_development(session, p, version_id)
    check_promotion(session, version_id, "qa")
    with pytest.raises(GateBlocked, match="validation gate is in progress"):
        check_promotion(session, version_id, "production")
    check_promotion(session, version_id, "retired")


def test_my_reviews_lists_what_waits_for_each_person(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    assert [(i.gate_id, i.todo) for i in my_reviews(session=session, user=p["olivia"])] == [
        ("business_scoping", "submit")
    ]
    assert my_reviews(session=session, user=p["rita"]) == []
    _sign(session, p["olivia"], version_id, "business_scoping", Act.submit)
    assert [(i.gate_id, i.todo) for i in my_reviews(session=session, user=p["owen"])] == [
        ("business_scoping", "approve or reject")
    ]
    assert (
        my_reviews(session=session, user=p["olivia"]) == []
    )  # she submitted; approval is another's
    assert [i.todo for i in my_reviews(session=session, user=p["sam"])] == ["give your opinion"]
    assert GateState.submitted.value == "submitted"

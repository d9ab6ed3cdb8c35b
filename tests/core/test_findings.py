"""The findings register against a real database: raising, every transition and its history,
the signed acts a risk manager takes, the gate block, and who may act at all."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import AuthenticationFailed, GateBlocked, InputProblems, NotFound, PermissionDenied
from core.rules.gates import Act, plan_from_pack_tier
from core.services.audit import verify_chain
from core.services.finding_reminders import remind_overdue_findings
from core.services.finding_views import finding_history, get_finding, list_findings, owner_names
from core.services.findings import (
    ACCEPT_NEEDS_RISK_MANAGER,
    BAD_MOVE,
    DEFAULT_DUE_DAYS,
    NOTHING_CHANGED,
    OPERATOR_CANNOT_SIGN,
    SIGNER_NEEDED,
    STALE,
    FindingUpdate,
    raise_finding,
    update_finding,
)
from core.services.findings_gate import BLOCKS, blocking
from core.services.gates import open_gates, sign_gate
from core.services.inventory import register_version
from core.services.model_roles import NO_ROLE_ON_MODEL, people_on_model, role_on_model_problem
from core.services.notifications import inbox
from core.services.permissions import OPERATOR
from core.services.signatures import NEEDS_MEANING, WRONG_SIGNING_PASSWORD
from core.services.users import add_user, deactivate_user
from core.tables import AuditEvent, FindingChange, ModelEntry, User, utcnow

PW = "a long enough password"
PEOPLE = {
    "olivia": ["model_owner"],
    "devi": ["developer"],
    "victor": ["validator"],
    "rita": ["risk_manager"],
    "sam": ["sme"],
    "carla": ["compliance"],
    "milo": ["ml_engineer"],
    "audrey": ["auditor"],
}
TIER = {
    "segregation": {"min_distinct_people_per_gate": 2},
    "gates": [
        {
            "id": "business_scoping",
            "responsible": ["sme"],
            "accountable": "model_owner",
            "consulted": ["compliance"],
            "informed": ["risk_manager"],
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
            display_name=name.capitalize(),
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
        card={
            "purpose": "Rank loan applications.",
            "owner": "olivia",
            "developer": "devi",
            "validator": "victor",
        },
    )
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


def _raise(session: Session, who: User, version_id: int, **kw: object) -> int:
    fields: dict[str, object] = {
        "type": "business",
        "severity": "low",
        "description": "Approvals in the north region run 20% below what branches see.",
    } | kw
    view = raise_finding(session=session, actor=who, version_id=version_id, **fields)  # type: ignore[arg-type]
    session.commit()
    return view.id


def _update(session: Session, who: User, finding_id: int, **kw: object) -> None:
    password = kw.pop("password", None)
    meaning = kw.pop("meaning", "")
    update_finding(
        session=session,
        actor=who,
        finding_id=finding_id,
        change=FindingUpdate(**kw),  # type: ignore[arg-type]
        password=password,  # type: ignore[arg-type]
        meaning=meaning,  # type: ignore[arg-type]
    )
    session.commit()


def test_a_raised_finding_has_defaults_history_audit_event_and_notifies_its_owner(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    fid = _raise(
        session,
        p["sam"],
        version_id,
        severity="high",
        evidence_links=["record 1042", "explanation of record 1042"],
    )
    view = get_finding(session=session, actor=p["audrey"], finding_id=fid)
    assert (view.status, view.severity, view.type, view.model) == (
        "open",
        "high",
        "business",
        "credit-gbm",
    )
    assert view.owner == "olivia"  # the model's owner, when none is named
    assert view.due == (utcnow() + timedelta(days=DEFAULT_DUE_DAYS["high"])).date()
    assert view.evidence_links == ("record 1042", "explanation of record 1042")
    assert view.raised_by == "Sam" and view.blocks_gates and not view.overdue
    history = finding_history(session=session, actor=p["audrey"], finding_id=fid)
    assert [(h.revision, h.action, h.status_after, h.actor) for h in history] == [
        (1, "raised", "open", "Sam")
    ]
    assert history[0].changes["severity"] == [None, "high"]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "finding_raised")).one()
    assert event.subject_id == str(fid) and json.loads(event.details)["severity"] == "high"
    # The owner hears of it, and a high finding tells the risk managers too.
    assert [i.kind for i in inbox(session=session, user=p["olivia"])] == ["finding_raised"]
    assert [i.kind for i in inbox(session=session, user=p["rita"])] == ["finding_raised"]
    model = session.exec(select(ModelEntry)).one()
    assert model.open_findings == 1


def test_a_critical_finding_blocks_approval_until_a_risk_manager_resolves_it_signed(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    description = "Declines of 18-25 applicants do not match the branches' experience"
    fid = _raise(session, p["sam"], version_id, severity="critical", description=description)
    assert blocking(session, version_id) == [
        BLOCKS.format(
            id=fid,
            severity="critical",
            type="business",
            status="open",
            description=description + ".",
        )
    ]
    sign_gate(
        session=session,
        actor=p["sam"],
        version_id=version_id,
        gate_id="business_scoping",
        act=Act.submit,
        password=PW,
        meaning="I submit",
    )
    session.commit()
    with pytest.raises(GateBlocked) as refused:
        sign_gate(
            session=session,
            actor=p["olivia"],
            version_id=version_id,
            gate_id="business_scoping",
            act=Act.approve,
            password=PW,
            meaning="I approve",
        )
    assert blocking(session, version_id)[0] in refused.value.problems
    # The SME who raised it may put it in remediation, but not close it.
    _update(session, p["sam"], fid, status="in_remediation", remediation_plan="Retrain on 2025.")
    assert blocking(session, version_id) != []  # in remediation still blocks
    with pytest.raises(PermissionDenied) as not_signer:
        _update(session, p["sam"], fid, status="resolved")
    assert not_signer.value.problems == [
        SIGNER_NEEDED.format(change="Closing", id=fid, severity="critical", who="sam")
    ]
    with pytest.raises(PermissionDenied) as operator:
        _update(session, OPERATOR, fid, status="resolved")  # type: ignore[arg-type]
    assert operator.value.problems == [
        OPERATOR_CANNOT_SIGN.format(change="Closing", id=fid, severity="critical")
    ]
    # A risk manager signs: a wrong password is refused, recorded and counted towards lockout.
    with pytest.raises(AuthenticationFailed) as wrong:
        _update(session, p["rita"], fid, status="resolved", password="wrong", meaning="I resolve")
    assert wrong.value.problems == [WRONG_SIGNING_PASSWORD]
    session.refresh(p["rita"])
    assert p["rita"].failed_logins == 1
    refusal = session.exec(select(AuditEvent).where(AuditEvent.action == "signature_refused")).one()
    assert json.loads(refusal.details) == {"act": "finding", "reason": "wrong password"}
    with pytest.raises(InputProblems) as no_meaning:
        _update(session, p["rita"], fid, status="resolved", password=PW, meaning=" ")
    assert no_meaning.value.problems[0].startswith(NEEDS_MEANING.split("{")[0])
    assert get_finding(session=session, actor=p["rita"], finding_id=fid).status == "in_remediation"
    _update(
        session,
        p["rita"],
        fid,
        status="resolved",
        password=PW,
        meaning="I confirm the finding is resolved",
        comment="Retrained; the 18-25 approval rate now matches the branches.",
    )
    view = get_finding(session=session, actor=p["rita"], finding_id=fid)
    assert view.status == "resolved" and view.closed_at is not None and not view.blocks_gates
    signed = session.exec(select(FindingChange).where(FindingChange.revision == 3)).one()
    assert signed.signed and signed.role == "risk_manager" and signed.actor_name == "Rita"
    assert signed.manifest_sha256 == hashlib.sha256(signed.manifest_json.encode()).hexdigest()
    manifest = json.loads(signed.manifest_json)
    assert manifest["meaning"] == "I confirm the finding is resolved"
    assert manifest["changes"] == {"status": ["in_remediation", "resolved"]}
    assert blocking(session, version_id) == []
    approved = sign_gate(
        session=session,
        actor=p["olivia"],
        version_id=version_id,
        gate_id="business_scoping",
        act=Act.approve,
        password=PW,
        meaning="I approve",
    )
    session.commit()
    assert approved.state_after == "approved"
    assert verify_chain(session=session).intact


def test_every_transition_is_kept_in_the_history(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    fid = _raise(session, p["victor"], version_id, type="validation", severity="medium")
    steps = [
        (p["devi"], {"status": "in_remediation", "remediation_plan": "Add a leakage check."}),
        (p["devi"], {"status": "open", "comment": "The fix did not hold."}),
        (p["olivia"], {"status": "resolved"}),
        (p["victor"], {"status": "open", "comment": "Seen again in the new batch."}),
        (p["rita"], {"status": "risk_accepted", "comment": "Compensated by manual review."}),
        (p["carla"], {"status": "open"}),
        (p["carla"], {"severity": "low", "owner_id": p["devi"].id, "due": date(2031, 1, 31)}),
        (p["sam"], {"comment": "Branches confirm the pattern."}),
    ]
    for who, change in steps:
        _update(session, who, fid, **change)
    history = finding_history(session=session, actor=p["audrey"], finding_id=fid)
    assert [h.revision for h in history] == list(range(1, len(steps) + 2))
    assert [h.status_after for h in history] == [
        "open",
        "in_remediation",
        "open",
        "resolved",
        "open",
        "risk_accepted",
        "open",
        "open",
        "open",
    ]
    assert [h.action for h in history][-2:] == ["changed", "commented"]
    assert history[1].changes == {
        "status": ["open", "in_remediation"],
        "remediation_plan": ["", "Add a leakage check."],
    }
    assert history[7].changes == {
        "severity": ["medium", "low"],
        "owner_id": [p["olivia"].id, p["devi"].id],
        "due": [history[0].changes["due"][1], "2031-01-31"],
    }
    assert history[8].comment == "Branches confirm the pattern."
    assert not any(h.signed for h in history)  # a medium finding closes unsigned
    view = get_finding(session=session, actor=p["sam"], finding_id=fid)
    assert (view.owner, view.due, view.severity, view.revision) == (
        "devi",
        date(2031, 1, 31),
        "low",
        9,
    )
    events = session.exec(select(AuditEvent.action).where(AuditEvent.subject_type == "finding"))
    assert list(events) == ["finding_raised"] + ["finding_updated"] * len(steps)


def test_moves_the_workflow_does_not_have_and_empty_or_stale_changes_are_refused(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    fid = _raise(session, p["sam"], version_id)
    _update(session, p["olivia"], fid, status="resolved")
    with pytest.raises(InputProblems) as bad:
        _update(session, p["olivia"], fid, status="in_remediation")
    assert bad.value.problems == [
        BAD_MOVE.format(id=fid, status="resolved", new="in remediation", allowed="open")
    ]
    with pytest.raises(InputProblems) as nothing:
        _update(session, p["olivia"], fid, status="resolved")
    assert nothing.value.problems == [NOTHING_CHANGED.format(id=fid)]
    with pytest.raises(InputProblems) as stale:
        _update(session, p["olivia"], fid, status="open", expected_revision=1)
    assert stale.value.problems == [STALE.format(id=fid, now=2, seen=1)]
    with pytest.raises(InputProblems) as unknown:
        _update(session, p["olivia"], fid, status="closed", severity="huge")
    assert len(unknown.value.problems) == 2
    with pytest.raises(NotFound):
        _update(session, p["olivia"], 999, status="open")


def test_raising_reports_every_problem_at_once(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    with pytest.raises(InputProblems) as bad:
        raise_finding(
            session=session,
            actor=people["sam"],
            version_id=version_id,
            type="gossip",
            severity="enormous",
            description="  ",
            evidence_links=["batch 7", ""],
            owner_id=9999,
        )
    assert len(bad.value.problems) == 5
    with pytest.raises(NotFound):
        raise_finding(
            session=session,
            actor=people["sam"],
            version_id=9999,
            type="business",
            severity="low",
            description="x",
        )


def test_lowering_a_critical_finding_is_signed_and_accepting_risk_needs_a_risk_manager(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    fid = _raise(session, p["victor"], version_id, type="validation", severity="critical")
    with pytest.raises(PermissionDenied) as lower:
        _update(session, p["victor"], fid, severity="medium")
    assert lower.value.problems == [
        SIGNER_NEEDED.format(
            change="Lowering the severity of", id=fid, severity="critical", who="victor"
        )
    ]
    _update(session, p["victor"], fid, severity="high")  # still blocking: no signature needed
    _update(session, p["rita"], fid, severity="medium", password=PW, meaning="I lower it")
    low = _raise(session, p["sam"], version_id)
    with pytest.raises(PermissionDenied) as accept:
        _update(session, p["sam"], low, status="risk_accepted")
    assert accept.value.problems == [ACCEPT_NEEDS_RISK_MANAGER.format(id=low, who="sam")]
    history = finding_history(session=session, actor=p["sam"], finding_id=fid)
    assert [h.signed for h in history] == [False, False, True]


def test_people_without_a_role_on_the_model_are_refused(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    # ml_engineer is not in this model's RACI and milo is not named on the model.
    roles = "compliance, model_owner, risk_manager, sme"
    for who, role in (("milo", "ml_engineer"), ("audrey", "auditor")):
        with pytest.raises(PermissionDenied) as refused:
            _raise(session, p[who], version_id)
        assert refused.value.problems == [
            NO_ROLE_ON_MODEL.format(
                who=who, action="raise a finding", model="credit-gbm", roles=roles
            )
        ]
        del role
    fid = _raise(session, p["devi"], version_id)  # named as the model's developer
    with pytest.raises(PermissionDenied):
        _update(session, p["milo"], fid, status="in_remediation")
    deactivate_user(session=session, actor=OPERATOR, username="sam")
    session.commit()
    with pytest.raises(PermissionDenied):
        _raise(session, p["sam"], version_id)
    # Reading the register is open to every role, the auditor included.
    assert [f.id for f in list_findings(session=session, actor=p["audrey"])] == [fid]


def test_who_may_own_a_finding_is_everyone_with_a_role_on_the_model(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    model_id = session.exec(select(ModelEntry.id)).one()
    owners = people_on_model(session=session, actor=p["sam"], model_id=model_id)
    # Named on the card, or holding a role the RACI names, or a risk manager; not the ML
    # engineer (not in this RACI) nor the auditor (who reads and changes nothing).
    assert [o.username for o in owners] == ["carla", "devi", "olivia", "rita", "sam", "victor"]
    assert owners[2].label == "Olivia (olivia)" and owners[2].user_id == p["olivia"].id
    sentence = role_on_model_problem(
        session=session, actor=p["audrey"], model_id=model_id, action="raise a finding"
    )
    assert sentence is not None and sentence.startswith("audrey may not raise a finding")
    assert (
        role_on_model_problem(
            session=session, actor=p["sam"], model_id=model_id, action="raise a finding"
        )
        is None
    )
    with pytest.raises(PermissionDenied):
        people_on_model(session=session, actor=p["milo"], model_id=model_id)
    # The history keeps owners by id; readers get their usernames.
    fid = _raise(session, p["sam"], version_id)
    _update(session, p["sam"], fid, owner_id=p["carla"].id)
    assert owner_names(session=session, actor=p["audrey"], finding_id=fid) == {
        p["olivia"].id: "olivia",
        p["carla"].id: "carla",
    }
    deactivate_user(session=session, actor=OPERATOR, username="carla")
    session.commit()
    names = [
        o.username for o in people_on_model(session=session, actor=p["rita"], model_id=model_id)
    ]
    assert "carla" not in names


def test_listing_filters_sorts_and_counts_open_findings(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    low = _raise(session, p["sam"], version_id, severity="low")
    crit = _raise(session, p["victor"], version_id, type="validation", severity="critical")
    late = _raise(session, p["sam"], version_id, severity="medium", due=date(2020, 1, 1))
    _update(session, p["olivia"], low, status="resolved")
    every = list_findings(session=session, actor=p["audrey"])
    assert [f.id for f in every] == [crit, late, low]  # open first, most severe first
    assert [f.id for f in list_findings(session=session, actor=p["sam"], open_only=True)] == [
        crit,
        late,
    ]
    assert [f.id for f in list_findings(session=session, actor=p["sam"], overdue_only=True)] == [
        late
    ]
    assert [f.id for f in list_findings(session=session, actor=p["sam"], status="resolved")] == [
        low
    ]
    assert [f.id for f in list_findings(session=session, actor=p["sam"], type="validation")] == [
        crit
    ]
    assert get_finding(session=session, actor=p["sam"], finding_id=late).overdue
    model = session.exec(select(ModelEntry)).one()
    session.refresh(model)
    assert model.open_findings == 2
    with pytest.raises(InputProblems):
        list_findings(session=session, actor=p["sam"], status="closed")


def test_overdue_findings_remind_their_owner_once_a_day(
    session: Session, people: dict[str, User], version_id: int
) -> None:
    p = people
    late = _raise(
        session, p["sam"], version_id, owner_id=p["devi"].id, due=date.today() - timedelta(days=3)
    )
    done = _raise(session, p["sam"], version_id, due=date.today() - timedelta(days=3))
    _update(session, p["olivia"], done, status="resolved")
    _raise(session, p["sam"], version_id, due=date.today() + timedelta(days=3))
    assert remind_overdue_findings(session=session) == 1
    session.commit()
    assert remind_overdue_findings(session=session) == 0  # already reminded today
    reminders = [i for i in inbox(session=session, user=p["devi"]) if i.kind == "finding_overdue"]
    assert [(r.link, r.subject) for r in reminders] == [
        (f"findings?finding={late}", f"Overdue: low finding {late} on credit-gbm")
    ]

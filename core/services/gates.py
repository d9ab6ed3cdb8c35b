"""Gate sign-off: opening a version's gates from its policy, and every act on them.

Each act is one transaction with its audit event: the person re-authenticates, the workflow and
segregation-of-duties rules are checked here in core (whatever page or command calls), the
signature's manifest is stored with its hash, the gate moves, the next gate opens, the people
concerned are notified, and an approval takes a signed audit checkpoint. A refused act is
recorded in the audit trail (and committed) before the refusal is raised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta

from sqlmodel import Session, col, select

from core.errors import GateBlocked, InputProblems, NotFound, PermissionDenied, SegregationOfDuties
from core.rules.gate_evidence import judge_requirements
from core.rules.gates import GATE_IDS, Act, GateSpec, GateState, Opinion, next_state
from core.rules.segregation import ActorFacts, PriorAct, check_act
from core.services import findings_gate
from core.services.audit import append_event
from core.services.gate_facts import VersionFacts, version_facts
from core.services.gate_records import REVIEW_DAYS, WaiverRequest, gate_spec, record_act
from core.services.gate_rollup import refresh_gate_status
from core.services.permissions import WAIVER_ROLES, roles_of
from core.services.signatures import (
    confirm_signer,
    require_meaning,
)
from core.tables import Gate, GateAct, User, Waiver, utcnow

__all__ = [
    "NOT_NOW",
    "NO_SUCH_GATE",
    "blocking_findings",
    "default_meaning",
    "gate_spec",
    "gates_of",
    "open_gates",
    "sign_gate",
    "waiver_meaning",
    "waivers_in_force",
]

NO_SUCH_GATE = "Version {version} of {model} has no {gate} gate; its gates are {gates}."
NOT_NOW = "The {gate} gate is {state}, so it cannot be {verb} now; {hint}"
OBJECTION = (
    "A Consulted person objected ({who}: {comment!r}), and the policy makes an objection block "
    "approval at this gate; resolve it and resubmit."
)
NO_GATES = (
    "Version {version} of {model} has no gates yet: assess the model's risk so its policy "
    "opens them (gatehouse risk assess)."
)
WAIVER_PAST = "A waiver's expiry date must be in the future; {date} has passed."
WAIVER_CHECK = "A waiver names the failed check it lets pass; give the check's name (e.g. selection_rate_ratio)."
WAIVE_ROLE = "{who} may not waive a check: a waiver is signed by a risk_manager."
WAIVER_JUSTIFICATION = (
    "A waiver needs a written justification of why the failed check may pass; write one."
)
WAIVER_CONTROLS = (
    "A waiver needs the compensating controls that stand in for the failed check; name them."
)
BAD_OPINION = "The opinion {opinion!r} is unknown; use concur, concern or object."
_HINTS = {
    GateState.not_started: "the gate before it must be approved first.",
    GateState.approved: "it is already approved.",
    GateState.submitted: "it waits for its approvers.",
    GateState.in_progress: "a Responsible person must submit it first.",
    GateState.rejected: "a Responsible person must address the reasons and resubmit.",
    GateState.stale: "what it signed has changed; a Responsible person must resubmit it.",
}
_VERB = {
    Act.submit: "submitted",
    Act.opinion: "given an opinion",
    Act.approve: "approved",
    Act.reject: "rejected",
    Act.waive: "waived",
}
_MEANING = {
    Act.submit: "I submit the {gate} gate of version {version} of {model} for approval",
    Act.opinion: "I give my opinion on the {gate} gate of version {version} of {model}",
    Act.approve: "I approve version {version} of {model} at the {gate} gate",
    Act.reject: "I reject version {version} of {model} at the {gate} gate",
    Act.waive: "I waive the failed check on the {gate} gate of version {version} of {model}",
}


def gates_of(session: Session, version_id: int) -> list[Gate]:
    """The version's gates, in order."""
    return list(
        session.exec(
            select(Gate).where(Gate.version_id == version_id).order_by(col(Gate.position))
        ).all()
    )


def open_gates(
    *,
    session: Session,
    version_id: int,
    plan: Sequence[GateSpec],
    policy_version: int | None,
    tier: str | None,
) -> list[Gate]:
    """Create the version's gates from its policy plan; the first opens. Idempotent."""
    existing = gates_of(session, version_id)
    if existing:
        return existing
    facts = version_facts(session, version_id)
    now = utcnow()
    order = {g: i for i, g in enumerate(GATE_IDS)}
    gates = []
    for position, spec in enumerate(sorted(plan, key=lambda s: order.get(s.gate_id, 99))):
        gate = Gate(
            version_id=version_id,
            model_id=facts.model.id or 0,
            gate_id=spec.gate_id,
            position=position,
            state=GateState.in_progress if position == 0 else GateState.not_started,
            spec_json=json.dumps(spec.to_dict(), sort_keys=True),
            policy_version=policy_version,
            tier=tier,
            created_at=now,
            updated_at=now,
            due_at=now + timedelta(days=REVIEW_DAYS) if position == 0 else None,
        )
        session.add(gate)
        gates.append(gate)
    session.flush()
    refresh_gate_status(session, version_id)
    append_event(
        session=session,
        actor=None,
        action="gates_opened",
        subject_type="model_version",
        subject_id=str(version_id),
        details={
            "model": facts.model.name,
            "version": facts.version.version,
            "gates": [g.gate_id for g in gates],
            "policy_version": policy_version,
            "tier": tier,
        },
    )
    return gates


def default_meaning(act: Act, spec: GateSpec, facts: VersionFacts) -> str:
    """The meaning a signer is shown and confirms, in plain words."""
    text = _MEANING.get(act, "{gate}").format(
        gate=spec.title.lower(), version=facts.version.version, model=facts.model.name
    )
    if act is Act.approve and spec.unlocks_stage:
        text += f" for {spec.unlocks_stage}"
    return text + "."


def blocking_findings(session: Session, version_id: int) -> list[str]:
    """Sentences for open findings that block approval (high or critical severity).

    Gates call this on every approval; the findings register supplies what it returns.
    """
    return findings_gate.blocking(session, version_id)


def waivers_in_force(session: Session, version_id: int, gate_id: str) -> list[Waiver]:
    """Waivers for this gate that have not expired."""
    return list(
        session.exec(
            select(Waiver).where(
                Waiver.version_id == version_id,
                Waiver.gate_id == gate_id,
                col(Waiver.expires_at) > utcnow(),
            )
        ).all()
    )


def _locked_gate(session: Session, facts: VersionFacts, gate_id: str) -> Gate:
    query = select(Gate).where(Gate.version_id == facts.version.id, Gate.gate_id == gate_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    gate = session.exec(query).first()
    if gate is None:
        gates = [g.gate_id for g in gates_of(session, facts.version.id or 0)]
        if not gates:
            raise NotFound(NO_GATES.format(version=facts.version.version, model=facts.model.name))
        raise NotFound(
            NO_SUCH_GATE.format(
                version=facts.version.version,
                model=facts.model.name,
                gate=gate_id,
                gates=", ".join(gates),
            )
        )
    session.refresh(gate)
    return gate


def _round_acts(session: Session, gate: Gate) -> list[GateAct]:
    return list(
        session.exec(
            select(GateAct)
            .where(GateAct.gate_pk == gate.id, GateAct.round == gate.round)
            .order_by(col(GateAct.id))
        ).all()
    )


def _refuse(session: Session, actor: User, gate_ref: str, act: Act, error: Exception) -> None:
    """Record a refused act in the audit trail and commit it, then the caller raises."""
    session.rollback()
    append_event(
        session=session,
        actor=actor,
        action="gate_act_refused",
        subject_type="gate",
        subject_id=gate_ref[:64],
        details={"act": act.value, "reason": " ".join(getattr(error, "problems", [str(error)]))},
    )
    session.commit()


def sign_gate(
    *,
    session: Session,
    actor: User,
    version_id: int,
    gate_id: str,
    act: Act,
    password: str | None,
    meaning: str,
    comment: str = "",
    opinion: str | None = None,
    role: str | None = None,
    waiver: WaiverRequest | None = None,
) -> GateAct:
    """Take one signing act on a gate, or refuse it with the rule in one sentence."""
    gate_ref = f"{version_id}:{gate_id}"
    confirm_signer(session=session, user=actor, password=password, act=act.value)
    facts = version_facts(session, version_id)
    try:
        return _sign(session, actor, facts, gate_id, act, meaning, comment, opinion, role, waiver)
    except (PermissionDenied, GateBlocked, InputProblems, NotFound) as error:
        _refuse(session, actor, gate_ref, act, error)
        raise


def _sign(
    session: Session,
    actor: User,
    facts: VersionFacts,
    gate_id: str,
    act: Act,
    meaning: str,
    comment: str,
    opinion: str | None,
    role: str | None,
    waiver: WaiverRequest | None,
) -> GateAct:
    gate = _locked_gate(session, facts, gate_id)
    spec = gate_spec(gate)
    state = GateState(gate.state)
    after = next_state(state, act)
    if after is None:
        raise GateBlocked(
            NOT_NOW.format(gate=spec.title, state=state.value, verb=_VERB[act], hint=_HINTS[state])
        )
    roles = frozenset(roles_of(session, actor))
    if act is Act.waive:
        chosen: str | None = next((r.value for r in WAIVER_ROLES if r.value in roles), None)
        if chosen is None:
            raise PermissionDenied(WAIVE_ROLE.format(who=actor.username))
        problems = []
        if waiver is None or not waiver.check.strip():
            problems.append(WAIVER_CHECK)
        if waiver is not None and not waiver.justification.strip():
            problems.append(WAIVER_JUSTIFICATION)
        if waiver is not None and not waiver.controls.strip():
            problems.append(WAIVER_CONTROLS)
        if waiver is not None and waiver.expires_at <= utcnow():
            problems.append(WAIVER_PAST.format(date=f"{waiver.expires_at:%Y-%m-%d %H:%M}"))
        if problems:
            raise InputProblems(problems)
    else:
        prior = [PriorAct(a.actor_id or 0, Act(a.act)) for a in _round_acts(session, gate)]
        facts_of_actor = ActorFacts(
            actor_id=actor.id or 0,
            username=actor.username,
            roles=roles,
            registrant_id=facts.version.registered_by,
            developer_id=facts.model.developer_id,
        )
        chosen, refusal = check_act(facts_of_actor, spec, act, prior, role=role)
        if refusal is not None:
            raise SegregationOfDuties(refusal)
    meaning = require_meaning(meaning, default_meaning(act, spec, facts))
    if act is Act.opinion and opinion not in {o.value for o in Opinion}:
        raise InputProblems([BAD_OPINION.format(opinion=opinion)])
    if act is Act.approve:
        _check_can_close(session, facts, gate, spec)
        approvals = 1 + sum(a.act == Act.approve for a in _round_acts(session, gate))
        if approvals < spec.approvers:
            after = GateState.submitted
    return record_act(
        session,
        actor,
        facts,
        gate,
        spec,
        act,
        after,
        chosen or "",
        meaning,
        comment,
        opinion,
        waiver,
    )


def _check_can_close(session: Session, facts: VersionFacts, gate: Gate, spec: GateSpec) -> None:
    if spec.objection_blocks:
        for a in _round_acts(session, gate):
            if a.act == Act.opinion and a.opinion == Opinion.object:
                who = session.get(User, a.actor_id) if a.actor_id else None
                raise GateBlocked(
                    OBJECTION.format(who=who.username if who else "?", comment=a.comment)
                )
    waived = [w.check_name for w in waivers_in_force(session, facts.version.id or 0, gate.gate_id)]
    standing = judge_requirements(
        spec.evidence,
        evidence=facts.evidence,
        card=facts.card,
        datasets_without_provenance=facts.datasets_without_provenance,
        waivers=waived,
        now=utcnow(),
    )
    problems = [r.sentence for r in standing if r.blocks]
    problems += blocking_findings(session, facts.version.id or 0)
    if problems:
        raise GateBlocked(problems)


def _gate_of(session: Session, version_id: int, gate_id: str) -> tuple[GateSpec, VersionFacts]:
    facts = version_facts(session, version_id)
    gate = next((g for g in gates_of(session, version_id) if g.gate_id == gate_id), None)
    if gate is None:
        raise NotFound(
            NO_SUCH_GATE.format(
                version=facts.version.version, model=facts.model.name, gate=gate_id, gates="none"
            )
        )
    return gate_spec(gate), facts


def suggested_meaning(session: Session, version_id: int, gate_id: str, act: Act) -> str:
    """The meaning shown to a signer before they confirm it."""
    spec, facts = _gate_of(session, version_id, gate_id)
    return default_meaning(act, spec, facts)


def waiver_meaning(session: Session, version_id: int, gate_id: str, check: str, until: date) -> str:
    """What a risk manager confirms when waiving: which check, gate and version, until when.
    The Gate page and `gatehouse gate waive` both offer it."""
    spec, facts = _gate_of(session, version_id, gate_id)
    return (
        f"I waive the failed check {check} on the {spec.title.lower()} gate of version "
        f"{facts.version.version} of {facts.model.name} until {until:%Y-%m-%d}, under the "
        "compensating controls stated."
    )

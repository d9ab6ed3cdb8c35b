"""Reading gates: each gate's state, RACI, requirements, signatures and what changed since
sign-off; marking approvals stale when what they signed changes; and the promotion check
that every path (page, CLI, API) goes through."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import GateBlocked
from core.rules.gate_evidence import judge_requirements
from core.rules.gates import Act, GateSpec, GateState, rollup_status
from core.services.audit import append_event
from core.services.gate_changes import changes_since_signoff
from core.services.gate_facts import VersionFacts, version_facts
from core.services.gate_rollup import refresh_gate_status
from core.services.gates import gate_spec, gates_of
from core.services.notifications import notify_roles
from core.tables import Gate, GateAct, ModelEntry, ModelVersion, User, Waiver, utcnow

__all__ = [
    "PROMOTION_BLOCKED",
    "GateSummary",
    "GateView",
    "Signature",
    "VersionGates",
    "check_promotion",
    "gate_status",
    "gate_summaries",
    "mark_gate_stale",
    "refresh_staleness",
]

STAGE_ORDER = ("development", "qa", "preproduction", "production")
PROMOTION_BLOCKED = (
    "Version {version} of {model} may not move to {stage}: {reasons}; sign those gates off first."
)


@dataclass(frozen=True)
class Signature:
    """One act on a gate, as it is shown wherever a signature appears."""

    act: str
    printed_name: str
    username: str
    role: str
    meaning: str
    comment: str
    opinion: str | None
    signed_at: datetime
    manifest_sha256: str
    round: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "signed_at": self.signed_at.isoformat()}


@dataclass(frozen=True)
class GateView:
    """A gate as the gate page, `gatehouse gate status` and the audit PDF show it."""

    gate_id: str
    title: str
    state: str
    round: int
    spec: GateSpec
    requirements: list[dict[str, Any]]
    signatures: list[Signature]
    approvals: int
    waivers: list[dict[str, Any]]
    due_at: datetime | None
    stale_reason: str
    changes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.gate_id,
            "title": self.title,
            "state": self.state,
            "round": self.round,
            "responsible": list(self.spec.responsible),
            "accountable": self.spec.accountable,
            "consulted": list(self.spec.consulted),
            "informed": list(self.spec.informed),
            "approvers_needed": self.spec.approvers,
            "approvals": self.approvals,
            "unlocks_stage": self.spec.unlocks_stage,
            "segregation": self.spec.segregation.to_dict(),
            "required_evidence": self.requirements,
            "signatures": [s.to_dict() for s in self.signatures],
            "waivers": self.waivers,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "stale_reason": self.stale_reason,
            "changes_since_signoff": self.changes,
        }


@dataclass(frozen=True)
class VersionGates:
    """Every gate of a version, in order."""

    version_id: int
    model: str
    version: int
    stage: str
    gates: list[GateView]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "gates": [g.to_dict() for g in self.gates],
        }


def _version_acts(session: Session, version_id: int) -> dict[int, list[tuple[GateAct, str | None]]]:
    """Every act on the version's gates with its signer's username, by gate, oldest first (one
    query for all the gates, which a page reads on every rerun)."""
    rows = session.exec(
        select(GateAct, User.username)
        .join(User, col(User.id) == col(GateAct.actor_id), isouter=True)
        .where(GateAct.version_id == version_id)
        .order_by(col(GateAct.id))
    ).all()
    out: dict[int, list[tuple[GateAct, str | None]]] = defaultdict(list)
    for act, username in rows:
        out[act.gate_pk].append((act, username))
    return out


def _signature(a: GateAct, username: str | None) -> Signature:
    return Signature(
        act=a.act,
        printed_name=a.printed_name or "system",
        username=username or "system",
        role=a.role,
        meaning=a.meaning,
        comment=a.comment,
        opinion=a.opinion,
        signed_at=a.signed_at,
        manifest_sha256=a.manifest_sha256,
        round=a.round,
    )


def _version_waivers(session: Session, version_id: int) -> dict[str, list[Waiver]]:
    """The version's waivers in force, by gate (one query)."""
    rows = session.exec(
        select(Waiver).where(Waiver.version_id == version_id, col(Waiver.expires_at) > utcnow())
    ).all()
    out: dict[str, list[Waiver]] = defaultdict(list)
    for w in rows:
        out[w.gate_id].append(w)
    return out


def _last_approval(session: Session, gate: Gate) -> GateAct | None:
    return session.exec(
        select(GateAct)
        .where(GateAct.gate_pk == gate.id, GateAct.act == Act.approve.value)
        .order_by(col(GateAct.id).desc())
        .limit(1)
    ).first()


def gate_status(*, session: Session, version_id: int) -> VersionGates:
    """Every gate of the version with what a reviewer needs to act on it."""
    facts = version_facts(session, version_id)
    acts = _version_acts(session, version_id)
    in_force = _version_waivers(session, version_id)
    views = []
    for gate in gates_of(session, version_id):
        spec = gate_spec(gate)
        waivers = in_force.get(gate.gate_id, [])
        standing = judge_requirements(
            spec.evidence,
            evidence=facts.evidence,
            card=facts.card,
            datasets_without_provenance=facts.datasets_without_provenance,
            waivers=[w.check_name for w in waivers],
            now=utcnow(),
        )
        gate_acts = acts.get(gate.id or 0, [])
        signatures = [_signature(a, username) for a, username in gate_acts]
        changes: list[str] = []
        last = next((a for a, _ in reversed(gate_acts) if a.act == Act.approve.value), None)
        if last is not None and gate.state in (GateState.approved, GateState.stale):
            changes = changes_since_signoff(session, json.loads(last.manifest_json), facts, spec)
        views.append(
            GateView(
                gate_id=gate.gate_id,
                title=spec.title,
                state=gate.state,
                round=gate.round,
                spec=spec,
                requirements=[r.to_dict() for r in standing],
                signatures=signatures,
                approvals=sum(
                    1 for s in signatures if s.act == Act.approve and s.round == gate.round
                ),
                waivers=[
                    {
                        "check": w.check_name,
                        "justification": w.justification,
                        "controls": w.controls,
                        "expires_at": w.expires_at.isoformat(),
                    }
                    for w in waivers
                ],
                due_at=gate.due_at,
                stale_reason=gate.stale_reason,
                changes=changes,
            )
        )
    return VersionGates(
        version_id=version_id,
        model=facts.model.name,
        version=facts.version.version,
        stage=facts.version.stage,
        gates=views,
    )


@dataclass(frozen=True)
class GateSummary:
    """One version's gates in a line: for pickers, the inventory and the model page."""

    version_id: int
    model: str
    version: int
    stage: str
    states: dict[str, str]

    @property
    def status(self) -> str:
        """ "all approved", "n of m approved", "stale" or "not opened"."""
        return rollup_status(list(self.states.values()))


def gate_summaries(*, session: Session, model_id: int | None = None) -> list[GateSummary]:
    """Every version that has gates (of one model, when given), newest first."""
    query = (
        sa.select(
            col(Gate.version_id),
            col(Gate.gate_id),
            col(Gate.state),
            col(ModelEntry.name),
            col(ModelVersion.version),
            col(ModelVersion.stage),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(Gate.version_id))
        .join(ModelEntry, col(ModelEntry.id) == col(Gate.model_id))
        .order_by(col(Gate.version_id).desc(), col(Gate.position))
    )
    if model_id is not None:
        query = query.where(col(Gate.model_id) == model_id)
    out: dict[int, GateSummary] = {}
    for version_id, gate_id, state, name, version, stage in session.execute(query).all():
        summary = out.setdefault(version_id, GateSummary(version_id, name, version, stage, {}))
        summary.states[gate_id] = state
    return list(out.values())


def refresh_staleness(session: Session, version_id: int, *, reason: str = "") -> list[str]:
    """Mark approved gates stale whose signed evidence or card fields changed; return their ids.

    Services that change what gates sign (new evidence, card edits, a new policy or tier) call
    this in their own transaction, so an approval never outlives what it approved.
    """
    approved = [g for g in gates_of(session, version_id) if g.state == GateState.approved]
    if not approved:  # every evidence row and card edit comes here: most versions stop now
        return []
    facts = version_facts(session, version_id)
    stale = []
    for gate in approved:
        last = _last_approval(session, gate)
        if last is None:
            continue
        spec = gate_spec(gate)
        changes = changes_since_signoff(session, json.loads(last.manifest_json), facts, spec)
        if changes and reason:
            changes = [reason, *changes]
        if changes:
            _mark_stale(session, facts, gate, spec, "; ".join(changes))
            stale.append(gate.gate_id)
    return stale


def mark_all_stale(session: Session, version_id: int, reason: str) -> list[str]:
    """A new policy version or a changed tier: every approval of the version goes stale."""
    facts = version_facts(session, version_id)
    stale = []
    for gate in gates_of(session, version_id):
        if gate.state == GateState.approved:
            _mark_stale(session, facts, gate, gate_spec(gate), reason)
            stale.append(gate.gate_id)
    return stale


def mark_gate_stale(session: Session, version_id: int, gate_id: str, reason: str) -> bool:
    """Make one approved gate of the version stale (e.g. monitoring after a crossed threshold);
    False when the version has no such approved gate."""
    for gate in gates_of(session, version_id):
        if gate.gate_id == gate_id and gate.state == GateState.approved:
            _mark_stale(session, version_facts(session, version_id), gate, gate_spec(gate), reason)
            return True
    return False


def _mark_stale(
    session: Session, facts: VersionFacts, gate: Gate, spec: GateSpec, why: str
) -> None:
    now = utcnow()
    session.add(
        GateAct(
            gate_pk=gate.id or 0,
            version_id=gate.version_id,
            round=gate.round,
            act=Act.stale.value,
            meaning="What this gate signed has changed since sign-off.",
            comment=why,
            state_after=GateState.stale.value,
            signed_at=now,
        )
    )
    gate.state = GateState.stale.value
    gate.stale_reason = why
    gate.round += 1
    gate.revision += 1
    gate.updated_at = now
    session.add(gate)
    refresh_gate_status(session, gate.version_id)
    append_event(
        session=session,
        actor=None,
        action="gate_stale",
        subject_type="model_version",
        subject_id=str(gate.version_id),
        details={
            "model": facts.model.name,
            "version": facts.version.version,
            "gate": gate.gate_id,
            "why": why,
        },
    )
    notify_roles(
        session,
        [*list(spec.responsible), spec.accountable],
        kind="gate_stale",
        subject=f"{spec.title} gate of {facts.model.name} v{facts.version.version} is stale",
        body=f"What the {spec.title.lower()} gate signed has changed: {why}.",
        link=f"gate?version={gate.version_id}&gate={gate.gate_id}",
    )
    session.flush()


def check_promotion(session: Session, version_id: int, stage: str) -> None:
    """Refuse a move to ``stage`` unless every gate up to the one unlocking it is approved.

    Retiring needs no gate unless the policy ties one to it.
    """
    facts = version_facts(session, version_id)
    gates = gates_of(session, version_id)
    if stage not in STAGE_ORDER:
        tied = [g for g in gates if gate_spec(g).unlocks_stage == stage]
        needed = gates[: max((g.position for g in tied), default=-1) + 1]
    else:
        rank = STAGE_ORDER.index(stage)
        unlocking = [
            g
            for g in gates
            if (s := gate_spec(g).unlocks_stage) in STAGE_ORDER and STAGE_ORDER.index(s) <= rank
        ]
        last = max((g.position for g in unlocking), default=-1)
        needed = gates[: last + 1]
        if rank > 0 and not gates:
            raise GateBlocked(
                PROMOTION_BLOCKED.format(
                    version=facts.version.version,
                    model=facts.model.name,
                    stage=stage,
                    reasons="it has no gates yet (assess the model's risk to open them)",
                )
            )
    open_ = [g for g in needed if g.state != GateState.approved]
    if open_:
        reasons = ", ".join(f"the {gate_spec(g).title.lower()} gate is {g.state}" for g in open_)
        raise GateBlocked(
            PROMOTION_BLOCKED.format(
                version=facts.version.version, model=facts.model.name, stage=stage, reasons=reasons
            )
        )

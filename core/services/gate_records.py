"""What a signing act writes: the signature with its manifest, the gate's move, the waiver,
the audit event; then the next gate opens, the people concerned are notified and an approval
takes a signed checkpoint. Called by ``core.services.gates.sign_gate`` once every rule passed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from core.rules.gates import Act, GateSpec, GateState
from core.services.audit import append_event
from core.services.checkpoints import system_checkpoint
from core.services.gate_facts import VersionFacts
from core.services.gate_rollup import refresh_gate_status
from core.services.notifications import notify_roles
from core.services.signatures import manifest_hash, signing_manifest
from core.tables import Gate, GateAct, User, Waiver, utcnow

__all__ = ["REVIEW_DAYS", "WaiverRequest", "gate_spec", "record_act"]

REVIEW_DAYS = 14


def gate_spec(gate: Gate) -> GateSpec:
    """The gate as its policy defined it when it opened."""
    return GateSpec.from_dict(json.loads(gate.spec_json))


@dataclass(frozen=True)
class WaiverRequest:
    """What a waiver names: the failed check, why, the compensating controls, until when."""

    check: str
    justification: str
    controls: str
    expires_at: datetime


def record_act(
    session: Session,
    actor: User,
    facts: VersionFacts,
    gate: Gate,
    spec: GateSpec,
    act: Act,
    after: GateState,
    role: str,
    meaning: str,
    comment: str,
    opinion: str | None,
    waiver: WaiverRequest | None,
) -> GateAct:
    now = utcnow()
    manifest = signing_manifest(
        gate={"id": gate.gate_id, "round": gate.round, "spec": spec.to_dict()},
        model=facts.model.name,
        version=facts.version.version,
        version_id=facts.version.id or 0,
        artifact_sha256=facts.version.artifact_sha256,
        dataset_sha256=facts.datasets,
        evidence=facts.evidence_manifest(e.kind for e in spec.evidence),
        policy_version=gate.policy_version,
        tier=gate.tier,
        signer=actor.username,
        printed_name=actor.display_name,
        role=role,
        act=act.value,
        meaning=meaning,
        comment=comment,
        signed_at=now,
    )
    manifest["card"] = facts.card_fields(f for e in spec.evidence for f in e.fields)
    if waiver is not None:
        manifest["waiver"] = {
            "check": waiver.check,
            "justification": waiver.justification,
            "controls": waiver.controls,
            "expires_at": waiver.expires_at,
        }
    text, digest = manifest_hash(manifest)
    row = GateAct(
        gate_pk=gate.id or 0,
        version_id=gate.version_id,
        round=gate.round,
        act=act.value,
        actor_id=actor.id,
        printed_name=actor.display_name,
        role=role,
        opinion=opinion,
        meaning=meaning,
        comment=comment,
        manifest_json=text,
        manifest_sha256=digest,
        state_after=after.value,
        signed_at=now,
    )
    session.add(row)
    session.flush()
    before = gate.state
    gate.state = after.value
    gate.revision += 1
    gate.updated_at = now
    if act is Act.submit:
        gate.submitted_at = now
        gate.due_at = now + timedelta(days=REVIEW_DAYS)
    if after is GateState.rejected:
        gate.round += 1
    if after is GateState.approved:
        gate.closed_at = now
    session.add(gate)
    if waiver is not None:
        session.add(
            Waiver(
                version_id=gate.version_id,
                gate_id=gate.gate_id,
                check_name=waiver.check,
                justification=waiver.justification,
                controls=waiver.controls,
                expires_at=waiver.expires_at,
                act_id=row.id or 0,
                signed_by=actor.id or 0,
            )
        )
    append_event(
        session=session,
        actor=actor,
        action=f"gate_{act.value}",
        subject_type="model_version",
        subject_id=str(gate.version_id),
        details={
            "model": facts.model.name,
            "version": facts.version.version,
            "gate": gate.gate_id,
            "role": role,
            "from": before,
            "to": after.value,
            "meaning": meaning,
            "comment": comment,
            "opinion": opinion,
            "manifest_sha256": digest,
            "act_id": row.id,
        },
    )
    _after_move(session, facts, gate, spec, act, after)
    refresh_gate_status(session, gate.version_id)
    return row


def _after_move(
    session: Session, facts: VersionFacts, gate: Gate, spec: GateSpec, act: Act, after: GateState
) -> None:
    what = f"version {facts.version.version} of {facts.model.name}"
    link = f"gate?version={gate.version_id}&gate={gate.gate_id}"
    if act is Act.submit:
        notify_roles(
            session,
            [spec.accountable, *spec.consulted],
            kind="gate_submitted",
            subject=f"{spec.title} gate of {what} waits for you",
            body=f"The {spec.title.lower()} gate of {what} was submitted for approval.",
            link=link,
        )
    if after in (GateState.approved, GateState.rejected):
        notify_roles(
            session,
            [*spec.informed, *spec.responsible],
            kind=f"gate_{after.value}",
            subject=f"{spec.title} gate of {what} {after.value}",
            body=f"The {spec.title.lower()} gate of {what} was {after.value}.",
            link=link,
        )
    if after is GateState.approved:
        nxt = session.exec(
            select(Gate).where(
                Gate.version_id == gate.version_id, Gate.position == gate.position + 1
            )
        ).first()
        if nxt is not None and nxt.state == GateState.not_started:
            nxt.state = GateState.in_progress.value
            nxt.updated_at = utcnow()
            nxt.due_at = utcnow() + timedelta(days=REVIEW_DAYS)
            nxt.revision += 1
            session.add(nxt)
            nxt_spec = gate_spec(nxt)
            notify_roles(
                session,
                list(nxt_spec.responsible),
                kind="gate_opened",
                subject=f"{nxt_spec.title} gate of {what} is open",
                body=f"The {nxt_spec.title.lower()} gate of {what} is open for you to work on.",
                link=f"gate?version={gate.version_id}&gate={nxt.gate_id}",
            )
        session.flush()
        system_checkpoint(session, "approval")

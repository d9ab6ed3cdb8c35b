"""Which gates a version gets: its model's governing policy, tier and deployment context.

Gates open the first time they are needed (the gate page, a promotion, a risk assessment) from
the policy that governs the model then. When the tier or the policy changes later, gates that
nobody has acted on yet are planned again; approvals already given go stale.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import NotFound
from core.rules.gates import GateSpec
from core.services.gate_status import mark_all_stale
from core.services.gates import gates_of, open_gates
from core.services.policy import policy_for_model
from core.tables import Gate, GateAct, ModelEntry, ModelVersion

__all__ = ["ensure_gates", "plan_for_version", "replan_gates"]

NO_VERSION = "There is no version with id {version_id}; `gatehouse model list` shows the versions."


def plan_for_version(session: Session, version_id: int) -> tuple[list[GateSpec], int | None, str]:
    """(the gates in order, the policy version, the tier) that govern the version now."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(NO_VERSION.format(version_id=version_id))
    lookup = policy_for_model(session, version.model_id)
    segregation = lookup.segregation()
    specs = [GateSpec.from_dict(g, segregation) for g in lookup.gates()]
    return specs, lookup.policy_version, lookup.tier


def ensure_gates(session: Session, version_id: int) -> list[Gate]:
    """The version's gates, opened from its policy if it has none yet."""
    existing = gates_of(session, version_id)
    if existing:
        return existing
    plan, policy_version, tier = plan_for_version(session, version_id)
    return open_gates(
        session=session, version_id=version_id, plan=plan, policy_version=policy_version, tier=tier
    )


def replan_gates(session: Session, model_id: int, reason: str) -> None:
    """After an assessment or a change of tier or policy: open the current version's gates, or
    plan its untouched gates again and mark approvals already given stale."""
    model = session.get(ModelEntry, model_id)
    if model is None or model.current_version_id is None:
        return
    version_id = model.current_version_id
    gates = gates_of(session, version_id)
    if not gates:
        ensure_gates(session, version_id)  # the first assessment opens the version's gates
        return
    _, policy_version, tier = plan_for_version(session, version_id)
    if all(g.tier == tier and g.policy_version == policy_version for g in gates):
        return  # the same tier under the same policy: nothing the gates signed has changed
    acted = session.exec(
        select(GateAct.id)
        .where(col(GateAct.gate_pk).in_([g.id for g in gates]), GateAct.actor_id.is_not(None))  # type: ignore[union-attr]
        .limit(1)
    ).first()
    if acted is None:
        session.execute(sa.delete(Gate).where(col(Gate.version_id) == version_id))
        session.flush()
        ensure_gates(session, version_id)
        return
    mark_all_stale(session, version_id, reason)

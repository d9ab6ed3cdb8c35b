"""Moving models to a policy version, with what that does to their gates.

The policy service records the move; this module also plans again the gates nobody has acted
on and marks approvals given under the old version stale, in the same transaction.
"""

from __future__ import annotations

from sqlmodel import Session, select

from core.services import policy
from core.services.gate_plan import replan_gates
from core.services.permissions import Actor
from core.tables import ModelEntry

__all__ = ["adopt_policy"]


def adopt_policy(
    *, session: Session, actor: Actor, version: int, model_names: list[str] | None, reason: str
) -> list[str]:
    """``policy.adopt_policy``, then each moved model's gates follow the new version."""
    moved = policy.adopt_policy(
        session=session, actor=actor, version=version, model_names=model_names, reason=reason
    )
    for model_id in session.exec(select(ModelEntry.id).where(ModelEntry.name.in_(moved))).all():  # type: ignore[attr-defined]
        replan_gates(session, model_id or 0, f"the model moved to policy version {version}")
    return moved

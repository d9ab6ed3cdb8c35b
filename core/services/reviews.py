""" "My reviews": what waits for a person, by gate and role, oldest first, with due dates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.rules.gates import Act, GateSpec, GateState
from core.services.notifications import notify_roles
from core.services.permissions import roles_of
from core.tables import Gate, GateAct, ModelEntry, ModelVersion, Notification, User, utcnow

__all__ = ["ReviewItem", "my_reviews", "remind_overdue"]

_WAITING = (
    GateState.in_progress.value,
    GateState.rejected.value,
    GateState.stale.value,
    GateState.submitted.value,
)


@dataclass(frozen=True)
class ReviewItem:
    """One gate that waits for this person, and what they are to do there."""

    version_id: int
    model: str
    version: int
    gate_id: str
    gate_title: str
    state: str
    role: str
    todo: str
    waiting_since: datetime
    due_at: datetime | None

    @property
    def overdue(self) -> bool:
        return self.due_at is not None and self.due_at < utcnow()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "model": self.model,
            "version": self.version,
            "gate": self.gate_id,
            "gate_title": self.gate_title,
            "state": self.state,
            "role": self.role,
            "todo": self.todo,
            "waiting_since": self.waiting_since.isoformat(),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "overdue": self.overdue,
        }


def _todo(spec: GateSpec, state: str, roles: set[str], acted: set[str]) -> tuple[str, str] | None:
    if state == GateState.submitted:
        if (
            spec.accountable in roles
            and Act.approve.value not in acted
            and Act.submit.value not in acted
        ):
            return spec.accountable, "approve or reject"
        for role in spec.consulted:
            if role in roles and Act.opinion.value not in acted:
                return role, "give your opinion"
        return None
    for role in spec.responsible:
        if role in roles:
            return role, "resubmit" if state != GateState.in_progress else "submit"
    return None


def my_reviews(*, session: Session, user: User) -> list[ReviewItem]:
    """Every open gate where one of the user's roles has something to do, oldest first."""
    roles = roles_of(session, user)
    rows = session.exec(
        select(Gate, ModelEntry.name, ModelVersion.version)
        .join(ModelVersion, col(ModelVersion.id) == col(Gate.version_id))
        .join(ModelEntry, col(ModelEntry.id) == col(Gate.model_id))
        .where(col(Gate.state).in_(_WAITING))
        .order_by(col(Gate.updated_at))
    ).all()
    mine: dict[int, set[str]] = {}
    for gate_pk, act in session.exec(
        select(GateAct.gate_pk, GateAct.act).where(
            GateAct.actor_id == user.id,
            col(GateAct.gate_pk).in_([g.id for g, _, _ in rows]),
            GateAct.round == select(Gate.round).where(Gate.id == GateAct.gate_pk).scalar_subquery(),
        )
    ).all():
        mine.setdefault(gate_pk, set()).add(act)
    items = []
    for gate, name, version in rows:
        spec = GateSpec.from_dict(json.loads(gate.spec_json))
        todo = _todo(spec, gate.state, roles, mine.get(gate.id or 0, set()))
        if todo is None:
            continue
        items.append(
            ReviewItem(
                version_id=gate.version_id,
                model=name,
                version=version,
                gate_id=gate.gate_id,
                gate_title=spec.title,
                state=gate.state,
                role=todo[0],
                todo=todo[1],
                waiting_since=gate.submitted_at or gate.updated_at,
                due_at=gate.due_at,
            )
        )
    return sorted(items, key=lambda i: i.waiting_since)


def remind_overdue(*, session: Session) -> int:
    """Remind the Accountable of each overdue submitted gate, at most once a day per gate."""
    now = utcnow()
    sent = 0
    overdue = session.exec(
        select(Gate, ModelEntry.name)
        .join(ModelEntry, col(ModelEntry.id) == col(Gate.model_id))
        .where(Gate.state == GateState.submitted.value, col(Gate.due_at) < now)
    ).all()
    for gate, name in overdue:
        link = f"gate?version={gate.version_id}&gate={gate.gate_id}"
        recent = session.exec(
            select(Notification.id).where(
                Notification.kind == "gate_overdue",
                Notification.link == link,
                col(Notification.created_at)
                > now.replace(hour=0, minute=0, second=0, microsecond=0),
            )
        ).first()
        if recent is not None:
            continue
        spec = GateSpec.from_dict(json.loads(gate.spec_json))
        sent += notify_roles(
            session,
            [spec.accountable],
            kind="gate_overdue",
            subject=f"Overdue: the {spec.title.lower()} gate of {name}",
            body=f"The {spec.title.lower()} gate of {name} was due on {gate.due_at:%Y-%m-%d}.",
            link=link,
        )
    return sent

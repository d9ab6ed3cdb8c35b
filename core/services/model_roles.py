"""Who has a role on a model: the people named on it, the roles its gates' RACI name, and the
portfolio's overseers. Findings are raised and worked on by these people only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select

from core.errors import NotFound, PermissionDenied
from core.services.permissions import INACTIVE, NO_ACTOR, Actor, Operator, Role, roles_of
from core.tables import Gate, ModelEntry, User, UserRole

__all__ = [
    "NO_ROLE_ON_MODEL",
    "OVERSIGHT_ROLES",
    "PersonOnModel",
    "model_raci_roles",
    "people_on_model",
    "require_role_on_model",
    "role_on_model_problem",
]

#: Roles with a say on every model of the portfolio, whatever its gates name.
OVERSIGHT_ROLES: Final = (Role.risk_manager, Role.admin)
NO_ROLE_ON_MODEL = (
    "{who} may not {action} on {model}: only its owner, developer and validator, the roles its "
    "gates name ({roles}) and risk managers may; ask the model's owner to name you on it."
)


def model_raci_roles(session: Session, model_id: int) -> set[str]:
    """Every role the RACI of any gate of any version of the model names."""
    roles: set[str] = set()
    for spec_json in session.exec(select(Gate.spec_json).where(Gate.model_id == model_id)).all():
        spec = json.loads(spec_json)
        roles.update(spec.get("responsible", []))
        roles.add(spec.get("accountable", ""))
        roles.update(spec.get("consulted", []))
        roles.update(spec.get("informed", []))
    roles.discard("")
    return roles


def require_role_on_model(session: Session, actor: Actor, model: ModelEntry, action: str) -> None:
    """Raise PermissionDenied unless the actor has a role on the model (the operator has).

    Auditors read everything and change nothing, so a RACI naming "auditor" gives no say.
    """
    if isinstance(actor, Operator):
        return
    if not isinstance(actor, User):
        raise PermissionDenied(NO_ACTOR.format(action=action))
    if not actor.is_active:
        raise PermissionDenied(INACTIVE.format(username=actor.username))
    if actor.id in (model.owner_id, model.developer_id, model.validator_id):
        return
    held = roles_of(session, actor) - {Role.auditor.value}
    raci = model_raci_roles(session, model.id or 0) - {Role.auditor.value}
    if held & ({r.value for r in OVERSIGHT_ROLES} | raci):
        return
    raise PermissionDenied(
        NO_ROLE_ON_MODEL.format(
            who=actor.username,
            action=action,
            model=model.name,
            roles=", ".join(sorted(raci)) or "none yet: its risk is not assessed",
        )
    )


NO_MODEL = "There is no model {id}; list models with `gatehouse model list`."


@dataclass(frozen=True)
class PersonOnModel:
    """An active user with a role on a model, as an owner picker offers them."""

    user_id: int
    username: str
    display_name: str

    @property
    def label(self) -> str:
        """``Olivia Owner (olivia)``; the username alone when it is the display name."""
        if self.display_name in ("", self.username):
            return self.username
        return f"{self.display_name} ({self.username})"


def _model(session: Session, model_id: int) -> ModelEntry:
    model = session.get(ModelEntry, model_id)
    if model is None:
        raise NotFound(NO_MODEL.format(id=model_id))
    return model


def role_on_model_problem(
    *, session: Session, actor: Actor, model_id: int, action: str
) -> str | None:
    """The sentence refusing the actor ``action`` on the model, or None when they may act;
    for pages that offer a form only to those who may use it."""
    try:
        require_role_on_model(session, actor, _model(session, model_id), action)
    except PermissionDenied as err:
        return " ".join(err.problems)
    return None


def people_on_model(*, session: Session, actor: Actor, model_id: int) -> list[PersonOnModel]:
    """Every active user with a role on the model (see ``require_role_on_model``), by username:
    who may own a finding on it. Only those with a role on the model see the list."""
    model = _model(session, model_id)
    require_role_on_model(session, actor, model, "choose who owns a finding")
    named = {model.owner_id, model.developer_id, model.validator_id} - {None}
    roles = ({r.value for r in OVERSIGHT_ROLES} | model_raci_roles(session, model_id)) - {
        Role.auditor.value
    }
    by_role = set(session.exec(select(UserRole.user_id).where(col(UserRole.role).in_(roles))).all())
    users = session.exec(
        select(User).where(col(User.is_active).is_(True)).order_by(col(User.username))
    ).all()
    return [
        PersonOnModel(user_id=u.id, username=u.username, display_name=u.display_name or "")
        for u in users
        if u.id is not None and (u.id in named or u.id in by_role)
    ]

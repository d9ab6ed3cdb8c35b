"""Who has a role on a model: the people named on it, the roles its gates' RACI name, and the
portfolio's overseers. Findings are raised and worked on by these people only."""

from __future__ import annotations

import json
from typing import Final

from sqlmodel import Session, select

from core.errors import PermissionDenied
from core.services.permissions import INACTIVE, NO_ACTOR, Actor, Operator, Role, roles_of
from core.tables import Gate, ModelEntry, User

__all__ = ["NO_ROLE_ON_MODEL", "OVERSIGHT_ROLES", "model_raci_roles", "require_role_on_model"]

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

"""Roles, the operator, and who may do what: every role set of Gatehouse is written here, once.

Services call ``require_role`` with the acting user on every call, so a rule holds whatever page
or command makes the call; pages and the navigation read the same role sets to decide what to
show, so the menu and the rule never disagree.

The acting user is a ``User`` or ``OPERATOR``: the person at the command line who holds the
database itself (set-up, the demo, user administration before any admin exists). The operator
passes every role check, and the audit trail records them as "operator". There is no implicit
operator: a missing actor (``None``) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final, TypeAlias, final

from sqlmodel import Session, select

from core.errors import PermissionDenied
from core.tables import User, UserRole

__all__ = [
    "ADMIN_ROLES",
    "APPLICANT_DATA_ROLES",
    "AUDIT_ROLES",
    "CARD_ROLES",
    "EVERY_ROLE",
    "EVIDENCE_ROLES",
    "MONITOR_ROLES",
    "OPERATOR",
    "PEOPLE_ROLES",
    "POLICY_ROLES",
    "PROMOTE_ROLES",
    "REGISTER_ROLES",
    "REPORT_ROLES",
    "REVIEWER_ROLES",
    "ROLES",
    "USER_LIST_ROLES",
    "WAIVER_ROLES",
    "Actor",
    "Operator",
    "Role",
    "check_roles",
    "require_role",
    "roles_of",
]

INACTIVE = "The account {username!r} is deactivated; ask an admin to reactivate it."
NOT_ALLOWED = "{who} may not {action}: it needs the role {needed}, and {who} has {held}."
NO_ACTOR = (
    "No acting user was given to {action}; pass the signed-in user, or OPERATOR for the "
    "operator at the command line."
)
UNKNOWN_ROLE = "Unknown role {role!r}; choose from: {roles}."


class Role(StrEnum):
    """Organisational roles. ``auditor`` reads everything and changes nothing."""

    admin = "admin"
    model_owner = "model_owner"
    developer = "developer"
    validator = "validator"
    risk_manager = "risk_manager"
    sme = "sme"
    compliance = "compliance"
    ml_engineer = "ml_engineer"
    auditor = "auditor"


ROLES: Final[tuple[str, ...]] = tuple(r.value for r in Role)

# Who may do what. Tuples keep the order in which messages name the roles.
EVERY_ROLE: Final[tuple[Role, ...]] = tuple(Role)
#: Compute performance, fairness and explanation evidence, and queue the jobs that do.
EVIDENCE_ROLES: Final = (
    Role.developer,
    Role.model_owner,
    Role.validator,
    Role.risk_manager,
    Role.ml_engineer,
    Role.admin,
)
#: Register models and versions.
REGISTER_ROLES: Final = (Role.developer, Role.model_owner, Role.admin)
#: Read applicant-level data (rows of the evaluation data, one decision explained): every role
#: (SMEs judge single decisions, auditors read everything), checked on every call so a
#: deactivated account or one without a role reads nothing.
APPLICANT_DATA_ROLES: Final[tuple[Role, ...]] = tuple(Role)
#: Assign a model's owner, developer and validator (besides the model's own owner).
PEOPLE_ROLES: Final = (Role.risk_manager, Role.admin)
#: Who signs a waiver of a failed check (a signing act; no admin exemption).
WAIVER_ROLES: Final = (Role.risk_manager,)
#: Edit a model's card.
CARD_ROLES: Final = (Role.model_owner, Role.developer, Role.admin)
#: Ingest production batches and their labels (monitoring a version in production).
MONITOR_ROLES: Final = (Role.ml_engineer, Role.model_owner, Role.developer, Role.admin)
#: Move a version between stages.
PROMOTE_ROLES: Final = (Role.ml_engineer, Role.model_owner, Role.admin)
#: Add users, change their roles, deactivate, reactivate and unlock them.
ADMIN_ROLES: Final = (Role.admin,)
#: See the list of users (auditors see it, and change nothing).
USER_LIST_ROLES: Final = (Role.admin, Role.auditor)
#: Reviewers land on "My reviews" (risk managers land on the dashboard).
REVIEWER_ROLES: Final = (Role.validator, Role.model_owner, Role.sme, Role.compliance)
#: Publish a new policy version.
POLICY_ROLES: Final = (Role.admin,)
#: Generate, download and verify a version's audit report: every role reads the model page the
#: report prints, and every generation is audited.
REPORT_ROLES: Final[tuple[Role, ...]] = tuple(Role)
#: Read the whole audit trail.
AUDIT_ROLES: Final = (Role.auditor, Role.risk_manager, Role.compliance, Role.admin)


@final
class Operator:
    """The person at the command line who holds the database itself; passes every role check.

    Shaped like a user where services read one: no id (rows it creates name nobody) and the
    username "operator" (what the audit trail records).
    """

    id: Final[None] = None
    username: Final[str] = "operator"

    def __repr__(self) -> str:
        return "OPERATOR"


OPERATOR: Final = Operator()

#: Who acts in a service call: a signed-in user, or the operator.
Actor: TypeAlias = User | Operator


def roles_of(session: Session, user: User) -> set[str]:
    """The roles a user holds."""
    return set(session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all())


def require_role(session: Session, actor: Actor, action: str, *allowed: str) -> None:
    """Raise PermissionDenied unless the actor is the operator, or active with one of ``allowed``.

    ``action`` completes "{who} may not ...", e.g. "register models".
    """
    if isinstance(actor, Operator):
        return
    if not isinstance(actor, User):  # None, or anything else a caller passed by mistake
        raise PermissionDenied(NO_ACTOR.format(action=action))
    if not actor.is_active:
        raise PermissionDenied(INACTIVE.format(username=actor.username))
    held = roles_of(session, actor)
    if held.isdisjoint(allowed):
        raise PermissionDenied(
            NOT_ALLOWED.format(
                who=actor.username,
                action=action,
                needed=" or ".join(sorted(allowed)),
                held=", ".join(sorted(held)) or "no role",
            )
        )


def check_roles(roles: Iterable[str]) -> list[str]:
    """Problems with a list of role names (unknown ones), as sentences."""
    return [UNKNOWN_ROLE.format(role=r, roles=", ".join(ROLES)) for r in roles if r not in ROLES]

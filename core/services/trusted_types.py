"""The allowlist of extra skops types: reviewed and maintained by admins, never by registrants.

Model files may name only the types of ``core.files.artifacts.TRUSTED_TYPES`` and the types on
this allowlist. An admin adds a type after reviewing what building it from a file can do; the
change is audited and applies to every model file from then on (removing a type stops files
that need it from loading, old versions included). Types on the denylist
(``core.files.artifacts.DENIED_TYPES``: anything reaching the operating system or the
interpreter) cannot be added by anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import Session, select

from core.errors import InputProblems, NotFound
from core.files.artifacts import TRUSTED_TYPES, is_denied
from core.services.audit import append_event
from core.services.permissions import Actor, Role, require_role
from core.tables import TrustedType, User

__all__ = [
    "TrustedTypePublic",
    "add_trusted_type",
    "list_trusted_types",
    "remove_trusted_type",
    "trusted_type_names",
]

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
BAD_NAME: Final = (
    "{name!r} is not a type name; give the full dotted name skops reports, e.g. "
    "sklearn.preprocessing._function_transformer.FunctionTransformer."
)
DENIED_NAME: Final = (
    "{name} can reach the operating system or the interpreter; it is on the denylist and no "
    "one can trust it."
)
BUILT_IN: Final = "{name} is trusted by default already; nothing to add."
ALREADY: Final = "{name} is on the allowlist already."
NOT_LISTED: Final = (
    "{name} is not on the allowlist; see the list with `gatehouse admin trust-type list`."
)
NO_REASON: Final = "Say why the type is safe to build from a model file (--reason)."


@dataclass(frozen=True)
class TrustedTypePublic:
    """One allowlisted type, who added it, when and why."""

    type_name: str
    reason: str
    added_by: str | None
    added_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "type_name": self.type_name,
            "reason": self.reason,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
        }


def _check_admin(session: Session, actor: Actor, action: str) -> None:
    # actor None: the operator at the command line, who holds the database itself.
    require_role(session, actor, action, Role.admin)


def trusted_type_names(*, session: Session) -> tuple[str, ...]:
    """The allowlisted names, for loading model files (no permission needed to load)."""
    names = session.exec(select(TrustedType.type_name).order_by(TrustedType.type_name)).all()
    return tuple(n for n in names if not is_denied(n))


def list_trusted_types(*, session: Session, actor: Actor) -> list[TrustedTypePublic]:
    """The allowlist with who added each type; admins (and the operator) only."""
    _check_admin(session, actor, "list trusted types")
    rows = session.exec(select(TrustedType).order_by(TrustedType.type_name)).all()
    people = {
        u.id: u.username
        for u in session.exec(select(User).where(User.id.in_({r.added_by for r in rows}))).all()  # type: ignore[union-attr]
    }
    return [
        TrustedTypePublic(r.type_name, r.reason, people.get(r.added_by), r.added_at) for r in rows
    ]


def add_trusted_type(
    *, session: Session, actor: Actor, type_name: str, reason: str
) -> TrustedTypePublic:
    """Put a reviewed type on the allowlist; refused for denied, built-in and listed types."""
    _check_admin(session, actor, "trust skops types")
    name, reason = type_name.strip(), reason.strip()
    problems = []
    if not _NAME.fullmatch(name):
        problems.append(BAD_NAME.format(name=name))
    elif is_denied(name):
        problems.append(DENIED_NAME.format(name=name))
    elif name in TRUSTED_TYPES:
        problems.append(BUILT_IN.format(name=name))
    elif session.exec(select(TrustedType.id).where(TrustedType.type_name == name)).first():
        problems.append(ALREADY.format(name=name))
    if not reason:
        problems.append(NO_REASON)
    if problems:
        raise InputProblems(problems)
    row = TrustedType(type_name=name, reason=reason, added_by=actor.id if actor else None)
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError as err:  # a concurrent add of the same name
        raise InputProblems([ALREADY.format(name=name)]) from err
    append_event(
        session=session,
        actor=actor,
        action="trusted_type_added",
        subject_type="trusted_type",
        subject_id=str(row.id),
        details={"type_name": name, "reason": reason},
    )
    return TrustedTypePublic(name, reason, actor.username if actor else None, row.added_at)


def remove_trusted_type(*, session: Session, actor: Actor, type_name: str) -> None:
    """Take a type off the allowlist; model files that need it no longer load."""
    _check_admin(session, actor, "trust skops types")
    name = type_name.strip()
    row = session.exec(select(TrustedType).where(TrustedType.type_name == name)).first()
    if row is None:
        raise NotFound(NOT_LISTED.format(name=name))
    row_id = row.id
    session.delete(row)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="trusted_type_removed",
        subject_type="trusted_type",
        subject_id=str(row_id),
        details={"type_name": name, "reason": row.reason},
    )

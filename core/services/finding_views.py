"""Findings as pages, commands and reports read them: typed views, the register's list with
filters, one finding, and its history of changes. Reading is open to every signed-in role."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from core.domain import FindingSeverity, FindingStatus, FindingType
from core.errors import InputProblems, NotFound
from core.rules.findings import OPEN_STATUSES, blocks_gates, is_open
from core.services.permissions import EVERY_ROLE, Actor, require_role
from core.tables import Finding, FindingChange, ModelEntry, ModelVersion, User, utcnow

__all__ = [
    "NO_SUCH_FINDING",
    "FindingChangeView",
    "FindingView",
    "finding_history",
    "get_finding",
    "list_findings",
    "load_view",
    "owner_names",
    "status_label",
]

NO_SUCH_FINDING = "There is no finding {id}; list them with `gatehouse findings list`."
UNKNOWN_VALUE = "Unknown {what} {value!r}; choose from: {choices}."


def status_label(status: str) -> str:
    """A status as people read it ("in remediation", "risk accepted")."""
    return status.replace("_", " ")


@dataclass(frozen=True)
class FindingView:
    """One finding with the names a reader needs: model, version, owner, who raised it."""

    id: int
    model_id: int
    model: str
    version_id: int
    version: int
    type: str
    severity: str
    status: str
    description: str
    evidence_links: tuple[str, ...]
    remediation_plan: str
    owner_id: int | None
    owner: str | None
    due: date | None
    raised_by: str
    raised_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    revision: int

    @property
    def is_open(self) -> bool:
        return is_open(self.status)

    @property
    def blocks_gates(self) -> bool:
        """Open and high or critical: every gate approval of the version is refused."""
        return blocks_gates(self.status, self.severity)

    @property
    def overdue(self) -> bool:
        """Still open after its due date."""
        return self.is_open and self.due is not None and self.due < utcnow().date()

    @property
    def age_days(self) -> int:
        return ((self.closed_at or utcnow()) - self.raised_at).days

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model_id": self.model_id,
            "model": self.model,
            "version_id": self.version_id,
            "version": self.version,
            "type": self.type,
            "severity": self.severity,
            "status": self.status,
            "description": self.description,
            "evidence_links": list(self.evidence_links),
            "remediation_plan": self.remediation_plan,
            "owner": self.owner,
            "due": self.due.isoformat() if self.due else None,
            "overdue": self.overdue,
            "blocks_gates": self.blocks_gates,
            "raised_by": self.raised_by,
            "raised_at": self.raised_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "revision": self.revision,
        }


@dataclass(frozen=True)
class FindingChangeView:
    """One entry of a finding's history: who changed what, when, and any signature."""

    revision: int
    action: str
    changes: dict[str, list[Any]]
    status_after: str
    comment: str
    actor: str
    changed_at: datetime
    signed: bool
    role: str
    meaning: str
    manifest_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "action": self.action,
            "changes": self.changes,
            "status_after": self.status_after,
            "comment": self.comment,
            "actor": self.actor,
            "changed_at": self.changed_at.isoformat(),
            "signed": self.signed,
            "role": self.role,
            "meaning": self.meaning,
            "manifest_sha256": self.manifest_sha256,
        }


def _query() -> Any:
    return (
        select(Finding, ModelEntry.name, ModelVersion.version, User.username)
        .join(ModelEntry, col(ModelEntry.id) == col(Finding.model_id))
        .join(ModelVersion, col(ModelVersion.id) == col(Finding.version_id))
        .join(User, col(User.id) == col(Finding.owner_id), isouter=True)
    )


def _view(row: Finding, model: str, version: int, owner: str | None) -> FindingView:
    return FindingView(
        id=row.id or 0,
        model_id=row.model_id,
        model=model,
        version_id=row.version_id,
        version=version,
        type=row.type,
        severity=row.severity,
        status=row.status,
        description=row.description,
        evidence_links=tuple(json.loads(row.evidence_json)),
        remediation_plan=row.remediation_plan,
        owner_id=row.owner_id,
        owner=owner,
        due=row.due_date,
        raised_by=row.raised_by_name,
        raised_at=row.raised_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        revision=row.revision,
    )


def load_view(session: Session, finding_id: int) -> FindingView:
    """The finding as a view, without a permission check (services call it after theirs)."""
    found = session.exec(_query().where(col(Finding.id) == finding_id)).first()
    if found is None:
        raise NotFound(NO_SUCH_FINDING.format(id=finding_id))
    return _view(*found)


def model_findings(session: Session, model_id: int) -> list[FindingView]:
    """Every finding of a model, open and closed, in the order they were raised, without a
    permission check (the audit report reads it after its own)."""
    rows = session.exec(_query().where(col(Finding.model_id) == model_id).order_by(col(Finding.id)))
    return [_view(*row) for row in rows]


def _check_choice(
    problems: list[str], what: str, value: str | None, choices: Sequence[str]
) -> None:
    if value is not None and value not in choices:
        problems.append(UNKNOWN_VALUE.format(what=what, value=value, choices=", ".join(choices)))


def get_finding(*, session: Session, actor: Actor, finding_id: int) -> FindingView:
    """One finding; every signed-in role may read the register."""
    require_role(session, actor, "read findings", *EVERY_ROLE)
    return load_view(session, finding_id)


def list_findings(
    *,
    session: Session,
    actor: Actor,
    model_id: int | None = None,
    version_id: int | None = None,
    status: str | None = None,
    severity: str | None = None,
    type: str | None = None,
    open_only: bool = False,
    overdue_only: bool = False,
    limit: int = 1000,
) -> list[FindingView]:
    """Findings across the portfolio or on one model: open ones first, most severe and oldest
    first among them. ``status`` matches exactly; ``open_only`` keeps open and in remediation."""
    require_role(session, actor, "read findings", *EVERY_ROLE)
    problems: list[str] = []
    _check_choice(problems, "status", status, [s.value for s in FindingStatus])
    _check_choice(problems, "severity", severity, [s.value for s in FindingSeverity])
    _check_choice(problems, "finding type", type, [t.value for t in FindingType])
    if problems:
        raise InputProblems(problems)
    query = _query()
    if model_id is not None:
        query = query.where(col(Finding.model_id) == model_id)
    if version_id is not None:
        query = query.where(col(Finding.version_id) == version_id)
    if status is not None:
        query = query.where(col(Finding.status) == status)
    if open_only or overdue_only:
        query = query.where(col(Finding.status).in_([s.value for s in OPEN_STATUSES]))
    if overdue_only:
        query = query.where(col(Finding.due_date) < utcnow().date())
    if severity is not None:
        query = query.where(col(Finding.severity) == severity)
    if type is not None:
        query = query.where(col(Finding.type) == type)
    rank = {s.value: i for i, s in enumerate(reversed(list(FindingSeverity)))}
    views = [_view(*row) for row in session.exec(query.order_by(col(Finding.id)).limit(limit))]
    return sorted(views, key=lambda v: (not v.is_open, rank.get(v.severity, 9), v.raised_at))


def finding_history(*, session: Session, actor: Actor, finding_id: int) -> list[FindingChangeView]:
    """Every change to a finding, oldest first, its raising included."""
    require_role(session, actor, "read findings", *EVERY_ROLE)
    load_view(session, finding_id)
    rows = session.exec(
        select(FindingChange)
        .where(FindingChange.finding_id == finding_id)
        .order_by(col(FindingChange.revision))
    ).all()
    return [
        FindingChangeView(
            revision=r.revision,
            action=r.action,
            changes=json.loads(r.changes_json),
            status_after=r.status_after,
            comment=r.comment,
            actor=r.actor_name,
            changed_at=r.changed_at,
            signed=r.signed,
            role=r.role,
            meaning=r.meaning,
            manifest_sha256=r.manifest_sha256,
        )
        for r in rows
    ]


def owner_names(*, session: Session, actor: Actor, finding_id: int) -> dict[int, str]:
    """Usernames of every owner a finding's history names, so a reader sees "olivia -> sam"
    where the history keeps user ids."""
    history = finding_history(session=session, actor=actor, finding_id=finding_id)
    ids = {
        int(v)
        for h in history
        for v in h.changes.get("owner_id", [])
        if isinstance(v, int) and not isinstance(v, bool)
    }
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.username).where(col(User.id).in_(ids))).all()
    return {int(i): str(name) for i, name in rows if i is not None}

"""Reading the audit trail: filters, text search, keyset paging and readable descriptions.

Writing and verifying the chain stay in ``core.services.audit``; this module only reads. Pages,
the CLI (``gatehouse audit list``) and exports call the same functions. Paging is by keyset
(``id < cursor``, newest first), so page 20,000 of a million events costs what page 1 does.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import InputProblems
from core.services.permissions import AUDIT_ROLES, Actor, require_role
from core.tables import AuditEvent, Evidence, Job, ModelEntry, ModelVersion, User

__all__ = [
    "AUDIT_ROLES",
    "AuditFilter",
    "AuditPage",
    "AuditRow",
    "audit_actions",
    "describe_event",
    "export_events_csv",
    "iter_events",
    "model_history",
    "query_events",
]

#: Who reads the whole trail (the operator, ``actor=None``, always may).
UNKNOWN_MODEL = "No model is named {name!r}; list them with `gatehouse model list`."
BAD_RANGE = "The time range ends ({until}) before it starts ({since}); swap the dates."
BAD_LIMIT = "Page size {limit} is out of range; use 1 to 1000."
_TEXT_COLUMNS = ("actor", "action", "subject_type", "subject_id", "details")
_WORDS = {
    "model_created": "created model",
    "version_registered": "registered",
    "card_edited": "edited the card of",
    "stage_changed": "moved",
    "evidence_computed": "computed",
    "evidence_reproduced": "reproduced",
    "job_submitted": "queued",
    "job_finished": "finished",
    "job_failed": "failed",
    "job_requeued": "re-queued",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "sign_in_failed": "failed to sign in",
    "sign_in_refused": "was refused sign-in",
    "user_added": "added user",
    "roles_changed": "changed the roles of user",
    "dataset_stored": "stored data set",
    "registration_refused": "was refused registration of",
    "promotion_refused": "was refused moving",
}


@dataclass(frozen=True)
class AuditFilter:
    """What to list: every field narrows; ``text`` must appear in the event (any case)."""

    model: str | None = None
    version_id: int | None = None
    user: str | None = None
    actions: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""


@dataclass(frozen=True)
class AuditRow:
    """One event as people and pipelines read it."""

    sequence: int
    occurred_at: datetime
    user: str
    action: str
    subject: str
    description: str
    details: dict[str, Any]
    hash: str
    prev_hash: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["occurred_at"] = self.occurred_at.isoformat()
        return out


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first; ``next_cursor`` continues with older ones."""

    rows: list[AuditRow]
    next_cursor: int | None
    filters: AuditFilter = field(default_factory=AuditFilter)


def _subjects(session: Session, filters: AuditFilter, problems: list[str]) -> Any:
    """The WHERE clause for events about a model (and its versions, evidence and jobs)."""
    versions = select(ModelVersion.id)
    if filters.model:
        model_id = session.exec(
            select(ModelEntry.id).where(ModelEntry.name == filters.model)
        ).first()
        if model_id is None:
            problems.append(UNKNOWN_MODEL.format(name=filters.model))
            return sa.false()
        versions = versions.where(ModelVersion.model_id == model_id)
    if filters.version_id is not None:
        versions = versions.where(ModelVersion.id == filters.version_id)
    text_id = sa.String(64)
    version_ids = select(sa.cast(col(ModelVersion.id), text_id)).where(
        col(ModelVersion.id).in_(versions)
    )
    evidence_ids = select(sa.cast(col(Evidence.id), text_id)).where(
        col(Evidence.version_id).in_(versions)
    )
    job_ids = select(sa.cast(col(Job.id), text_id)).where(col(Job.version_id).in_(versions))
    about = [
        sa.and_(
            col(AuditEvent.subject_type) == "model_version",
            col(AuditEvent.subject_id).in_(version_ids),
        ),
        sa.and_(
            col(AuditEvent.subject_type) == "evidence", col(AuditEvent.subject_id).in_(evidence_ids)
        ),
        sa.and_(col(AuditEvent.subject_type) == "job", col(AuditEvent.subject_id).in_(job_ids)),
    ]
    if filters.model and filters.version_id is None:
        about.append(
            sa.and_(
                col(AuditEvent.subject_type) == "model",
                col(AuditEvent.subject_id) == sa.cast(model_id, text_id),
            )
        )
    return sa.or_(*about)


def _conditions(session: Session, filters: AuditFilter) -> list[Any]:
    problems: list[str] = []
    where: list[Any] = []
    if filters.model or filters.version_id is not None:
        where.append(_subjects(session, filters, problems))
    if filters.user:
        where.append(col(AuditEvent.actor) == filters.user)
    if filters.actions:
        where.append(col(AuditEvent.action).in_(list(filters.actions)))
    if filters.since and filters.until and filters.until < filters.since:
        problems.append(BAD_RANGE.format(since=filters.since, until=filters.until))
    if filters.since:
        where.append(col(AuditEvent.occurred_at) >= filters.since)
    if filters.until:
        where.append(col(AuditEvent.occurred_at) <= filters.until)
    for word in filters.text.split():
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            sa.or_(
                *(
                    sa.func.lower(getattr(AuditEvent, c)).like(pattern.lower(), escape="\\")
                    for c in _TEXT_COLUMNS
                )
            )
        )
    if problems:
        raise InputProblems(problems)
    return where


class _Names:
    """Model names and version numbers for descriptions, looked up once per page."""

    def __init__(self, session: Session, events: Sequence[AuditEvent]) -> None:
        ids = {int(e.subject_id) for e in events if e.subject_id.isdigit()}
        version_ids = {int(json.loads(e.details).get("version_id") or 0) for e in events} | ids
        self.versions = {
            int(v.id or 0): (name, v.version)
            for v, name in session.exec(
                select(ModelVersion, ModelEntry.name)
                .join(ModelEntry, col(ModelEntry.id) == ModelVersion.model_id)
                .where(col(ModelVersion.id).in_(version_ids))
            ).all()
        }
        self.models = {
            int(i or 0): n
            for i, n in session.exec(
                select(ModelEntry.id, ModelEntry.name).where(col(ModelEntry.id).in_(ids))
            ).all()
        }
        self.users = {
            int(i or 0): n
            for i, n in session.exec(
                select(User.id, User.username).where(col(User.id).in_(ids))
            ).all()
        }
        self.evidence = {
            int(i or 0): int(v)
            for i, v in session.exec(
                select(Evidence.id, Evidence.version_id).where(col(Evidence.id).in_(ids))
            ).all()
        }

    def version(self, version_id: Any) -> str:
        name, number = self.versions.get(int(version_id or 0), (None, None))
        return f"{name} v{number}" if name else f"version #{version_id}"


def describe_event(event: AuditEvent, names: _Names, details: Mapping[str, Any]) -> str:
    """One sentence: "victor computed fairness evidence #12 for credit-gbm v2"."""
    who = event.actor
    verb = _WORDS.get(event.action, event.action.replace("_", " "))
    kind, sid = event.subject_type, event.subject_id
    if kind == "evidence":
        version = details.get("version_id") or names.evidence.get(int(sid or 0))
        what = f"{details.get('kind', '')} evidence #{sid}".strip()
        status = f" ({details['status'].replace('_', ' ')})" if details.get("status") else ""
        return f"{who} {verb} {what} for {names.version(version)}{status}"
    if kind == "model_version":
        if event.action in ("stage_changed", "promotion_refused"):
            return f"{who} {verb} {names.version(sid)} from {details.get('old')} to {details.get('new')}"
        return f"{who} {verb} {names.version(sid)}"
    if kind == "model":
        name = names.models.get(int(sid), sid) if sid.isdigit() else sid
        if event.action == "card_edited":
            fields = ", ".join(sorted(details.get("changes", {}))) or "no field"
            return f"{who} {verb} {name} ({fields})"
        return f"{who} {verb} {name}"
    if kind == "job":
        job_kind = details.get("kind", "")
        return f"{who} {verb} {job_kind} job #{sid}".replace("  ", " ")
    if kind == "user":
        target = names.users.get(int(sid), sid) if sid.isdigit() else sid
        if event.action in ("sign_in", "sign_out", "sign_in_failed"):
            return f"{target} {verb}" if who == "system" else f"{who} {verb}"
        return f"{who} {verb} {target}"
    return f"{who} {verb} {kind} {sid}"


def _rows(session: Session, events: Sequence[AuditEvent]) -> list[AuditRow]:
    names = _Names(session, events)
    out = []
    for e in events:
        details = json.loads(e.details)
        out.append(
            AuditRow(
                sequence=int(e.id or 0),
                occurred_at=e.occurred_at,
                user=e.actor,
                action=e.action,
                subject=f"{e.subject_type} {e.subject_id}",
                description=describe_event(e, names, details),
                details=details,
                hash=e.hash,
                prev_hash=e.prev_hash,
            )
        )
    return out


def query_events(
    *,
    session: Session,
    actor: Actor,
    filters: AuditFilter,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Events matching ``filters``, newest first, older than sequence ``before`` (keyset)."""
    require_role(session, actor, "read the audit trail", *AUDIT_ROLES)
    if not 1 <= limit <= 1000:
        raise InputProblems([BAD_LIMIT.format(limit=limit)])
    where = _conditions(session, filters)
    if before is not None:
        where.append(col(AuditEvent.id) < before)
    events = session.exec(
        select(AuditEvent).where(*where).order_by(col(AuditEvent.id).desc()).limit(limit + 1)
    ).all()
    more = len(events) > limit
    rows = _rows(session, events[:limit])
    return AuditPage(
        rows=rows, next_cursor=rows[-1].sequence if more and rows else None, filters=filters
    )


def model_history(*, session: Session, model: str, limit: int = 500) -> list[AuditRow]:
    """Every event about a model, its versions, their evidence and jobs, newest first.

    Readable by everyone who reads the model page (as its card and versions are); the whole
    trail, with every user's sign-ins, needs ``AUDIT_ROLES`` (``query_events``).
    """
    where = _conditions(session, AuditFilter(model=model))
    events = session.exec(
        select(AuditEvent).where(*where).order_by(col(AuditEvent.id).desc()).limit(limit)
    ).all()
    return _rows(session, events)


def iter_events(*, session: Session, actor: Actor, filters: AuditFilter) -> Iterator[AuditRow]:
    """Every matching event, newest first, a page at a time (for exports)."""
    before = None
    while True:
        page = query_events(
            session=session, actor=actor, filters=filters, before=before, limit=1000
        )
        yield from page.rows
        if page.next_cursor is None:
            return
        before = page.next_cursor


def export_events_csv(*, session: Session, actor: Actor, filters: AuditFilter) -> bytes:
    """The matching events as CSV (UTF-8 with BOM for spreadsheets); cells that a spreadsheet
    would run as a formula are prefixed with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "sequence",
            "occurred_at_utc",
            "user",
            "action",
            "subject",
            "description",
            "hash",
            "prev_hash",
        ]
    )

    def cell(value: str) -> str:
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    for row in iter_events(session=session, actor=actor, filters=filters):
        writer.writerow(
            [
                row.sequence,
                row.occurred_at.isoformat(),
                cell(row.user),
                row.action,
                cell(row.subject),
                cell(row.description),
                row.hash,
                row.prev_hash,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def audit_actions(*, session: Session) -> list[str]:
    """Every action that occurs in the trail, for filter pickers."""
    return sorted(str(a) for a in session.exec(select(AuditEvent.action).distinct()).all())

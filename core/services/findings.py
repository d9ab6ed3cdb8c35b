"""The findings register: raising a finding on a version, and every change to it after.

Anyone with a role on the model raises and works on findings (SMEs, validators, monitoring as
the operator or the ingesting user). Closing or accepting the risk of a high or critical finding
is a signing act of a risk manager (re-authentication, stated meaning, manifest hash), as is
lowering such a finding's severity. Each change appends a history row and an audit event and
flushes; the edge commits. The model's open-findings count follows in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from core.domain import FindingSeverity, FindingStatus, FindingType
from core.errors import InputProblems, NotFound, PermissionDenied
from core.rules.findings import (
    BLOCKING_SEVERITIES,
    OPEN_STATUSES,
    is_open,
    needs_risk_manager,
    needs_signature,
    transition_allowed,
)
from core.services.audit import append_event
from core.services.finding_views import FindingView, load_view, status_label
from core.services.model_roles import require_role_on_model
from core.services.model_snapshots import record_snapshot
from core.services.notifications import notify_roles, notify_users
from core.services.permissions import Actor, Operator, Role, roles_of
from core.services.signatures import confirm_signer, manifest_hash, require_meaning
from core.tables import Finding, FindingChange, ModelEntry, ModelVersion, User, utcnow

__all__ = [
    "DEFAULT_DUE_DAYS",
    "FindingUpdate",
    "raise_finding",
    "suggested_meaning",
    "update_finding",
]

#: Days to remediate by severity when the raiser gives no due date.
DEFAULT_DUE_DAYS = {"low": 90, "medium": 60, "high": 30, "critical": 14}

NO_VERSION = "There is no model version {id}; list versions with `gatehouse model list`."
UNKNOWN = "Unknown {what} {value!r}; choose from: {choices}."
NO_DESCRIPTION = "A finding needs a description of the problem; say what was seen and where."
BLANK_LINK = "Evidence link {n} is empty; give a batch, a record id, an explanation or a URL."
NO_OWNER = "There is no user with id {id} to own the finding; choose an active user."
INACTIVE_OWNER = "{name} is deactivated, so cannot own the finding; choose an active user."
BAD_MOVE = (
    "Finding {id} is {status}, so it cannot become {new}; from {status} it can become {allowed}."
)
NOTHING_CHANGED = (
    "Nothing to change on finding {id}; give a new status, severity, owner, due date or plan."
)
STALE = (
    "Finding {id} changed while you were editing it (now revision {now}, you saw {seen}); "
    "reload it and make your change again."
)
SIGNER_NEEDED = (
    "{change} finding {id} ({severity}) is a signing act of a risk manager; {who} is not one, "
    "so ask a risk manager to sign it."
)
OPERATOR_CANNOT_SIGN = (
    "{change} finding {id} ({severity}) is a person's signed act; sign in as a risk manager "
    "instead of acting as the operator."
)
ACCEPT_NEEDS_RISK_MANAGER = (
    "Accepting the risk of finding {id} is a risk manager's decision; {who} is not one, so "
    "ask a risk manager."
)
_MEANING = {
    FindingStatus.resolved: "I confirm finding {id} on version {version} of {model} is resolved",
    FindingStatus.risk_accepted: (
        "I accept the risk of finding {id} on version {version} of {model}"
    ),
}
_LOWER_MEANING = (
    "I lower the severity of finding {id} on version {version} of {model} to {severity}"
)


@dataclass(frozen=True)
class FindingUpdate:
    """What a change to a finding asks for; None leaves a field as it is."""

    status: str | None = None
    severity: str | None = None
    owner_id: int | None = None
    due: date | None = None
    remediation_plan: str | None = None
    comment: str = ""
    expected_revision: int | None = None


def _choice(problems: list[str], what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        problems.append(UNKNOWN.format(what=what, value=value, choices=", ".join(choices)))


def _owner_problems(session: Session, owner_id: int | None) -> list[str]:
    if owner_id is None:
        return []
    owner = session.get(User, owner_id)
    if owner is None:
        return [NO_OWNER.format(id=owner_id)]
    if not owner.is_active:
        return [INACTIVE_OWNER.format(name=owner.username)]
    return []


def _actor_name(actor: Actor) -> str:
    return actor.display_name if isinstance(actor, User) else actor.username


def _refresh_open_count(session: Session, model_id: int) -> None:
    """Keep the inventory's open-findings column (and its snapshot) in step with the register."""
    count = session.exec(
        select(func.count())
        .select_from(Finding)
        .where(
            col(Finding.model_id) == model_id,
            col(Finding.status).in_([s.value for s in OPEN_STATUSES]),
        )
    ).one()
    model = session.get(ModelEntry, model_id)
    assert model is not None
    if model.open_findings != int(count):
        model.open_findings = int(count)
        record_snapshot(session, model)


def _notify_raised(session: Session, row: Finding, model: str) -> None:
    subject = f"New {row.severity} finding on {model}: {row.type.replace('_', ' ')}"
    body = f"Finding {row.id} on {model}: {row.description[:500]}"
    link = f"findings?finding={row.id}"
    if row.owner_id is not None and (owner := session.get(User, row.owner_id)) is not None:
        notify_users(session, [owner], kind="finding_raised", subject=subject, body=body, link=link)
    if row.severity in BLOCKING_SEVERITIES:
        notify_roles(
            session,
            [Role.risk_manager],
            kind="finding_raised",
            subject=subject,
            body=body,
            link=link,
        )


def raise_finding(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    type: str,
    severity: str,
    description: str,
    evidence_links: Sequence[str] = (),
    owner_id: int | None = None,
    due: date | None = None,
) -> FindingView:
    """Raise a finding on a version; flushes it, its first history row and the audit event.

    ``evidence_links`` point at what shows the problem (a monitoring batch, a record id, an
    explanation, a URL). The owner defaults to the model's owner and the due date to
    ``DEFAULT_DUE_DAYS`` for the severity. The caller commits.
    """
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(NO_VERSION.format(id=version_id))
    model = session.get(ModelEntry, version.model_id)
    assert model is not None and model.id is not None
    require_role_on_model(session, actor, model, "raise a finding")
    problems: list[str] = []
    _choice(problems, "finding type", type, [t.value for t in FindingType])
    _choice(problems, "severity", severity, [s.value for s in FindingSeverity])
    description = (description or "").strip()
    if not description:
        problems.append(NO_DESCRIPTION)
    links = [str(link).strip() for link in evidence_links]
    problems += [BLANK_LINK.format(n=i) for i, link in enumerate(links, 1) if not link]
    owner_id = owner_id if owner_id is not None else model.owner_id
    problems += _owner_problems(session, owner_id)
    if problems:
        raise InputProblems(problems)
    now = utcnow()
    due = due or (now + timedelta(days=DEFAULT_DUE_DAYS[severity])).date()
    row = Finding(
        model_id=model.id,
        version_id=version_id,
        type=type,
        severity=severity,
        status=FindingStatus.open.value,
        description=description,
        evidence_json=json.dumps(links),
        owner_id=owner_id,
        due_date=due,
        raised_by=actor.id,
        raised_by_name=_actor_name(actor),
        raised_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    fields = {
        "type": type,
        "severity": severity,
        "status": row.status,
        "description": description,
        "evidence_links": links,
        "owner_id": owner_id,
        "due": due.isoformat(),
    }
    session.add(
        FindingChange(
            finding_id=row.id or 0,
            revision=1,
            action="raised",
            changes_json=json.dumps({k: [None, v] for k, v in fields.items()}, sort_keys=True),
            status_after=row.status,
            actor_id=actor.id,
            actor_name=_actor_name(actor),
            changed_at=now,
        )
    )
    append_event(
        session=session,
        actor=actor,
        action="finding_raised",
        subject_type="finding",
        subject_id=str(row.id),
        details={"model": model.name, "version": version.version, "version_id": version_id}
        | fields,
    )
    _refresh_open_count(session, model.id)
    _notify_raised(session, row, model.name)
    session.flush()
    return load_view(session, row.id or 0)


def suggested_meaning(view: FindingView, *, status: str | None, severity: str | None) -> str:
    """The meaning a risk manager is shown and confirms when a change is a signing act."""
    fields = {"id": view.id, "version": view.version, "model": view.model}
    if status is not None and status in _MEANING:
        return _MEANING[FindingStatus(status)].format(**fields) + "."
    return _LOWER_MEANING.format(**fields, severity=severity or view.severity) + "."


def _locked(session: Session, finding_id: int) -> Finding:
    query = select(Finding).where(Finding.id == finding_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None:
        load_view(session, finding_id)  # raises NotFound with the sentence
    assert row is not None
    session.refresh(row)
    return row


def _changes(session: Session, row: Finding, change: FindingUpdate) -> dict[str, list[Any]]:
    problems: list[str] = []
    if change.status is not None:
        _choice(problems, "status", change.status, [s.value for s in FindingStatus])
    if change.severity is not None:
        _choice(problems, "severity", change.severity, [s.value for s in FindingSeverity])
    problems += _owner_problems(session, change.owner_id)
    if problems:
        raise InputProblems(problems)
    wanted: dict[str, Any] = {
        "status": change.status,
        "severity": change.severity,
        "owner_id": change.owner_id,
        "due": change.due.isoformat() if change.due else None,
        "remediation_plan": change.remediation_plan,
    }
    current: dict[str, Any] = {
        "status": row.status,
        "severity": row.severity,
        "owner_id": row.owner_id,
        "due": row.due_date.isoformat() if row.due_date else None,
        "remediation_plan": row.remediation_plan,
    }
    changes = {k: [current[k], v] for k, v in wanted.items() if v is not None and v != current[k]}
    if "status" in changes and not transition_allowed(row.status, changes["status"][1]):
        allowed = sorted(
            status_label(s)
            for s in (s.value for s in FindingStatus)
            if transition_allowed(row.status, s)
        )
        raise InputProblems(
            [
                BAD_MOVE.format(
                    id=row.id,
                    status=status_label(row.status),
                    new=status_label(changes["status"][1]),
                    allowed=" or ".join(allowed),
                )
            ]
        )
    return changes


def update_finding(
    *,
    session: Session,
    actor: Actor,
    finding_id: int,
    change: FindingUpdate,
    password: str | None = None,
    meaning: str = "",
) -> FindingView:
    """Change a finding's status, severity, owner, due date or remediation plan.

    A signing act (see the module) re-authenticates the risk manager with ``password`` first
    and needs the ``meaning`` they confirm; the signed manifest's SHA-256 is kept in the
    history. Flushes the history row and the audit event; the caller commits.
    """
    before = load_view(session, finding_id)
    model = session.get(ModelEntry, before.model_id)
    assert model is not None
    require_role_on_model(session, actor, model, "change a finding")
    preview = _changes(session, _locked(session, finding_id), change)
    new_status = preview.get("status", [None, before.status])[1]
    new_severity = preview.get("severity", [None, before.severity])[1]
    signing = needs_signature(
        status=before.status,
        severity=before.severity,
        new_status=new_status,
        new_severity=new_severity,
    )
    roles = roles_of(session, actor) if isinstance(actor, User) else set()
    what = "Closing" if new_status != before.status else "Lowering the severity of"
    if signing and isinstance(actor, Operator):
        raise PermissionDenied(
            OPERATOR_CANNOT_SIGN.format(change=what, id=finding_id, severity=before.severity)
        )
    if signing and Role.risk_manager not in roles:
        who = actor.username
        raise PermissionDenied(
            SIGNER_NEEDED.format(change=what, id=finding_id, severity=before.severity, who=who)
        )
    if needs_risk_manager(status=before.status, new_status=new_status) and not (
        isinstance(actor, Operator) or Role.risk_manager in roles
    ):
        raise PermissionDenied(ACCEPT_NEEDS_RISK_MANAGER.format(id=finding_id, who=actor.username))
    if signing:
        meaning = require_meaning(
            meaning, suggested_meaning(before, status=new_status, severity=new_severity)
        )
        assert isinstance(actor, User)
        # Re-authentication ends the read transaction (see confirm_signer): nothing is written yet.
        confirm_signer(session=session, user=actor, password=password, act="finding")
    return _apply(session, actor, finding_id, change, signing, meaning)


def _apply(
    session: Session,
    actor: Actor,
    finding_id: int,
    change: FindingUpdate,
    signing: bool,
    meaning: str,
) -> FindingView:
    row = _locked(session, finding_id)
    if change.expected_revision is not None and change.expected_revision != row.revision:
        raise InputProblems(
            [STALE.format(id=finding_id, now=row.revision, seen=change.expected_revision)]
        )
    changes = _changes(session, row, change)
    comment = change.comment.strip()
    if not changes and not comment:
        raise InputProblems([NOTHING_CHANGED.format(id=finding_id)])
    view = load_view(session, finding_id)
    now = utcnow()
    manifest_json, manifest_sha = "", ""
    role = Role.risk_manager.value if signing else ""
    if signing:
        assert isinstance(actor, User)
        manifest = {
            "kind": "gatehouse.finding-signature/1",
            "finding": view.to_dict() | {"overdue": None},
            "changes": changes,
            "signer": actor.username,
            "printed_name": actor.display_name,
            "role": role,
            "meaning": meaning,
            "comment": comment,
            "signed_at": now,
        }
        manifest_json, manifest_sha = manifest_hash(manifest)
    for field, (_, new) in changes.items():
        if field == "due":
            row.due_date = date.fromisoformat(new)
        else:
            setattr(row, field, new)
    if "status" in changes:
        row.closed_at = None if is_open(row.status) else now
    row.revision += 1
    row.updated_at = now
    session.add(row)
    session.add(
        FindingChange(
            finding_id=finding_id,
            revision=row.revision,
            action="signed" if signing else ("changed" if changes else "commented"),
            changes_json=json.dumps(changes, sort_keys=True),
            status_after=row.status,
            comment=comment,
            actor_id=actor.id,
            actor_name=_actor_name(actor),
            signed=signing,
            role=role,
            meaning=meaning if signing else "",
            manifest_json=manifest_json,
            manifest_sha256=manifest_sha,
            changed_at=now,
        )
    )
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="finding_signed" if signing else "finding_updated",
        subject_type="finding",
        subject_id=str(finding_id),
        details={
            "model": view.model,
            "version": view.version,
            "revision": row.revision,
            "changes": changes,
            "comment": comment,
            "meaning": meaning if signing else "",
            "manifest_sha256": manifest_sha,
        },
    )
    _refresh_open_count(session, row.model_id)
    session.flush()
    return load_view(session, finding_id)

"""Reminders for overdue findings: the owner of each open finding past its due date hears of it
once a day. The workers' idle loop runs this (``core.services.housekeeping``)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.rules.findings import OPEN_STATUSES
from core.services.notifications import notify_users
from core.tables import Finding, ModelEntry, Notification, User, utcnow

__all__ = ["remind_overdue_findings"]


def remind_overdue_findings(*, session: Session) -> int:
    """Notify each overdue open finding's owner (the model's owner if it has none), at most
    once a day per finding; returns how many reminders were written. Flushes; the caller
    commits."""
    now = utcnow()
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    overdue = session.exec(
        select(Finding, ModelEntry.name, ModelEntry.owner_id)
        .join(ModelEntry, col(ModelEntry.id) == col(Finding.model_id))
        .where(
            col(Finding.status).in_([s.value for s in OPEN_STATUSES]),
            col(Finding.due_date) < now.date(),
        )
        .order_by(col(Finding.id))
    ).all()
    sent = 0
    for finding, model, model_owner in overdue:
        link = f"findings?finding={finding.id}"
        already = session.exec(
            select(Notification.id).where(
                Notification.kind == "finding_overdue",
                Notification.link == link,
                col(Notification.created_at) >= start_of_day,
            )
        ).first()
        owner = session.get(User, finding.owner_id or model_owner or 0)
        if already is not None or owner is None:
            continue
        sent += notify_users(
            session,
            [owner],
            kind="finding_overdue",
            subject=f"Overdue: {finding.severity} finding {finding.id} on {model}",
            body=(
                f"Finding {finding.id} on {model} was due on {finding.due_date:%Y-%m-%d} and is "
                f"still {finding.status.replace('_', ' ')}: {finding.description[:300]}"
            ),
            link=link,
        )
    return sent

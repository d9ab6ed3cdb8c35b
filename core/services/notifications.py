"""Notifications: an inbox per user, and e-mail through an outbox when SMTP is configured.

Writing a notification and its outbox message happens in the transaction of the act that
caused it, so a rolled-back act notifies nobody. Delivery is separate and at-least-once: a
worker claims pending messages one by one (a compare-and-set on ``state``), sends them to
``GATEHOUSE_SMTP_URL`` (``smtp://host:port`` or ``smtps://user:password@host:port``) and marks
them sent, so several workers never send the same message twice.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import InputProblems
from core.tables import Notification, OutboxMessage, User, UserRole, utcnow

__all__ = [
    "BAD_SMTP_URL",
    "InboxItem",
    "deliver_outbox",
    "inbox",
    "mark_read",
    "notify_roles",
    "notify_users",
    "smtp_url",
]

SENDER = "gatehouse@localhost"
BAD_SMTP_URL = (
    "GATEHOUSE_SMTP_URL={url!r} is not an SMTP URL; write it as smtp://host:25 or "
    "smtps://user:password@host:465."
)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class InboxItem:
    """One notification as a page shows it."""

    id: int
    kind: str
    subject: str
    body: str
    link: str
    created_at: datetime
    read: bool


def smtp_url() -> str | None:
    """The configured SMTP server, or None when e-mail is off."""
    return os.environ.get("GATEHOUSE_SMTP_URL") or None


def notify_users(
    session: Session, users: Iterable[User], *, kind: str, subject: str, body: str, link: str = ""
) -> int:
    """Put a notification in each user's inbox (and the outbox for those with an e-mail)."""
    count = 0
    for user in {u.id: u for u in users if u.is_active}.values():
        note = Notification(
            user_id=user.id or 0, kind=kind, subject=subject[:300], body=body, link=link[:500]
        )
        session.add(note)
        session.flush()
        if user.email:
            session.add(
                OutboxMessage(
                    notification_id=note.id or 0,
                    to_address=user.email,
                    subject=subject[:300],
                    body=body + (f"\n\n{link}" if link else ""),
                )
            )
        count += 1
    session.flush()
    return count


def notify_roles(
    session: Session, roles: Sequence[str], *, kind: str, subject: str, body: str, link: str = ""
) -> int:
    """Notify every active holder of any of these roles."""
    if not roles:
        return 0
    users = session.exec(
        select(User)
        .join(UserRole, col(UserRole.user_id) == col(User.id))
        .where(col(UserRole.role).in_(list(roles)), col(User.is_active))
    ).all()
    return notify_users(session, users, kind=kind, subject=subject, body=body, link=link)


def inbox(*, session: Session, user: User, limit: int = 50) -> list[InboxItem]:
    """The user's newest notifications, unread first."""
    rows = session.exec(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(col(Notification.read_at).is_not(None), col(Notification.id).desc())
        .limit(limit)
    ).all()
    return [
        InboxItem(r.id or 0, r.kind, r.subject, r.body, r.link, r.created_at, r.read_at is not None)
        for r in rows
    ]


def mark_read(*, session: Session, user: User, notification_ids: Sequence[int]) -> None:
    """Mark the user's own notifications read (others' are left alone)."""
    session.execute(
        sa.update(Notification)
        .where(
            col(Notification.user_id) == user.id,
            col(Notification.id).in_(list(notification_ids)),
            col(Notification.read_at).is_(None),
        )
        .values(read_at=utcnow())
    )
    session.flush()


def _checked(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise InputProblems([BAD_SMTP_URL.format(url=url)])
    return url


def _connect(url: str) -> smtplib.SMTP:
    parsed = urlparse(url)
    cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    client = cls(
        parsed.hostname or "", parsed.port or (465 if parsed.scheme == "smtps" else 25), timeout=30
    )
    if parsed.username:
        client.login(unquote(parsed.username), unquote(parsed.password or ""))
    return client


def deliver_outbox(*, session: Session, url: str, limit: int = 100) -> int:
    """Send pending e-mails; returns how many were sent. Commits per message (named exception:
    a message sent must be marked sent at once, whatever happens to the next one)."""
    _checked(url)
    sent = 0
    client: smtplib.SMTP | None = None
    try:
        for message_id in session.exec(
            select(OutboxMessage.id)
            .where(OutboxMessage.state == "pending")
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all():
            claimed = session.execute(
                sa.update(OutboxMessage)
                .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.state) == "pending")
                .values(state="sending", attempts=OutboxMessage.attempts + 1)
            )
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            message = session.get(OutboxMessage, message_id)
            assert message is not None
            email = EmailMessage()
            email["From"], email["To"], email["Subject"] = (
                SENDER,
                message.to_address,
                message.subject,
            )
            email.set_content(message.body)
            try:
                client = client or _connect(url)
                client.send_message(email)
            except (OSError, smtplib.SMTPException) as err:
                message.state = "pending" if message.attempts < MAX_ATTEMPTS else "failed"
                message.last_error = str(err)[:1000]
                client = None
            else:
                message.state, message.sent_at = "sent", utcnow()
                sent += 1
            session.add(message)
            session.commit()
    finally:
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
    return sent

"""Notifications reach the inbox in the act's transaction, and e-mail goes out through a real
SMTP server on loopback, once per message, whatever number of delivery runs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from core.errors import InputProblems
from core.services.notifications import BAD_SMTP_URL, deliver_outbox, inbox, mark_read, notify_roles
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import OutboxMessage


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, _Collect]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", handler
    finally:
        controller.stop()


def test_inbox_and_email_delivery_through_a_loopback_smtp_server(
    session: Session, smtp: tuple[str, _Collect]
) -> None:
    url, server = smtp
    rita = add_user(
        session=session,
        actor=OPERATOR,
        username="rita",
        password="x" * 12,
        roles=["risk_manager"],
        email="rita@example.org",
    )
    sam = add_user(
        session=session, actor=OPERATOR, username="sam", password="x" * 12, roles=["sme"]
    )
    session.commit()
    sent = notify_roles(
        session,
        ["risk_manager", "sme"],
        kind="gate_approved",
        subject="Validation gate of credit-gbm v1 approved",
        body="Approved by vera.",
        link="gate?version=1&gate=validation",
    )
    session.commit()
    assert sent == 2
    assert [n.subject for n in inbox(session=session, user=sam)] == [
        "Validation gate of credit-gbm v1 approved"
    ]
    assert len(session.exec(select(OutboxMessage)).all()) == 1  # sam has no e-mail address
    assert deliver_outbox(session=session, url=url) == 1
    assert deliver_outbox(session=session, url=url) == 0  # never twice
    ((rcpt, message),) = server.messages
    assert rcpt == ["rita@example.org"]
    assert message["Subject"] == "Validation gate of credit-gbm v1 approved"
    assert "Approved by vera." in message.get_payload()
    assert session.exec(select(OutboxMessage)).one().state == "sent"
    item = inbox(session=session, user=rita)[0]
    assert not item.read
    mark_read(session=session, user=sam, notification_ids=[item.id])  # not sam's: unchanged
    session.commit()
    assert not inbox(session=session, user=rita)[0].read
    mark_read(session=session, user=rita, notification_ids=[item.id])
    session.commit()
    assert inbox(session=session, user=rita)[0].read


def test_an_unreachable_server_leaves_messages_pending_and_a_bad_url_is_one_sentence(
    session: Session,
) -> None:
    add_user(
        session=session,
        actor=OPERATOR,
        username="rita",
        password="x" * 12,
        roles=["risk_manager"],
        email="rita@example.org",
    )
    notify_roles(session, ["risk_manager"], kind="k", subject="s", body="b")
    session.commit()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert deliver_outbox(session=session, url=f"smtp://127.0.0.1:{closed}") == 0
    message = session.exec(select(OutboxMessage)).one()
    assert message.state == "pending" and message.attempts == 1 and message.last_error
    with pytest.raises(InputProblems) as err:
        deliver_outbox(session=session, url="http://example.org")
    assert err.value.problems == [BAD_SMTP_URL.format(url="http://example.org")]


def test_housekeeping_takes_the_daily_checkpoint_reminds_and_sends(
    session: Session, smtp: tuple[str, _Collect], monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.services.housekeeping import run_housekeeping
    from core.tables import AuditCheckpoint

    url, server = smtp
    monkeypatch.setenv("GATEHOUSE_SMTP_URL", url)
    add_user(
        session=session,
        actor=OPERATOR,
        username="rita",
        password="x" * 12,
        roles=["risk_manager"],
        email="rita@example.org",
    )
    notify_roles(session, ["risk_manager"], kind="k", subject="Your turn", body="b")
    session.commit()
    run_housekeeping(force=True)
    run_housekeeping(force=True)
    session.expire_all()
    assert len(session.exec(select(AuditCheckpoint)).all()) == 1  # daily, not per run
    assert [m["Subject"] for _, m in server.messages] == ["Your turn"]

"""What workers do while the queue is empty: the daily signed checkpoint, reminders for overdue
gates and overdue findings, and e-mail delivery when SMTP is configured.

Each step is safe to run from every worker at once: the checkpoint and reminders look in the
database for today's, and outbox messages are claimed one by one.
"""

from __future__ import annotations

import logging
import time

from core.db import session_scope
from core.services.checkpoints import ensure_daily_checkpoint
from core.services.finding_reminders import remind_overdue_findings
from core.services.notifications import deliver_outbox, smtp_url
from core.services.reviews import remind_overdue

__all__ = ["EVERY_SECONDS", "run_housekeeping"]

EVERY_SECONDS = 60.0
log = logging.getLogger(__name__)
_last = 0.0


def run_housekeeping(*, force: bool = False) -> None:
    """Run the idle-time duties, at most once a minute per process unless ``force``."""
    global _last
    if not force and time.monotonic() - _last < EVERY_SECONDS:
        return
    _last = time.monotonic()
    with session_scope() as session:
        if ensure_daily_checkpoint(session):
            log.info("Took the daily signed audit checkpoint")
    with session_scope() as session:
        if sent := remind_overdue(session=session):
            log.info("Reminded %d people of overdue gates", sent)
    with session_scope() as session:
        if sent := remind_overdue_findings(session=session):
            log.info("Reminded %d owners of overdue findings", sent)
    if url := smtp_url():
        with session_scope() as session:
            if sent := deliver_outbox(session=session, url=url):
                log.info("Sent %d notification e-mails", sent)

"""Findings that block gate approvals: open findings of high or critical severity.

Gates ask this module on every approval (``core.services.gates``), so no gate of a version is
approved while such a finding is open on it; a risk manager's signed act closes it.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.rules.findings import BLOCKING_SEVERITIES, OPEN_STATUSES
from core.tables import Finding

__all__ = ["BLOCKS", "blocking"]

BLOCKS = (
    "Finding {id} ({severity}, {type}) is {status} on this version: {description} A risk manager "
    "must resolve it or accept its risk, signed, before any gate is approved."
)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def blocking(session: Session, version_id: int) -> list[str]:
    """One sentence per open high or critical finding on the version, oldest first."""
    rows = session.exec(
        select(Finding)
        .where(
            col(Finding.version_id) == version_id,
            col(Finding.status).in_([s.value for s in OPEN_STATUSES]),
            col(Finding.severity).in_([s.value for s in BLOCKING_SEVERITIES]),
        )
        .order_by(col(Finding.id))
    ).all()
    return [
        BLOCKS.format(
            id=r.id,
            severity=r.severity,
            type=r.type.replace("_", " "),
            status=r.status.replace("_", " "),
            description=_short(r.description),
        )
        for r in rows
    ]

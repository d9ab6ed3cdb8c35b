"""Findings that block gate approvals: open findings of high or critical severity.

Gates ask this module on every approval. Until the findings register exists there are no
findings, so nothing blocks; the register answers here once it is built.
"""

from __future__ import annotations

from sqlmodel import Session

__all__ = ["blocking"]


def blocking(session: Session, version_id: int) -> list[str]:
    """One sentence per open high or critical finding on the version (none yet)."""
    del session, version_id
    return []

"""What happened to a model: its audit events, newest first."""

from __future__ import annotations

import json

from sqlmodel import Session

from core.services.audit import events_for
from core.services.inventory.results import ActivityEntry
from core.services.inventory.versions import list_versions

__all__ = ["model_activity"]


def model_activity(*, session: Session, model_id: int, limit: int = 200) -> list[ActivityEntry]:
    """Audit events about a model and its versions, newest first."""
    version_ids = [str(v.id) for v in list_versions(session=session, model_id=model_id)]
    events = events_for(
        session=session, subject_type="model", subject_ids=[str(model_id)], limit=limit
    )
    events += events_for(
        session=session, subject_type="model_version", subject_ids=version_ids, limit=limit
    )
    events.sort(key=lambda e: e.id or 0, reverse=True)
    return [
        ActivityEntry(
            when=e.occurred_at, who=e.actor, action=e.action, details=json.loads(e.details)
        )
        for e in events[:limit]
    ]

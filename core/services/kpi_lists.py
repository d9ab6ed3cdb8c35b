"""The lists behind governance figures that ``core.services.kpis`` returns as counts only:
the drift alerts of the last 30 days, newest first, so the dashboard's drift figure opens onto
the models it counts. One query with bound parameters; everyone signed in may read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from core.domain import FindingType
from core.services.kpis import DRIFT_WINDOW_DAYS, LIST_LIMIT
from core.services.permissions import EVERY_ROLE, Actor, require_role
from core.tables import Finding, ModelEntry, ModelVersion, utcnow

__all__ = ["DriftAlert", "drift_alert_list"]


@dataclass(frozen=True)
class DriftAlert:
    """A drift finding raised on a version, with its model, severity and status."""

    finding_id: int
    model_id: int
    model: str
    version_id: int
    version: int
    severity: str
    status: str
    raised_at: datetime


def drift_alert_list(
    *,
    session: Session,
    actor: Actor,
    now: datetime | None = None,
    days: int = DRIFT_WINDOW_DAYS,
    limit: int = LIST_LIMIT,
) -> tuple[DriftAlert, ...]:
    """The ``limit`` newest drift findings raised in the ``days`` days before ``now``: the
    same findings ``kpis.drift_alerts`` counts."""
    require_role(session, actor, "read the governance KPIs", *EVERY_ROLE)
    now = now or utcnow()
    rows = session.execute(
        sa.select(
            col(Finding.id),
            col(Finding.model_id),
            col(ModelEntry.name),
            col(Finding.version_id),
            col(ModelVersion.version),
            col(Finding.severity),
            col(Finding.status),
            col(Finding.raised_at),
        )
        .join(ModelEntry, col(ModelEntry.id) == col(Finding.model_id))
        .join(ModelVersion, col(ModelVersion.id) == col(Finding.version_id))
        .where(
            col(Finding.type) == FindingType.drift.value,
            col(Finding.raised_at) >= now - timedelta(days=days),
        )
        .order_by(col(Finding.raised_at).desc(), col(Finding.id).desc())
        .limit(limit)
    ).all()
    return tuple(DriftAlert(*row) for row in rows)

"""The portfolio dashboard's figures: models and their evidence, waiting jobs, the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from core.services.evidence import evidence_overview
from core.services.permissions import Role, require_role
from core.tables import AuditEvent, Job, User

__all__ = ["DashboardSummary", "ModelEvidenceStatus", "dashboard_summary"]

_PENDING = ("queued", "running")


@dataclass(frozen=True)
class ModelEvidenceStatus:
    """A model's current version and the status of its newest evidence of each kind."""

    model_id: int
    model: str
    stage: str
    performance: str | None
    fairness: str | None
    explanation: str | None

    @property
    def failing(self) -> bool:
        return "fail" in (self.performance, self.fairness)

    @property
    def missing(self) -> bool:
        return "not computed" in (self.performance, self.fairness)


@dataclass(frozen=True)
class DashboardSummary:
    """Where the models stand, how much work waits, and how long the audit trail is."""

    models: tuple[ModelEvidenceStatus, ...]
    jobs_by_state: dict[str, int]
    audit_events: int

    @property
    def in_production(self) -> int:
        return sum(m.stage == "production" for m in self.models)

    @property
    def failing(self) -> tuple[ModelEvidenceStatus, ...]:
        return tuple(m for m in self.models if m.failing)

    @property
    def missing(self) -> tuple[ModelEvidenceStatus, ...]:
        return tuple(m for m in self.models if m.missing)

    @property
    def jobs_pending(self) -> int:
        return sum(self.jobs_by_state.values())


def dashboard_summary(*, session: Session, actor: User) -> DashboardSummary:
    """The dashboard's figures, read in a few aggregate queries; everyone signed in may read them."""
    require_role(session, actor, "read the dashboard", *[r.value for r in Role])
    jobs = session.exec(
        select(Job.state, func.count()).where(col(Job.state).in_(_PENDING)).group_by(col(Job.state))
    ).all()
    events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    models = tuple(
        ModelEvidenceStatus(
            model_id=m["model_id"],
            model=m["model"],
            stage=m["stage"],
            performance=m["performance"],
            fairness=m["fairness"],
            explanation=m["explanation"],
        )
        for m in evidence_overview(session=session)
    )
    return DashboardSummary(
        models=models,
        jobs_by_state={str(state): int(n) for state, n in jobs},
        audit_events=int(events),
    )

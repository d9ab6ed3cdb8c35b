"""Typed results of the governance KPIs (``core.services.kpis``): each figure with the list of
models, gates, findings or waivers behind it, so every number on the dashboard can open its
list. Times are UTC; durations are in days."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

__all__ = [
    "ApprovalTime",
    "FindingAgeCount",
    "GovernanceKpis",
    "ModelRef",
    "TeamFirstTime",
    "TierStageCount",
    "WaitingGate",
    "WaiverRef",
]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class TierStageCount:
    """How many models of a tier stand at a stage (their production version counts first)."""

    tier: str
    stage: str
    models: int


@dataclass(frozen=True)
class ModelRef:
    """A model in a KPI's list, with why it is there (``detail``) and a date where one applies."""

    model_id: int
    model: str
    tier: str
    business_unit: str
    detail: str
    when: datetime | None = None


@dataclass(frozen=True)
class WaitingGate:
    """A submitted gate waiting for its approvers, and for how long."""

    version_id: int
    model: str
    version: int
    gate_id: str
    tier: str
    waiting_since: datetime
    age_days: float


@dataclass(frozen=True)
class ApprovalTime:
    """Time from a gate's first submission to its approval, for one gate and tier."""

    gate_id: str
    tier: str
    approvals: int
    median_days: float
    p90_days: float


@dataclass(frozen=True)
class TeamFirstTime:
    """A team's (business unit's) approved gates, and how many passed without a rejection."""

    team: str
    approved: int
    first_time: int

    @property
    def rate(self) -> float:
        return self.first_time / self.approved if self.approved else 0.0


@dataclass(frozen=True)
class FindingAgeCount:
    """Open findings of one severity in one age band ("under 30 days", ...)."""

    severity: str
    age_band: str
    findings: int


@dataclass(frozen=True)
class WaiverRef:
    """A waiver in force: which check on which gate, until when."""

    version_id: int
    model: str
    gate_id: str
    check: str
    expires_at: datetime
    expiring: bool


@dataclass(frozen=True)
class GovernanceKpis:
    """Every governance figure of the dashboard, as of one moment."""

    as_of: datetime
    models_by_tier_stage: tuple[TierStageCount, ...]
    production_without_approvals: tuple[ModelRef, ...]
    overdue_reviews: tuple[ModelRef, ...]
    overdue_reviews_total: int
    waiting_gates: tuple[WaitingGate, ...]
    waiting_gates_total: int
    approval_times: tuple[ApprovalTime, ...]
    approved_gates: int
    first_time_approved: int
    teams: tuple[TeamFirstTime, ...]
    open_findings: tuple[FindingAgeCount, ...]
    overdue_findings: int
    drift_alerts_30d: int
    waivers: tuple[WaiverRef, ...]

    @property
    def models(self) -> int:
        return sum(c.models for c in self.models_by_tier_stage)

    @property
    def first_time_rate(self) -> float | None:
        return self.first_time_approved / self.approved_gates if self.approved_gates else None

    @property
    def open_findings_total(self) -> int:
        return sum(c.findings for c in self.open_findings)

    @property
    def waivers_expiring(self) -> int:
        return sum(w.expiring for w in self.waivers)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_time_rate"] = self.first_time_rate
        data["teams"] = [asdict(t) | {"rate": t.rate} for t in self.teams]
        return dict(_plain(data))

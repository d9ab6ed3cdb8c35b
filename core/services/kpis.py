"""Governance KPIs: is the process followed, and does it work?

Models by tier and stage; models in production without every required gate approved; overdue
periodic reviews; gates waiting, with age; time from submission to approval per gate and tier;
first-time approval rate, overall and per team; open findings by severity and age; drift alerts
of the last 30 days; waivers in force and expiring. Aggregations run in SQL with bound
parameters; percentiles are computed here over the durations SQL returns. Each figure comes
with the list behind it (``core.services.kpi_results``). Everyone signed in may read them.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.domain import FindingSeverity, FindingType
from core.rules.findings import OPEN_STATUSES
from core.rules.gates import GATE_IDS, GateState
from core.rules.promotion import gates_needed_for
from core.services.kpi_results import (
    ApprovalTime,
    FindingAgeCount,
    GovernanceKpis,
    ModelRef,
    TeamFirstTime,
    TierStageCount,
    WaitingGate,
    WaiverRef,
)
from core.services.permissions import EVERY_ROLE, Actor, require_role
from core.tables import Finding, Gate, GateAct, ModelEntry, ModelVersion, Waiver, utcnow

__all__ = [
    "AGE_BANDS",
    "EXPIRING_DAYS",
    "UNASSESSED",
    "approvals",
    "drift_alerts",
    "governance_kpis",
    "models_by_tier_stage",
    "open_findings_by_age",
    "overdue_reviews",
    "percentile",
    "production_without_approvals",
    "waiting_gates",
    "waivers_in_force",
]

UNASSESSED = "unassessed"
#: Waivers ending within this many days count as expiring.
EXPIRING_DAYS = 30
#: Age bands of open findings: (label, raised at least this many days ago).
AGE_BANDS = (("under 30 days", 0), ("30 to 90 days", 30), ("90 days or more", 90))
DRIFT_WINDOW_DAYS = 30
TIER_ORDER = ("low", "medium", "high", "critical")
_DAY = 86400.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks, the
    definition numpy uses by default; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * _DAY


def _stage() -> Any:
    return sa.case(
        (col(ModelEntry.production_version_id).is_not(None), "production"),
        else_=col(ModelEntry.current_stage),
    )


def models_by_tier_stage(session: Session) -> tuple[TierStageCount, ...]:
    """Model counts per tier and stage; a model with a production version counts there."""
    tier = func.coalesce(col(ModelEntry.risk_tier), UNASSESSED)
    inner = select(tier.label("tier"), _stage().label("stage")).subquery()
    rows = session.execute(
        sa.select(inner.c.tier, inner.c.stage, func.count())
        .group_by(inner.c.tier, inner.c.stage)
        .order_by(inner.c.tier, inner.c.stage)
    ).all()
    return tuple(TierStageCount(str(t), str(s), int(n)) for t, s, n in rows)


def production_without_approvals(session: Session) -> tuple[ModelRef, ...]:
    """Models whose production version lacks an approval of a gate production needs."""
    prod = col(ModelEntry.production_version_id)
    any_gate = select(Gate.id).where(col(Gate.version_id) == prod)
    open_gate = any_gate.where(col(Gate.state) != GateState.approved.value)
    suspects = session.exec(
        select(ModelEntry)
        .where(prod.is_not(None), sa.or_(~any_gate.exists(), open_gate.exists()))
        .order_by(col(ModelEntry.name))
    ).all()
    gates: dict[int, list[tuple[str, str, str | None]]] = defaultdict(list)
    if suspects:
        for version_id, gate_id, state, spec_json in session.exec(
            select(Gate.version_id, Gate.gate_id, Gate.state, Gate.spec_json)
            .where(col(Gate.version_id).in_([m.production_version_id for m in suspects]))
            .order_by(col(Gate.version_id), col(Gate.position))
        ).all():
            gates[version_id].append((gate_id, state, json.loads(spec_json).get("unlocks_stage")))
    out = []
    for model in suspects:
        own = gates.get(model.production_version_id or 0, [])
        needed = own[: gates_needed_for([u for _, _, u in own], "production")]
        missing = [f"{g.replace('_', ' ')} is {s}" for g, s, _ in needed if s != GateState.approved]
        if own and not missing:
            continue
        detail = "; ".join(missing) if own else "no gates: its risk was never assessed"
        out.append(
            ModelRef(
                model.id or 0,
                model.name,
                model.risk_tier or UNASSESSED,
                model.business_unit,
                detail,
            )
        )
    return tuple(out)


def overdue_reviews(session: Session, now: datetime) -> tuple[ModelRef, ...]:
    """Models in use (not retired) whose periodic review date has passed, most overdue first."""
    rows = session.execute(
        sa.select(
            col(ModelEntry.id),
            col(ModelEntry.name),
            col(ModelEntry.risk_tier),
            col(ModelEntry.business_unit),
            col(ModelEntry.next_review_date),
        )
        .where(
            col(ModelEntry.next_review_date) < now,
            sa.or_(
                col(ModelEntry.current_stage) != "retired",
                col(ModelEntry.production_version_id).is_not(None),
            ),
        )
        .order_by(col(ModelEntry.next_review_date))
    ).all()
    return tuple(
        ModelRef(i or 0, n, t or UNASSESSED, u, f"review due {d:%Y-%m-%d}", d)
        for i, n, t, u, d in rows
    )


def waiting_gates(session: Session, now: datetime) -> tuple[WaitingGate, ...]:
    """Submitted gates waiting for their approvers, the longest waiting first."""
    rows = session.execute(
        sa.select(
            col(Gate.version_id),
            col(ModelEntry.name),
            col(ModelVersion.version),
            col(Gate.gate_id),
            col(Gate.tier),
            col(Gate.submitted_at),
            col(Gate.updated_at),
        )
        .join(ModelEntry, col(ModelEntry.id) == col(Gate.model_id))
        .join(ModelVersion, col(ModelVersion.id) == col(Gate.version_id))
        .where(col(Gate.state) == GateState.submitted.value)
        .order_by(col(Gate.submitted_at))
    ).all()
    return tuple(
        WaitingGate(
            v, n, number, g, t or UNASSESSED, s or u, ((now - (s or u)).total_seconds()) / _DAY
        )
        for v, n, number, g, t, s, u in rows
    )


def approvals(
    session: Session,
) -> tuple[tuple[ApprovalTime, ...], int, int, tuple[TeamFirstTime, ...]]:
    """Time from each approved gate's first submission to its first approval, per gate and
    tier (median and 90th percentile, days), and the first-time approval rate: gates approved
    without a rejection before (a rejection opens a new round), overall and per team."""
    submitted = (
        select(GateAct.gate_pk, func.min(GateAct.signed_at).label("at"))
        .where(col(GateAct.act) == "submit")
        .group_by(col(GateAct.gate_pk))
        .subquery()
    )
    approved = (
        select(
            GateAct.gate_pk,
            func.min(GateAct.signed_at).label("at"),
            func.min(GateAct.round).label("round"),
        )
        .where(col(GateAct.act) == "approve", col(GateAct.state_after) == GateState.approved.value)
        .group_by(col(GateAct.gate_pk))
        .subquery()
    )
    rows = session.execute(
        sa.select(
            col(Gate.gate_id),
            col(Gate.tier),
            col(ModelEntry.business_unit),
            _seconds_between(session, approved.c.at, submitted.c.at),
            approved.c.round,
        )
        .select_from(Gate)
        .join(approved, approved.c.gate_pk == col(Gate.id))
        .join(submitted, submitted.c.gate_pk == col(Gate.id))
        .join(ModelEntry, col(ModelEntry.id) == col(Gate.model_id))
    ).all()
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    teams: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    first_time = 0
    for gate_id, tier, unit, seconds, round_ in rows:
        durations[(gate_id, tier or UNASSESSED)].append(float(seconds) / _DAY)
        teams[unit or "(no business unit)"][0] += 1
        if round_ == 1:
            first_time += 1
            teams[unit or "(no business unit)"][1] += 1
    order = {g: i for i, g in enumerate(GATE_IDS)}
    tiers = {t: i for i, t in enumerate(TIER_ORDER)}
    times = tuple(
        ApprovalTime(g, t, len(d), percentile(d, 50), percentile(d, 90))
        for (g, t), d in sorted(
            durations.items(), key=lambda kv: (order.get(kv[0][0], 99), tiers.get(kv[0][1], 9))
        )
    )
    board = tuple(
        sorted(
            (TeamFirstTime(team, a, f) for team, (a, f) in teams.items()),
            key=lambda t: (-t.rate, -t.first_time, t.team),
        )
    )
    return times, len(rows), first_time, board


def open_findings_by_age(
    session: Session, now: datetime
) -> tuple[tuple[FindingAgeCount, ...], int]:
    """Open findings per severity and age band, and how many are past their due date."""
    cases = [
        (col(Finding.raised_at) <= now - timedelta(days=days), label)
        for label, days in reversed(AGE_BANDS)
        if days
    ]
    band = sa.case(*cases, else_=AGE_BANDS[0][0])
    is_open = col(Finding.status).in_([s.value for s in OPEN_STATUSES])
    inner = select(Finding.severity, band.label("band")).where(is_open).subquery()
    rows = session.execute(
        sa.select(inner.c.severity, inner.c.band, func.count()).group_by(
            inner.c.severity, inner.c.band
        )
    ).all()
    counts = {(str(s), str(b)): int(n) for s, b, n in rows}
    grid = tuple(
        FindingAgeCount(s.value, label, counts.get((s.value, label), 0))
        for s in reversed(list(FindingSeverity))
        for label, _ in AGE_BANDS
    )
    overdue = session.exec(
        select(func.count()).select_from(Finding).where(is_open, col(Finding.due_date) < now.date())
    ).one()
    return grid, int(overdue)


def drift_alerts(session: Session, now: datetime, days: int = DRIFT_WINDOW_DAYS) -> int:
    """Findings of type drift raised in the last ``days`` days."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Finding)
            .where(
                col(Finding.type) == FindingType.drift.value,
                col(Finding.raised_at) >= now - timedelta(days=days),
            )
        ).one()
    )


def waivers_in_force(session: Session, now: datetime) -> tuple[WaiverRef, ...]:
    """Waivers that have not expired, the soonest to expire first."""
    soon = now + timedelta(days=EXPIRING_DAYS)
    rows = session.execute(
        sa.select(
            col(Waiver.version_id),
            col(ModelEntry.name),
            col(Waiver.gate_id),
            col(Waiver.check_name),
            col(Waiver.expires_at),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(Waiver.version_id))
        .join(ModelEntry, col(ModelEntry.id) == col(ModelVersion.model_id))
        .where(col(Waiver.expires_at) > now)
        .order_by(col(Waiver.expires_at))
    ).all()
    return tuple(WaiverRef(v, n, g, c, e, e <= soon) for v, n, g, c, e in rows)


def governance_kpis(
    *, session: Session, actor: Actor, now: datetime | None = None
) -> GovernanceKpis:
    """Every governance KPI of the dashboard, read from stored state as of ``now``."""
    require_role(session, actor, "read the governance KPIs", *EVERY_ROLE)
    now = now or utcnow()
    times, approved, first_time, teams = approvals(session)
    findings, overdue = open_findings_by_age(session, now)
    return GovernanceKpis(
        as_of=now,
        models_by_tier_stage=models_by_tier_stage(session),
        production_without_approvals=production_without_approvals(session),
        overdue_reviews=overdue_reviews(session, now),
        waiting_gates=waiting_gates(session, now),
        approval_times=times,
        approved_gates=approved,
        first_time_approved=first_time,
        teams=teams,
        open_findings=findings,
        overdue_findings=overdue,
        drift_alerts_30d=drift_alerts(session, now),
        waivers=waivers_in_force(session, now),
    )

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
    "LIST_LIMIT",
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
#: How many rows a KPI's list holds at most (its count is always exact).
LIST_LIMIT = 500
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


def _joined_text(session: Session, value: Any) -> Any:
    """Every value of a group as one comma-separated text (numbers at full precision)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.string_agg(sa.cast(value, sa.Text), ",")
    return func.group_concat(value, ",")


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


def _needed_by_plan(session: Session) -> dict[tuple[int | None, str | None], int]:
    """How many leading gates production needs, per (policy version, tier) of production
    versions' gates. A policy version's tier opens the same gates for every version, so one
    version's gates per pair tell."""
    prod = col(ModelEntry.production_version_id)
    pairs = session.execute(
        sa.select(col(Gate.policy_version), col(Gate.tier), func.min(col(Gate.version_id)))
        .join(ModelEntry, prod == col(Gate.version_id))
        .group_by(col(Gate.policy_version), col(Gate.tier))
    ).all()
    needed = {}
    for policy_version, tier, version_id in pairs:
        specs = session.exec(
            select(Gate.spec_json)
            .where(col(Gate.version_id) == version_id)
            .order_by(col(Gate.position))
        ).all()
        unlocks = [json.loads(spec).get("unlocks_stage") for spec in specs]
        needed[(policy_version, tier)] = gates_needed_for(unlocks, "production")
    return needed


def production_without_approvals(session: Session) -> tuple[ModelRef, ...]:
    """Models whose production version lacks an approval of a gate production needs (every
    gate up to the one unlocking production), or has no gates at all."""
    prod = col(ModelEntry.production_version_id)
    model_cols = (
        col(ModelEntry.id),
        col(ModelEntry.name),
        col(ModelEntry.risk_tier),
        col(ModelEntry.business_unit),
    )
    no_gates = session.execute(
        sa.select(*model_cols).where(
            prod.is_not(None), ~select(Gate.id).where(col(Gate.version_id) == prod).exists()
        )
    ).all()
    missing: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    needed = _needed_by_plan(session)
    if needed:
        limit = sa.case(
            *[
                (sa.and_(col(Gate.policy_version) == pv, col(Gate.tier) == tier), n)
                for (pv, tier), n in needed.items()
            ],
            else_=0,
        )
        for *model, gate_id, state in session.execute(
            sa.select(*model_cols, col(Gate.gate_id), col(Gate.state))
            .join(Gate, col(Gate.version_id) == prod)
            .where(col(Gate.state) != GateState.approved.value, col(Gate.position) < limit)
            .order_by(col(Gate.position))
        ).all():
            missing[tuple(model)].append(f"{gate_id.replace('_', ' ')} is {state}")
    out = [
        ModelRef(i or 0, n, t or UNASSESSED, u, "no gates: its risk was never assessed")
        for i, n, t, u in no_gates
    ]
    out += [
        ModelRef(i or 0, n, t or UNASSESSED, u, "; ".join(why))
        for (i, n, t, u), why in missing.items()
    ]
    return tuple(sorted(out, key=lambda r: r.model))


def overdue_reviews(
    session: Session, now: datetime, limit: int = LIST_LIMIT
) -> tuple[int, tuple[ModelRef, ...]]:
    """How many models in use (not retired) are past their periodic review date, and the
    ``limit`` most overdue."""
    in_use = (
        col(ModelEntry.next_review_date) < now,
        sa.or_(
            col(ModelEntry.current_stage) != "retired",
            col(ModelEntry.production_version_id).is_not(None),
        ),
    )
    total = session.exec(select(func.count()).select_from(ModelEntry).where(*in_use)).one()
    rows = session.execute(
        sa.select(
            col(ModelEntry.id),
            col(ModelEntry.name),
            col(ModelEntry.risk_tier),
            col(ModelEntry.business_unit),
            col(ModelEntry.next_review_date),
        )
        .where(*in_use)
        .order_by(col(ModelEntry.next_review_date))
        .limit(limit)
    ).all()
    return int(total), tuple(
        ModelRef(i or 0, n, t or UNASSESSED, u, f"review due {d:%Y-%m-%d}", d)
        for i, n, t, u, d in rows
    )


def waiting_gates(
    session: Session, now: datetime, limit: int = LIST_LIMIT
) -> tuple[int, tuple[WaitingGate, ...]]:
    """How many submitted gates wait for their approvers, and the ``limit`` longest waiting."""
    waiting = col(Gate.state) == GateState.submitted.value
    total = session.exec(select(func.count()).select_from(Gate).where(waiting)).one()
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
        .where(waiting)
        .order_by(col(Gate.submitted_at))
        .limit(limit)
    ).all()
    return int(total), tuple(
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
    is_approval = sa.and_(
        col(GateAct.act) == "approve", col(GateAct.state_after) == GateState.approved.value
    )
    per_gate = (
        sa.select(
            col(GateAct.gate_pk).label("gate_pk"),
            func.min(sa.case((col(GateAct.act) == "submit", col(GateAct.signed_at)))).label("sub"),
            func.min(sa.case((is_approval, col(GateAct.signed_at)))).label("appr"),
            func.min(sa.case((is_approval, col(GateAct.round)))).label("round"),
        )
        .where(col(GateAct.act).in_(("submit", "approve")))
        .group_by(col(GateAct.gate_pk))
        .subquery()
    )
    joined = (
        sa.select(
            col(Gate.gate_id).label("gate_id"),
            col(Gate.tier).label("tier"),
            col(ModelEntry.business_unit).label("unit"),
            _seconds_between(session, per_gate.c.appr, per_gate.c.sub).label("seconds"),
            per_gate.c.round,
        )
        .select_from(per_gate)
        .join(Gate, col(Gate.id) == per_gate.c.gate_pk)
        .join(ModelEntry, col(ModelEntry.id) == col(Gate.model_id))
        .where(per_gate.c.appr.is_not(None), per_gate.c.sub.is_not(None))
        .subquery()
    )
    # One row per gate, tier and team, its durations joined into one text: tens of thousands
    # of rows would cost more to hand to Python than the query costs to run.
    rows = (
        session.connection()
        .execute(
            sa.select(
                joined.c.gate_id,
                joined.c.tier,
                joined.c.unit,
                func.count(),
                func.sum(sa.case((joined.c.round == 1, 1), else_=0)),
                _joined_text(session, joined.c.seconds),
            ).group_by(joined.c.gate_id, joined.c.tier, joined.c.unit)
        )
        .all()
    )
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    teams: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    approved = first_time = 0
    for gate_id, tier, unit, count, first, seconds in rows:
        durations[(gate_id, tier or UNASSESSED)] += [float(x) / _DAY for x in seconds.split(",")]
        team = teams[unit or "(no business unit)"]
        team[0] += int(count)
        team[1] += int(first)
        approved += int(count)
        first_time += int(first)
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
    return times, approved, first_time, board


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
    reviews_total, reviews = overdue_reviews(session, now)
    waiting_total, waiting = waiting_gates(session, now)
    findings, overdue = open_findings_by_age(session, now)
    return GovernanceKpis(
        as_of=now,
        models_by_tier_stage=models_by_tier_stage(session),
        production_without_approvals=production_without_approvals(session),
        overdue_reviews=reviews,
        overdue_reviews_total=reviews_total,
        waiting_gates=waiting,
        waiting_gates_total=waiting_total,
        approval_times=times,
        approved_gates=approved,
        first_time_approved=first_time,
        teams=teams,
        open_findings=findings,
        overdue_findings=overdue,
        drift_alerts_30d=drift_alerts(session, now),
        waivers=waivers_in_force(session, now),
    )

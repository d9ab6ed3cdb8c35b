"""Governance KPIs on a constructed portfolio, each figure checked against the same facts
computed independently here (numpy percentiles, statistics.median, plain counting)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import Session

from core.errors import PermissionDenied
from core.services.kpis import AGE_BANDS, governance_kpis, percentile
from core.services.permissions import OPERATOR
from core.services.users import add_user, deactivate_user
from tests.kpi_portfolio import Facts, build_portfolio


@pytest.fixture
def portfolio(db_url: str) -> Facts:
    return build_portfolio(db_url, models=400, events=1000, seed=5)


def test_every_kpi_matches_an_independent_count_of_the_portfolio(
    session: Session, portfolio: Facts
) -> None:
    f = portfolio
    kpis = governance_kpis(session=session, actor=OPERATOR, now=f.now)

    by_tier_stage = Counter((m["tier"], m["stage"]) for m in f.models)
    assert {(c.tier, c.stage): c.models for c in kpis.models_by_tier_stage} == by_tier_stage
    assert kpis.models == len(f.models)

    violators = sorted(m["id"] for m in f.models if m["violator"])
    assert violators, "the portfolio must hold at least one model to flag"
    assert sorted(r.model_id for r in kpis.production_without_approvals) == violators

    overdue = {
        m["id"] for m in f.models if m["review"] is not None and m["review"] < f.now and
        (m["stage"] != "retired")
    }  # fmt: skip
    assert {r.model_id for r in kpis.overdue_reviews} == overdue
    assert kpis.overdue_reviews_total == len(overdue)
    assert kpis.waiting_gates_total == len(f.waiting)

    assert sorted((w.version_id, w.gate_id) for w in kpis.waiting_gates) == sorted(
        (w["model"], w["gate"]) for w in f.waiting
    )
    ages = {
        (w["model"], w["gate"]): (f.now - w["since"]).total_seconds() / 86400 for w in f.waiting
    }
    for w in kpis.waiting_gates:
        assert w.age_days == pytest.approx(ages[(w.version_id, w.gate_id)], abs=1e-3)

    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for a in f.approvals:
        durations[(a["gate"], a["tier"])].append(a["days"])
    times = {(t.gate_id, t.tier): t for t in kpis.approval_times}
    assert set(times) == set(durations)
    for key, values in durations.items():
        assert times[key].approvals == len(values)
        assert times[key].median_days == pytest.approx(statistics.median(values), abs=1e-4)
        assert times[key].p90_days == pytest.approx(np.percentile(values, 90), abs=1e-4)

    assert kpis.approved_gates == len(f.approvals)
    assert kpis.first_time_approved == sum(a["first_time"] for a in f.approvals)
    teams: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in f.approvals:
        teams[a["unit"]][0] += 1
        teams[a["unit"]][1] += a["first_time"]
    assert {t.team: [t.approved, t.first_time] for t in kpis.teams} == teams
    rates = [t.rate for t in kpis.teams]
    assert rates == sorted(rates, reverse=True)  # the best first: a leaderboard, never a shame list

    open_ = [x for x in f.findings if x["status"] in ("open", "in_remediation")]

    def band(raised):  # type: ignore[no-untyped-def]
        age = f.now - raised
        label = AGE_BANDS[0][0]
        for name, days in AGE_BANDS:
            if age >= timedelta(days=days):
                label = name
        return label

    grid = Counter((x["severity"], band(x["raised_at"])) for x in open_)
    assert {(c.severity, c.age_band): c.findings for c in kpis.open_findings if c.findings} == grid
    assert kpis.open_findings_total == len(open_)
    assert kpis.overdue_findings == sum(x["due"] < f.now.date() for x in open_)
    assert kpis.drift_alerts_30d == sum(
        x["type"] == "drift" and x["raised_at"] >= f.now - timedelta(days=30) for x in f.findings
    )
    assert len(kpis.waivers) == len(f.waivers)
    assert kpis.waivers_expiring == sum(
        w["expires_at"] <= f.now + timedelta(days=30) for w in f.waivers
    )
    assert kpis.to_dict()["first_time_rate"] == pytest.approx(
        kpis.first_time_approved / kpis.approved_gates
    )


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5.0, 1.0, 9.0, 2.5, 7.25, 0.5]])
def test_percentile_is_numpys_linear_definition(values: list[float]) -> None:
    for q in (0, 10, 50, 90, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_a_deactivated_account_may_not_read_them(session: Session) -> None:
    former = add_user(
        session=session, actor=OPERATOR, username="former", password="a long enough password",
        roles=["risk_manager"],
    )  # fmt: skip
    deactivate_user(session=session, actor=OPERATOR, username="former")
    session.commit()
    with pytest.raises(PermissionDenied):
        governance_kpis(session=session, actor=former)

"""Governance KPIs at scale: 10,000 models with their gates, signing acts and findings, and
1,000,000 audit events.

Prints the median time of each dashboard KPI query, and of all of them together, on SQLite and,
when GATEHOUSE_TEST_POSTGRES_URL is set, on PostgreSQL. Target: each query under 200 ms median.
Run: python tests/benchmarks/bench_kpis.py [--models N] [--events N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.db import dispose_engines, get_engine, migrate
from core.services import kpis
from core.services.permissions import OPERATOR
from tests.kpi_portfolio import build_portfolio
from tests.scratch_db import scratch_postgres


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm caches once
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure(url: str, label: str, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    migrate(url)
    facts = build_portfolio(url, models=args.models, events=args.events)
    print(
        f"[{label}] generated {args.models:,} models, {len(facts.approvals):,} approvals, "
        f"{len(facts.findings):,} findings, {args.events:,} audit events "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    now = facts.now
    with Session(get_engine(url)) as s:
        queries: dict[str, Callable[[], object]] = {
            "models by tier and stage": lambda: kpis.models_by_tier_stage(s),
            "production without approvals": lambda: kpis.production_without_approvals(s),
            "overdue reviews": lambda: kpis.overdue_reviews(s, now),
            "gates waiting": lambda: kpis.waiting_gates(s, now),
            "approval times and first-time rate": lambda: kpis.approvals(s),
            "open findings by severity and age": lambda: kpis.open_findings_by_age(s, now),
            "drift alerts, 30 days": lambda: kpis.drift_alerts(s, now),
            "waivers in force": lambda: kpis.waivers_in_force(s, now),
            "all KPIs together": lambda: kpis.governance_kpis(session=s, actor=OPERATOR, now=now),
        }
        for name, fn in queries.items():
            ms = median_ms(fn, args.runs)
            flag = "" if ms < 200 or name.startswith("all") else "  (over the 200 ms target)"
            print(f"[{label}] {name:<36} median {ms:8.1f} ms{flag}")
    dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args)
    if base := os.environ.get("GATEHOUSE_TEST_POSTGRES_URL"):
        with scratch_postgres(base, "gatehouse_bench") as url:
            measure(url, "postgresql", args)


if __name__ == "__main__":
    main()

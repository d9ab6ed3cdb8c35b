"""Inventory at scale: 10,000 models, 50,000 versions, 1,000,000 audit events.

Prints the median time of the inventory page query (filters + sort + one page of 50), of the
same query "as of" a past date, and of the inventory page's server-side render (AppTest), on
SQLite and, when GATEHOUSE_TEST_POSTGRES_URL is set, on PostgreSQL. Targets: query median under
50 ms, render under 500 ms. Run: python tests/benchmarks/bench_inventory.py [--models N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.config import reset_settings
from core.db import get_engine, migrate
from core.services.auth import hash_password
from core.services.inventory import InventoryFilter, query_inventory
from core.tables import (
    OPEN_END,
    AuditEvent,
    Dataset,
    ModelEntry,
    ModelSnapshot,
    ModelVersion,
    StageChange,
    User,
    UserRole,
)
from tests.scratch_db import scratch_postgres

START = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = [
    "credit",
    "fraud",
    "churn",
    "pricing",
    "loan",
    "claims",
    "marketing",
    "risk",
    "collections",
]
UNITS = ["Retail", "Cards", "Mortgages", "Insurance", "Treasury", "Operations"]
STAGES = ["development", "qa", "preproduction", "production", "retired"]
TIERS = ["low", "medium", "high", "critical"]


def _chunks(rows: list[dict], size: int = 20_000):  # type: ignore[type-arg]
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def generate(url: str, *, models: int, versions_per_model: int, events: int) -> None:
    """Fill a migrated database with a realistic portfolio, in bulk."""
    rng = random.Random(7)
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(User.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": i,
                    "username": f"user{i}",
                    "display_name": f"User {i}",
                    "password_hash": None,
                    "is_active": True,
                    "failed_logins": 0,
                    "created_at": START,
                }
                for i in range(1, 201)
            ],
        )
        conn.execute(
            sa.insert(UserRole.__table__), [{"user_id": i, "role": "sme"} for i in range(1, 201)]
        )  # type: ignore[attr-defined]
        conn.execute(
            sa.insert(Dataset.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": 1,
                    "sha256": "0" * 64,
                    "name": "eval.csv",
                    "format": "csv",
                    "path": "-",
                    "rows": 1000,
                    "columns": 9,
                    "columns_json": "[]",
                    "provenance": "",
                    "created_at": START,
                }
            ],
        )
        model_rows, version_rows, stage_rows, snap_rows = [], [], [], []
        version_id = 0
        for m in range(1, models + 1):
            created = START + timedelta(minutes=m * 5)
            name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{m:05d}"
            unit, tier, owner = rng.choice(UNITS), rng.choice(TIERS), rng.randint(1, 200)
            purpose = f"Scores {rng.choice(WORDS)} cases for the {unit} team"
            last_stage, prod = "development", None
            for v in range(1, versions_per_model + 1):
                version_id += 1
                when = created + timedelta(days=v * 30)
                stage = rng.choice(STAGES)
                version_rows.append({
                    "id": version_id, "model_id": m, "version": v,
                    "artifact_sha256": hashlib.sha256(f"{m}-{v}".encode()).hexdigest(),
                    "artifact_path": "-", "framework": "scikit-learn", "estimator_class": "x",
                    "task": "classification", "target": "y", "features_json": "[]",
                    "sensitive_json": "[]", "environment_json": "{}", "eval_dataset_id": 1,
                    "registered_at": when, "stage": stage,
                })  # fmt: skip
                stage_rows.append({"model_id": m, "version_id": version_id, "stage": "development",
                                   "changed_at": when, "reason": ""})  # fmt: skip
                stage_rows.append({"model_id": m, "version_id": version_id, "stage": stage,
                                   "changed_at": when + timedelta(days=3), "reason": ""})  # fmt: skip
                last_stage = stage
                if stage == "production":
                    prod = version_id
                if snap_rows and snap_rows[-1]["model_id"] == m:
                    snap_rows[-1]["valid_to"] = when + timedelta(days=3)
                snap_rows.append({
                    "model_id": m, "valid_from": when + timedelta(days=3), "valid_to": OPEN_END,
                    "name": name,
                    "purpose": purpose, "business_unit": unit, "tags": "", "owner_id": owner,
                    "risk_tier": tier, "current_version_id": version_id, "current_stage": stage,
                    "production_version_id": prod, "open_findings": 0, "gate_status": "not started",
                    "next_review_date": when + timedelta(days=365),
                })  # fmt: skip
            model_rows.append({
                "id": m, "name": name, "created_at": created, "purpose": purpose,
                "business_unit": unit, "tags": "", "owner_id": owner, "risk_tier": tier,
                "current_version_id": version_id, "current_stage": last_stage,
                "production_version_id": prod, "open_findings": rng.randint(0, 3),
                "gate_status": "not started", "updated_at": created,
                "next_review_date": created + timedelta(days=rng.randint(100, 900)),
            })  # fmt: skip
        for table, rows in ((ModelEntry, model_rows), (ModelVersion, version_rows),
                            (StageChange, stage_rows), (ModelSnapshot, snap_rows)):  # fmt: skip
            for chunk in _chunks(rows):
                conn.execute(sa.insert(table.__table__), chunk)  # type: ignore[attr-defined]
        prev = "0" * 64
        batch: list[dict] = []  # type: ignore[type-arg]
        for e in range(1, events + 1):
            digest = hashlib.sha256(f"{prev}{e}".encode()).hexdigest()
            batch.append({"id": e, "occurred_at": START + timedelta(seconds=e * 60), "actor": "user1",
                          "action": "card_edited", "subject_type": "model",
                          "subject_id": str(e % models + 1), "details": "{}",
                          "prev_hash": prev, "hash": digest})  # fmt: skip
            prev = digest
            if len(batch) == 20_000:
                conn.execute(sa.insert(AuditEvent.__table__), batch)  # type: ignore[attr-defined]
                batch = []
        if batch:
            conn.execute(sa.insert(AuditEvent.__table__), batch)  # type: ignore[attr-defined]
        if conn.dialect.name == "postgresql":
            for table in ("user", "model", "model_version", "audit_event"):  # fixed names
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"  # noqa: S608 (fixed table names)
                    )
                )
            conn.execute(sa.text("ANALYZE"))
        else:
            conn.execute(sa.text("ANALYZE"))


def median_ms(fn: Callable[[], object], runs: int = 25) -> float:
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
    generate(
        url, models=args.models, versions_per_model=args.versions_per_model, events=args.events
    )
    print(f"[{label}] generated {args.models:,} models, {args.models * args.versions_per_model:,} "
          f"versions, {args.events:,} audit events in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    as_of = START + timedelta(days=400)
    with Session(get_engine(url)) as session:
        actor = session.exec(select(User).where(User.username == "user1")).one()
        cases = {
            "page 1, sort by name": dict(),
            "filters (stage, unit, text) + sort by next review, desc": dict(
                filters=InventoryFilter(
                    stages=["production", "qa"], business_units=["Retail", "Cards"], text="loan"
                ),
                sort="next_review",
                descending=True,
            ),
            "a deep page of all, sort by risk tier": dict(
                sort="risk_tier", page=max(1, args.models // 100)
            ),
            "as of a past date + filters": dict(
                filters=InventoryFilter(stages=["production"], tiers=["high", "critical"]),
                as_of=as_of,
            ),
            "as of a past date, a later page": dict(as_of=as_of, page=max(1, args.models // 2000)),
        }
        for name, kw in cases.items():
            ms = median_ms(
                lambda kw=kw: query_inventory(session=session, actor=actor, page_size=50, **kw)
            )
            verdict = "ok" if ms < 50 else "OVER 50 ms"
            print(
                f"[{label}] query median {ms:7.1f} ms  ({ms / 50:.2f} of the 50 ms target, {verdict})  {name}"
            )
    render(url, label)


def render(url: str, label: str) -> None:
    """Median server-side run of the inventory page for a signed-in user (AppTest)."""
    from streamlit.testing.v1 import AppTest

    from app.session import SESSION_ID
    from core.services.auth import start_session

    os.environ["GATEHOUSE_DATABASE_URL"] = url
    reset_settings()
    with Session(get_engine(url)) as session:
        user = session.exec(select(User).where(User.username == "user1")).one()
        user.password_hash = hash_password("benchmark-password")
        sid = start_session(session=session, user=user).session_id
        session.commit()
    main = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
    page = str(Path(__file__).resolve().parents[2] / "pages" / "inventory.py")
    at = AppTest.from_file(main, default_timeout=60)
    at.session_state[SESSION_ID] = sid
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    verdict = "ok" if ms < 500 else "OVER 500 ms"
    print(
        f"[{label}] inventory page server-side render median {ms:7.1f} ms ({ms / 500:.2f} of the 500 ms target, {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions-per-model", type=int, default=5)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GATEHOUSE_DATA_DIR"] = tmp
        reset_settings()
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args)
        pg = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
        if not pg:
            print("[postgresql] skipped: GATEHOUSE_TEST_POSTGRES_URL is not set")
            return
        with scratch_postgres(pg, "gatehouse_bench") as url:
            measure(url, "postgresql", args)


if __name__ == "__main__":
    main()

"""Risk assessment and the policy lookup over 10,000 models.

Prints the median and 95th percentile of assessing a model (questionnaire scored, assessment,
snapshot and audit event written, committed) and of the policy lookup every gate and check makes
(``policy_for_model`` and ``thresholds_for_version``), on SQLite and, when
GATEHOUSE_TEST_POSTGRES_URL is set, on PostgreSQL. Target: under 5 ms each.
Run: python tests/benchmarks/bench_risk.py [--models N] [--assess N]
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
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.db import dispose_engines, get_engine, migrate
from core.demo.risk import DEMO_ANSWERS
from core.services.policy import ensure_shipped_pack, policy_for_model, thresholds_for_version
from core.services.risk import assess_model
from core.tables import Dataset, ModelEntry, ModelVersion, User, UserRole
from tests.scratch_db import scratch_postgres

START = datetime(2025, 1, 1, tzinfo=UTC)


def generate(url: str, models: int) -> None:
    """A migrated database with one risk manager and ``models`` models of one version each."""
    with get_engine(url).begin() as conn:
        conn.execute(sa.insert(User.__table__), [{"id": 1, "username": "rita", "display_name": "Rita", "password_hash": None, "is_active": True, "failed_logins": 0, "created_at": START}])  # type: ignore[attr-defined]  # fmt: skip
        conn.execute(sa.insert(UserRole.__table__), [{"user_id": 1, "role": "risk_manager"}])  # type: ignore[attr-defined]
        conn.execute(sa.insert(Dataset.__table__), [{"id": 1, "sha256": "0" * 64, "name": "d.csv", "format": "csv", "path": "-", "rows": 1, "columns": 1, "columns_json": "[]", "provenance": "", "created_at": START}])  # type: ignore[attr-defined]  # fmt: skip
        model_rows = [
            {
                "id": m,
                "name": f"model-{m:05d}",
                "created_at": START,
                "purpose": "",
                "business_unit": "",
                "tags": "",
                "owner_id": 1,
                "current_version_id": m,
                "current_stage": "development",
                "open_findings": 0,
                "gate_status": "not started",
                "updated_at": START,
            }
            for m in range(1, models + 1)
        ]
        version_rows = [
            {
                "id": m,
                "model_id": m,
                "version": 1,
                "artifact_sha256": hashlib.sha256(str(m).encode()).hexdigest(),
                "artifact_path": "-",
                "framework": "scikit-learn",
                "estimator_class": "x",
                "task": "classification",
                "target": "y",
                "features_json": "[]",
                "sensitive_json": "[]",
                "environment_json": "{}",
                "trusted_json": "[]",
                "eval_dataset_id": 1,
                "train_dataset_id": 1,
                "registered_at": START,
                "stage": "development",
            }
            for m in range(1, models + 1)
        ]
        for table, rows in ((ModelEntry, model_rows), (ModelVersion, version_rows)):
            for i in range(0, len(rows), 5000):
                conn.execute(sa.insert(table.__table__), rows[i : i + 5000])  # type: ignore[attr-defined]
        if conn.dialect.name == "postgresql":
            for table in ("user", "model", "model_version"):  # fixed names
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"))  # noqa: S608  # fmt: skip
        conn.execute(sa.text("ANALYZE"))
    with Session(get_engine(url)) as session:
        ensure_shipped_pack(session)
        session.commit()


class _Statements:
    """Counts SQL statements sent, a figure that does not depend on how busy the machine is."""

    def __init__(self, url: str) -> None:
        self.count = 0
        sa.event.listen(get_engine(url), "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def _summary(label: str, times: list[float], statements: int) -> str:
    times = sorted(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    return (
        f"{label:<40} median {statistics.median(times):6.2f} ms  p95 {p95:6.2f} ms  "
        f"{statements / len(times):5.1f} statements each  (n={len(times):,})"
    )


def measure(url: str, name: str, models: int, assess: int) -> None:
    t0 = time.perf_counter()
    migrate(url)
    generate(url, models)
    print(f"[{name}] {models:,} models generated in {time.perf_counter() - t0:.0f} s")
    rng = random.Random(11)
    answer_sets = [a for a, _, _ in DEMO_ANSWERS.values()]
    chosen = rng.sample(range(1, models + 1), min(assess, models))
    assess_ms: list[float] = []
    flushed_ms: list[float] = []
    counter = _Statements(url)
    with Session(get_engine(url), expire_on_commit=False) as session:
        actor = session.get(User, 1)
        for model_id in chosen:
            started = time.perf_counter()
            assess_model(
                session=session, actor=actor, model_id=model_id, answers=rng.choice(answer_sets)
            )
            flushed_ms.append((time.perf_counter() - started) * 1000)
            session.commit()
            assess_ms.append((time.perf_counter() - started) * 1000)
    print(
        _summary(
            f"[{name}] assess_model (flushed, before commit)",
            flushed_ms,
            counter.count - len(chosen),
        )
    )
    print(_summary(f"[{name}] assess_model (+ commit)", assess_ms, counter.count))
    lookup_ms, threshold_ms = [], []
    lookups = thresholds = 0
    with Session(get_engine(url), expire_on_commit=False) as session:
        for model_id in range(1, models + 1):
            before = counter.count
            started = time.perf_counter()
            policy_for_model(session, model_id).gates()
            lookup_ms.append((time.perf_counter() - started) * 1000)
            lookups += counter.count - before
            version = session.get(ModelVersion, model_id)
            assert version is not None
            before = counter.count
            started = time.perf_counter()
            thresholds_for_version(session, version)
            threshold_ms.append((time.perf_counter() - started) * 1000)
            thresholds += counter.count - before
            session.expunge_all()  # every lookup reads the database, as a fresh request would
    print(_summary(f"[{name}] policy_for_model + gates", lookup_ms, lookups))
    print(_summary(f"[{name}] thresholds_for_version", threshold_ms, thresholds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--assess", type=int, default=2_000, help="Models assessed (a sample).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args.models, args.assess)
        dispose_engines()
    pg = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
    if pg:
        with scratch_postgres(pg, "gatehouse_bench") as url:
            measure(url, "postgresql", args.models, args.assess)


if __name__ == "__main__":
    main()

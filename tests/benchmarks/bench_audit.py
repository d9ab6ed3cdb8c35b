"""The audit trail and gates at scale.

Prints, on SQLite and (when GATEHOUSE_TEST_POSTGRES_URL is set) PostgreSQL:
- `audit verify` over 1,000,000 events (targets: under 10 s on SQLite, under 20 s on PostgreSQL),
  and the checkpoint's Merkle root over them;
- audit appends per second from 8 threads writing at once (every append extends the one chain);
(`gate status` for a version with seven gates is bench_gate_status.py's.)
Run: python tests/benchmarks/bench_audit.py [--events N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.config import reset_settings
from core.db import dispose_engines, get_engine, migrate
from core.rules.merkle import merkle_root
from core.services.audit import GENESIS, append_event, canonical_json, event_hash, verify_chain
from core.services.checkpoints import chain_hashes
from core.tables import AuditEvent
from tests.scratch_db import scratch_postgres

START = datetime(2024, 1, 1, tzinfo=UTC)


def fill(url: str, events: int) -> None:
    """Write a valid chain of ``events`` events straight into the table."""
    engine = get_engine(url)
    prev, batch = GENESIS, []
    with engine.begin() as conn:
        for i in range(1, events + 1):
            when = START + timedelta(seconds=i)
            details = {"n": i, "model": f"model-{i % 1000}"}
            body = {
                "occurred_at": when,
                "actor": "system",
                "actor_id": None,
                "action": "bench_event",
                "subject_type": "model",
                "subject_id": str(i % 1000),
                "details": details,
            }
            h = event_hash(prev, body)
            batch.append(
                {
                    "occurred_at": when,
                    "actor": "system",
                    "actor_id": None,
                    "action": "bench_event",
                    "subject_type": "model",
                    "subject_id": str(i % 1000),
                    "details": canonical_json(details),
                    "prev_hash": prev,
                    "hash": h,
                }
            )
            prev = h
            if len(batch) == 20_000:
                conn.execute(sa.insert(AuditEvent.__table__), batch)  # type: ignore[attr-defined]
                batch = []
        if batch:
            conn.execute(sa.insert(AuditEvent.__table__), batch)  # type: ignore[attr-defined]


def bench_appends(url: str, threads: int = 8, per_thread: int = 100) -> float:
    def work() -> None:
        with Session(get_engine(url)) as session:
            for i in range(per_thread):
                append_event(
                    session=session,
                    actor=None,
                    action="bench_append",
                    subject_type="t",
                    subject_id=i,
                )
                session.commit()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return threads * per_thread / (time.perf_counter() - t0)


def run(name: str, url: str, events: int) -> None:
    migrate(url)
    t0 = time.perf_counter()
    fill(url, events)
    print(f"[{name}] wrote {events:,} chained events in {time.perf_counter() - t0:.1f} s")
    with Session(get_engine(url)) as session:
        t0 = time.perf_counter()
        check = verify_chain(session=session)
        took = time.perf_counter() - t0
        assert check.intact and check.events == events, check
        print(
            f"[{name}] audit verify: {check.events:,} events in {took:.2f} s ({took / events * 1e6:.1f} µs per event)"
        )
        t0 = time.perf_counter()
        root = merkle_root([bytes.fromhex(h) for h in chain_hashes(session)])
        print(
            f"[{name}] Merkle root of the trail in {time.perf_counter() - t0:.2f} s ({root.hex()[:16]}…)"
        )
    print(f"[{name}] appends from 8 threads: {bench_appends(url):.0f} per second")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GATEHOUSE_DATA_DIR"] = tmp
        reset_settings()
        run("sqlite", f"sqlite:///{tmp}/bench.db", args.events)
        dispose_engines()
        pg = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
        if not pg:
            print("[postgresql] skipped: GATEHOUSE_TEST_POSTGRES_URL is not set")
            return
        with scratch_postgres(pg, "gatehouse_bench") as url:
            run("postgresql", url, args.events)


if __name__ == "__main__":
    main()

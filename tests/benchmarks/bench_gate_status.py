"""`gate status` for one version with seven gates, signed off to production, with its evidence.

Prints the median time of the gate status read (what the Gate page, `gatehouse gate status` and
the audit PDF call) on SQLite and, when GATEHOUSE_TEST_POSTGRES_URL is set, on PostgreSQL.
Target: under 20 ms.
Run: python tests/benchmarks/bench_gate_status.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.config import reset_settings
from core.db import dispose_engines, get_engine, migrate
from core.demo.data import SENSITIVE, TARGET, write_demo_files
from core.rules.gates import GATE_IDS, plan_from_pack_tier
from core.services.evidence import evaluate_version
from core.services.gate_status import gate_status
from core.services.gates import open_gates
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from tests.scratch_db import scratch_postgres
from tests.signoff import sign_off

#: Every lifecycle gate, each with evidence to judge, as a critical tier would ask.
SEVEN_GATES = {
    "segregation": {"min_distinct_people_per_gate": 2},
    "gates": [
        {
            "id": gate,
            "responsible": ["developer" if gate != "business_scoping" else "sme"],
            "accountable": "model_owner",
            "consulted": ["compliance"],
            "informed": ["risk_manager"],
            "unlocks_stage": {"development": "qa", "preproduction": "preproduction"}.get(gate)
            or ("production" if gate == "deployment" else None),
            "evidence": [
                {"kind": "card_fields", "fields": ["purpose"]},
                {"kind": "performance", "metrics": ["roc_auc"]},
                {"kind": "data_provenance"},
            ],
        }
        for gate in GATE_IDS
    ],
}


def measure(url: str, label: str, folder: Path, runs: int) -> None:
    migrate(url)
    os.environ["GATEHOUSE_DATABASE_URL"] = url
    reset_settings()
    files = write_demo_files(folder / "demo", n_rows=4_000)
    with Session(get_engine(url)) as session:
        version_id = register_version(
            session=session, actor=OPERATOR, name="credit-gbm",
            artifact=files.model_paths["credit-gbm"], eval_data=files.eval_csv,
            train_data=files.train_csv, target=TARGET, sensitive=SENSITIVE,
            card={"purpose": "Rank consumer loan applications."},
            provenance="Synthetic applications from the demo generator.",
        ).version_id  # fmt: skip
        evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=0)
        open_gates(
            session=session,
            version_id=version_id,
            plan=plan_from_pack_tier(SEVEN_GATES),
            policy_version=None,
            tier="critical",
        )
        sign_off(session, version_id, "production")
        times = []
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            status = gate_status(session=session, version_id=version_id)
            times.append((time.perf_counter() - t0) * 1000)
            session.rollback()
        states = [g.state for g in status.gates]
    signed = sum(len(g.signatures) for g in status.gates)
    print(
        f"[{label}] gate status of {len(states)} gates ({states.count('approved')} approved, "
        f"{signed} signatures): median {statistics.median(times[1:]):.1f} ms over {runs} runs "
        "(target under 20 ms)"
    )
    dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GATEHOUSE_DATA_DIR"] = tmp
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", Path(tmp), args.runs)
        if base := os.environ.get("GATEHOUSE_TEST_POSTGRES_URL"):
            with scratch_postgres(base, "gatehouse_bench") as url:
                measure(url, "postgresql", Path(tmp), args.runs)


if __name__ == "__main__":
    main()

"""The audit report PDF: generation time with and without charts, and offline verification.

Seeds the demo into a temporary data folder (or uses GATEHOUSE_DATA_DIR if it already holds
the demo), then prints for credit-gbm (fairness and explanations included):
- a full report's time, split into gathering, charts, layout and writing (target under 3 s);
- the same report without charts, and the ratio (target: charts add at most 50%);
- offline verification of a report of at least 40 pages (target under 1 s; the model's trail is
  lengthened with events until the appendix makes the report that long).
Run: python tests/benchmarks/bench_report.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("GATEHOUSE_DATA_DIR"):
        os.environ["GATEHOUSE_DATA_DIR"] = tempfile.mkdtemp(prefix="gatehouse-bench-report-")
    from sqlmodel import select

    from core.config import get_settings
    from core.db import migrate, session_scope
    from core.demo.seed import seed_demo
    from core.reports import generate_report, verify_offline
    from core.services.audit import append_event
    from core.services.permissions import OPERATOR
    from core.services.signing import public_key_pem
    from core.tables import ModelEntry

    migrate(get_settings().database_url)
    started = time.perf_counter()
    seeded = seed_demo()
    if not seeded.already_seeded:
        print(f"seeded the demo in {time.perf_counter() - started:.1f} s")
    with session_scope() as session:
        model = session.exec(select(ModelEntry).where(ModelEntry.name == "credit-gbm")).one()
        version_id, model_id = model.current_version_id, model.id
    assert version_id is not None

    def run(charts: bool) -> tuple[float, dict[str, float], int]:
        with session_scope() as session:
            start = time.perf_counter()
            made = generate_report(
                session=session, actor=OPERATOR, version_id=version_id, charts=charts
            )
            return time.perf_counter() - start, made.timings, made.pages

    run(True)  # warm: imports, fonts, matplotlib
    full = [run(True) for _ in range(args.runs)]
    bare = [run(False) for _ in range(args.runs)]
    total = _median([t for t, _, _ in full])
    without = _median([t for t, _, _ in bare])
    split = {k: _median([s[k] for _, s, _ in full]) for k in full[0][1]}
    print(f"full report (credit-gbm, {full[0][2]} pages, charts): {total:.2f} s (target < 3 s)")
    print("  split: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
    print(
        f"without charts: {without:.2f} s; charts add {100 * (total / without - 1):.0f}% (target <= 50%)"
    )

    with session_scope() as session:
        for i in range(900):
            append_event(
                session=session, actor=OPERATOR, action="card_viewed", subject_type="model",
                subject_id=str(model_id), details={"note": f"bench event {i}"},
            )  # fmt: skip
    with session_scope() as session:
        made = generate_report(session=session, actor=OPERATOR, version_id=version_id, charts=False)
    times = []
    for _ in range(max(args.runs, 5)):
        start = time.perf_counter()
        result = verify_offline(made.pdf, public_key_pem())
        times.append(time.perf_counter() - start)
    assert result.valid, result.problems
    print(
        f"offline verification of a {made.pages}-page report ({result.events_proven} events proven): "
        f"{_median(times) * 1000:.0f} ms (target < 1 s)"
    )


if __name__ == "__main__":
    main()

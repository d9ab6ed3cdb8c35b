"""The audit report PDF: generation time with and without charts, and offline verification.

Seeds the demo into a temporary data folder (or uses GATEHOUSE_DATA_DIR if it already holds
the demo), registers two retrained versions of credit-gbm after the demo's production v1 (three
versions of history), computes their evidence (performance, fairness on sex and age band and
their intersection, explanations) and signs every gate of v3 as the demo signs v1's, then
prints for v3:
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


def _history(model_name: str) -> int:
    """Register v2 and v3 of ``model_name``, each retrained with more trees, with the demo's
    evidence; sign every gate of v3 with the demo's acts. Returns v3's id."""
    import pandas as pd
    import skops.io
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sqlmodel import select

    from core.config import get_settings
    from core.db import session_scope
    from core.demo.data import FEATURES, SENSITIVE, TARGET, preprocessor
    from core.demo.gates import DEMO_SIGN_OFFS, sign_demo_act
    from core.demo.seed import DEMO_MODELS, DEMO_VOCABULARY
    from core.services.evidence import compute_explanation, evaluate_version
    from core.services.gate_plan import ensure_gates
    from core.services.inventory import register_version
    from core.services.permissions import OPERATOR
    from core.tables import User

    demo = get_settings().data_dir / "demo"
    train = pd.read_csv(demo / "train.csv")
    version_id = 0
    for version, trees in ((2, 200), (3, 250)):
        estimator = GradientBoostingClassifier(
            n_estimators=trees, max_depth=3, random_state=version
        )
        model = Pipeline([("prepare", preprocessor()), ("model", estimator)])
        artifact = demo / f"{model_name}-v{version}.skops"
        skops.io.dump(model.fit(train[list(FEATURES)], train[TARGET]), artifact)
        with session_scope() as session:
            devi = session.exec(select(User).where(User.username == "devi")).one()
            version_id = register_version(
                session=session, actor=devi, name=model_name, artifact=artifact,
                eval_data=demo / "eval.csv", train_data=demo / "train.csv", target=TARGET,
                sensitive=SENSITIVE, provenance=f"Retrained with {trees} trees.",
                card={**DEMO_MODELS[model_name]["card"], "vocabulary": DEMO_VOCABULARY},
            ).version_id  # fmt: skip
        with session_scope() as session:
            evaluate_version(
                session=session, actor=OPERATOR, version_id=version_id, segments=["region"]
            )
            compute_explanation(session=session, actor=OPERATOR, version_id=version_id)
    with session_scope() as session:
        ensure_gates(session, version_id)  # as the gate page does the first time it opens
    with session_scope() as session:
        users = {u.username: u for u in session.exec(select(User)).all()}
        for step in DEMO_SIGN_OFFS:
            if step.model == model_name:
                sign_demo_act(session, users, step)
    return version_id


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
    started = time.perf_counter()
    version_id = _history("credit-gbm")
    print(f"registered, evaluated and signed v2 and v3 in {time.perf_counter() - started:.1f} s")
    with session_scope() as session:
        model = session.exec(select(ModelEntry).where(ModelEntry.name == "credit-gbm")).one()
        model_id = model.id

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
    print(f"full report (credit-gbm v3, {full[0][2]} pages, charts): {total:.2f} s (target < 3 s)")
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

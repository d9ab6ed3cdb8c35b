"""Benchmark of comparing two versions: what the Compare versions tab costs on every rerun.

Run from the repository root: ``python tests/benchmarks/bench_compare.py``. Registers the demo's
credit-gbm (150 trees, the largest demo artifact) and a retrained credit-logit as two versions
of one model, with performance evidence, then times ``compare_versions``: the first call (which
reads the skops schema after hashing the stored artifact) and repeated calls (the schema is
remembered by content hash; the artifact is hashed again each time). Prints figures, never
asserts them; the target is well under the page's 1 s rerun budget.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

RUNS = 20


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="gatehouse-bench-compare-"))
    os.environ["GATEHOUSE_DATA_DIR"] = str(folder)
    os.environ["GATEHOUSE_DATABASE_URL"] = f"sqlite:///{folder / 'gatehouse.db'}"
    from core.config import reset_settings

    reset_settings()
    import pandas as pd
    import skops.io
    from sqlmodel import Session

    from core.db import get_engine, migrate
    from core.demo.data import SENSITIVE, TARGET, write_demo_files
    from core.services.evidence import evaluate_version
    from core.services.inventory import register_version
    from core.services.permissions import OPERATOR
    from core.services.version_comparison import compare_versions
    from tests.core.retrained import retrained_logit

    migrate()
    files = write_demo_files(folder / "demo", n_rows=5_000)
    skops.io.dump(retrained_logit(pd.read_csv(files.train_csv)), folder / "logit-v2.skops")
    with Session(get_engine()) as session:
        ids = [
            register_version(
                session=session, actor=OPERATOR, name="credit", artifact=artifact,
                eval_data=files.eval_csv, train_data=files.train_csv, target=TARGET,
                sensitive=SENSITIVE,
            ).version_id
            for artifact in (files.model_paths["credit-gbm"], folder / "logit-v2.skops")
        ]  # fmt: skip
        for version_id in ids:
            evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=200)
        session.commit()
        size = files.model_paths["credit-gbm"].stat().st_size
        start = time.perf_counter()
        compare_versions(session=session, before_id=ids[0], after_id=ids[1])
        first = time.perf_counter() - start
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            compare_versions(session=session, before_id=ids[0], after_id=ids[1])
            times.append(time.perf_counter() - start)
    print(f"credit-gbm artifact {size / 1e6:.1f} MB against a retrained credit-logit")
    print(f"compare_versions first call: {first * 1000:.0f} ms")
    print(
        f"compare_versions again ({RUNS} runs): median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

"""Benchmark of ingesting a large production batch: checking every row, spilling the columns and
computing every drift statistic against a reference, with the peak memory it takes.

Prints figures measured in the same run; never asserts on wall-clock time.

    python tests/benchmarks/bench_drift.py [--rows 1000000] [--features 30] [--csv]

The batch (25 numeric and 5 categorical features, a record id, a sensitive column and the
model's output) is written first; each measurement then runs in a fresh child process, so its
peak resident memory (``ru_maxrss``) is its own. Measured: the chunked scan and all drift
statistics (PSI, KS, Wasserstein, chi-square, missing, unseen, out-of-range, per group) with
the policy's checks; for comparison, reading the whole file into pandas at once.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

CATEGORIES = np.array(["north", "south", "east", "west", "centre", "islands"], dtype=object)
REFERENCE_ROWS = 5_000


def _frame(rows: int, features: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_cat = min(5, features)
    data: dict[str, object] = {"record_id": [f"r{i:08d}" for i in range(rows)]}
    for j in range(features - n_cat):
        data[f"x{j:02d}"] = rng.normal(shift * (j % 3 == 0), 1.0, rows)
    for j in range(n_cat):
        probs = np.full(len(CATEGORIES), 1 / len(CATEGORIES))
        data[f"c{j}"] = CATEGORIES[rng.choice(len(CATEGORIES), rows, p=probs)]
    data["sex"] = np.array(["female", "male"], dtype=object)[rng.integers(0, 2, rows)]
    data["score"] = rng.beta(2 + shift, 2, rows)
    return pd.DataFrame(data)


def _measure(args: argparse.Namespace) -> dict[str, float]:
    from core.files.batches import ColumnSpill
    from core.rules.drift_checks import drift_checks
    from core.rules.monitoring_policy import monitoring_policy
    from core.services.batch_scan import BatchLayout, scan_batch
    from core.services.monitoring_drift import drift_results, operating_ranges

    path = Path(args.file)
    reference = _frame(REFERENCE_ROWS, args.features, seed=1, shift=0.0)
    features = tuple(c for c in reference.columns if c[0] in "xc")
    numeric = frozenset(c for c in features if c.startswith("x"))
    started = time.perf_counter()
    if args.mode == "pandas":
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        rows = len(frame)
        checks = 0
    else:
        layout = BatchLayout(
            features=features, numeric=numeric, id_column="record_id", output_column="score",
            groups=("sex",), probabilistic=True,
        )  # fmt: skip
        with ColumnSpill() as spill:
            scan = scan_batch(
                path, layout, allowed_groups=("sex",), score=None, quarantine=False, spill=spill
            )
            results = drift_results(
                scan=scan, layout=layout, reference=reference,
                reference_scores=reference["score"].to_numpy(),
                ranges=operating_ranges(reference, sorted(numeric)),
            )  # fmt: skip
            checks = len(drift_checks(results, monitoring_policy()))
            rows = scan.rows
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak_mb, "rows": rows, "checks": checks}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--csv", action="store_true", help="Also measure the batch as CSV.")
    parser.add_argument("--mode", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(_measure(args)))
        return
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.rows:,} rows, "
          f"{args.features} features, reference {REFERENCE_ROWS:,} rows")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        batch = _frame(args.rows, args.features, seed=2, shift=0.3)
        files = [Path(folder) / "batch.parquet"]
        batch.to_parquet(files[0], row_group_size=250_000)
        if args.csv:
            files.append(Path(folder) / "batch.csv")
            batch.to_csv(files[1], index=False)
        del batch
        for file in files:
            size = file.stat().st_size / 2**20
            for mode, label in (("drift", "chunked scan + every drift statistic + checks"),
                                ("pandas", "for comparison: the whole file into pandas")):  # fmt: skip
                out = subprocess.run(
                    [sys.executable, __file__, "--mode", mode, "--file", str(file),
                     "--features", str(args.features)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                got = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{file.suffix[1:]:>7} ({size:,.0f} MB)  {label:<48} "
                    f"{got['seconds']:6.2f} s   peak {got['peak_mb']:7.0f} MB"
                    + (f"   {got['checks']} checks" if mode == "drift" else "")
                )


if __name__ == "__main__":
    main()

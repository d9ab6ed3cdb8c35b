"""Benchmark of the fairness and performance metrics on a large table.

Prints figures and ratios measured in the same run; never asserts on wall-clock time.

    python tests/benchmarks/bench_fairness.py [--rows 1000000] [--fairlearn-rows N]

1. Full fairness report without intervals, from string columns (sex, age band and their
   intersection), against fairlearn's MetricFrame computing the same values.
2. The same report from already-coded integer columns, against one bare ``np.bincount``
   over precomputed integer codes.
3. The report with 1,000-replicate bootstrap intervals against the report without.
4. Row-based metrics (ROC AUC, KS, calibration, log loss, Brier) with intervals: cost per
   bootstrap replicate relative to one counting pass.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.metrics.fairness import FairnessResult
from core.metrics.performance import compute_performance
from core.rules.fairness_checks import assess_fairness
from core.rules.thresholds import FairnessPolicy

SEXES = np.array(["female", "male"], dtype=object)
AGE_BANDS = np.array(["18-25", "26-35", "36-50", "51-65", "66+"], dtype=object)


def make_data(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Applicants with a sex, an age band, an outcome, a score and a decision."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(SEXES, rows, p=[0.48, 0.52])
    age = rng.choice(AGE_BANDS, rows, p=[0.18, 0.27, 0.3, 0.17, 0.08])
    base = 0.3 + 0.05 * (sex == "male") + 0.04 * np.searchsorted(AGE_BANDS, age)
    y_true = (rng.random(rows) < base).astype(np.int64)
    score = np.clip(0.35 * y_true + 0.65 * rng.beta(2, 3, rows) + 0.03 * (sex == "male"), 0, 1)
    y_pred = (score >= 0.5).astype(np.int64)  # int64, as a classifier's predict() returns
    return {"sex": sex, "age_band": age, "y_true": y_true, "y_pred": y_pred, "score": score}


def best_of(function: Callable[[], Any], repeats: int) -> float:
    """Best wall-clock time of ``repeats`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def fairlearn_report(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """The same figures with fairlearn 0.15: one MetricFrame per column and intersection."""
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    metrics = {
        "count": count,
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "accuracy": accuracy_score,
        "precision": precision_score,
    }
    features = {
        "sex": pd.Series(data["sex"], name="sex"),
        "age_band": pd.Series(data["age_band"], name="age_band"),
        "sex × age_band": pd.DataFrame({"sex": data["sex"], "age_band": data["age_band"]}),
    }
    report = {}
    for name, sensitive in features.items():
        frame = MetricFrame(
            metrics=metrics,
            y_true=data["y_true"],
            y_pred=data["y_pred"],
            sensitive_features=sensitive,
        )
        difference, ratio = frame.difference(), frame.ratio()
        report[name] = {
            "by_group": frame.by_group,
            "demographic_parity_difference": difference["selection_rate"],
            "demographic_parity_ratio": ratio["selection_rate"],
            "equalized_odds_difference": max(
                difference["true_positive_rate"], difference["false_positive_rate"]
            ),
            "equalized_odds_ratio": min(ratio["true_positive_rate"], ratio["false_positive_rate"]),
        }
    return report


def largest_difference(ours: FairnessResult, theirs: dict[str, Any]) -> float:
    """Largest absolute difference between our figures and fairlearn's."""
    largest = 0.0
    for name, reference in theirs.items():
        feature = ours.feature(name)
        for index, row in reference["by_group"].iterrows():
            label = " × ".join(index) if isinstance(index, tuple) else str(index)
            group = feature.group(label)
            largest = max(largest, abs(group.count - row["count"]))
            for metric, value in group.metrics.items():
                if metric in row and value.value is not None:
                    largest = max(largest, abs(value.value - row[metric]))
        for key, value in reference.items():
            if key != "by_group":
                largest = max(largest, abs(feature.between_groups[key].value - value))
    return largest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--fairlearn-rows",
        type=int,
        default=None,
        help="time fairlearn on this many rows and scale linearly (default: all rows)",
    )
    parser.add_argument("--repeats", type=int, default=7, help="best-of-N for the fast paths")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument(
        "--row-replicates", type=int, default=20, help="replicates timed for row-based metrics"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = args.rows
    fairlearn_rows = min(args.fairlearn_rows or rows, rows)
    data = make_data(rows, args.seed)
    # Already-coded columns, as pandas stores categories (int8 codes), coded outside timing.
    sex_codes = pd.Categorical(data["sex"]).codes
    age_codes = pd.Categorical(data["age_band"]).codes
    every_group = FairnessPolicy(min_group_size=1)

    def report(sensitive: dict[str, Any], n_boot: int = 0) -> FairnessResult:
        return assess_fairness(
            y_true=data["y_true"],
            y_pred=data["y_pred"],
            sensitive=sensitive,
            n_boot=n_boot,
            policy=every_group,
        )

    strings = {"sex": data["sex"], "age_band": data["age_band"]}
    # The same columns as a DataFrame read from a file holds them (pandas str dtype).
    frame = pd.DataFrame({"sex": data["sex"], "age_band": data["age_band"]}, dtype="str")
    string_series = {"sex": frame["sex"], "age_band": frame["age_band"]}
    coded = {"sex": sex_codes, "age_band": age_codes}
    coded64 = {"sex": sex_codes.astype(np.int64), "age_band": age_codes.astype(np.int64)}
    precomputed = (
        (sex_codes.astype(np.intp) * len(AGE_BANDS) + age_codes) * 2 + data["y_true"]
    ) * 2 + data["y_pred"]
    cells = 2 * len(AGE_BANDS) * 4

    print(f"Gatehouse fairness benchmark: {rows:,} rows, Python {platform.python_version()},")
    print(f"numpy {np.__version__}, pandas {pd.__version__}, {platform.machine()}")
    print("Sensitive columns: sex (2 values), age_band (5 values) and sex × age_band;")
    print("y_true, y_pred int64; best of", args.repeats, "runs for the fast paths.\n")

    counting = best_of(lambda: np.bincount(precomputed, minlength=cells), args.repeats * 3)
    ours_strings = best_of(lambda: report(strings), args.repeats)
    ours_series = best_of(lambda: report(string_series), args.repeats)
    ours_coded = best_of(lambda: report(coded), args.repeats * 3)
    ours_coded64 = best_of(lambda: report(coded64), args.repeats * 3)
    with_ci_strings = best_of(lambda: report(strings, args.replicates), max(args.repeats // 2, 1))
    with_ci_coded = best_of(lambda: report(coded, args.replicates), args.repeats * 2)

    subset = {key: values[:fairlearn_rows] for key, values in data.items()}
    start = time.perf_counter()
    theirs = fairlearn_report(subset)
    fairlearn_seconds = time.perf_counter() - start
    fairlearn_full = fairlearn_seconds * rows / fairlearn_rows
    ours_subset = assess_fairness(
        y_true=subset["y_true"],
        y_pred=subset["y_pred"],
        sensitive={"sex": subset["sex"], "age_band": subset["age_band"]},
        n_boot=0,
        policy=every_group,
    )
    agreement = largest_difference(ours_subset, theirs)

    score_grid = np.round(data["score"], 3)

    def performance(score: np.ndarray, n_boot: int) -> None:
        compute_performance(y_true=data["y_true"], y_score=score, n_boot=n_boot)

    row_costs = {}
    for label, score, replicates in (
        ("continuous scores", data["score"], args.row_replicates),
        ("scores on a 0.001 grid", score_grid, args.row_replicates * 10),
    ):
        without = best_of(lambda score=score: performance(score, 0), 3)
        with_ci = best_of(lambda score=score, r=replicates: performance(score, r), 3)
        distinct = len(np.unique(score))
        row_costs[label] = (without, (with_ci - without) / replicates, distinct, replicates)

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.1f} s"

    def verdict(ok: bool) -> str:
        return "meets target" if ok else "MISSES target"

    speedup = fairlearn_full / ours_strings
    lines = [
        ("1. Report without intervals, string columns", ms(ours_strings), "object arrays"),
        (
            "   fairlearn MetricFrame, same figures"
            + ("" if fairlearn_rows == rows else f" (timed on {fairlearn_rows:,} rows, x linear)"),
            ms(fairlearn_full),
            f"{speedup:,.0f}x faster; target >= 1,000x: {verdict(speedup >= 1000)}",
        ),
        (
            "   Same, string columns as pandas str Series",
            ms(ours_series),
            f"{fairlearn_full / ours_series:,.0f}x faster than fairlearn",
        ),
        (
            f"   largest |ours - fairlearn| on {fairlearn_rows:,} rows",
            f"{agreement:.1e}",
            "counts, 6 rates per group, dp/eo differences and ratios",
        ),
        ("2. One bare np.bincount over precomputed codes", ms(counting), "baseline"),
        (
            "   Report, coded columns (pandas int8 codes)",
            ms(ours_coded),
            f"{ours_coded / counting:.1f}x the bincount; "
            f"target <= 5x: {verdict(ours_coded / counting <= 5)}",
        ),
        (
            "   Report, coded columns as int64",
            ms(ours_coded64),
            f"{ours_coded64 / counting:.1f}x the bincount",
        ),
        (
            f"3. Report with {args.replicates:,}-replicate intervals, strings",
            ms(with_ci_strings),
            f"{with_ci_strings / ours_strings:.2f}x without; "
            f"target <= 3x: {verdict(with_ci_strings / ours_strings <= 3)}",
        ),
        (
            f"   Report with {args.replicates:,}-replicate intervals, coded",
            ms(with_ci_coded),
            f"{with_ci_coded / ours_coded:.2f}x without; "
            f"target <= 3x: {verdict(with_ci_coded / ours_coded <= 3)}",
        ),
    ]
    for label, (without, per_replicate, distinct, replicates) in row_costs.items():
        lines.append(
            (
                f"4. AUC, KS, calibration, log loss, Brier: {label}",
                ms(without),
                f"without intervals ({distinct:,} distinct scores, {replicates} replicates timed)",
            )
        )
        lines.append(
            (
                "   cost per bootstrap replicate",
                ms(per_replicate),
                f"{per_replicate / counting:.1f}x one counting pass; "
                f"{args.replicates:,} replicates: {ms(per_replicate * args.replicates)}",
            )
        )
    width = max(len(label) for label, _, _ in lines)
    for label, figure, note in lines:
        print(f"{label:<{width}}  {figure:>11}  {note}")
    if fairlearn_rows != rows:
        print(
            f"\nfairlearn was timed on {fairlearn_rows:,} rows ({ms(fairlearn_seconds)}) and "
            f"scaled linearly to {rows:,} rows."
        )
    print(
        "\nRow-based cost per replicate = (time with R replicates - time without) / R, "
        "best of 3 each."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

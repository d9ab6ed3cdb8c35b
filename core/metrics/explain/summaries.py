"""Sampling rows and backgrounds, global importance with bootstrap intervals, and stability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from core.metrics.explain.common import (
    BACKGROUND,
    BOOTSTRAP,
    PERMUTATION,
    SAMPLE,
    STABILITY_BOOT,
    STABILITY_ROWS,
    STABILITY_RUNS,
    TREE,
    Progress,
    is_numeric,
    seeded_rng,
)
from core.metrics.explain.explainers import RawShap, run_explainer
from core.metrics.explain.messages import (
    NO_BACKGROUND_VARIATION_NOTE,
    STABILITY_BACKGROUND,
    STABILITY_BOOTSTRAP,
    STABILITY_BOOTSTRAP_FALLBACK,
)
from core.metrics.explain.plan import Plan
from core.metrics.explain.results import FeatureImportance, StabilityReport


def strata_of(y: pd.Series) -> np.ndarray:
    if is_numeric(y) and y.nunique() > 20:
        return np.asarray(pd.qcut(y.rank(method="first"), 5, labels=False).to_numpy())
    return np.asarray(pd.factorize(y, use_na_sentinel=False)[0])


def sample_positions(n: int, size: int, strata: np.ndarray | None, seed: int) -> np.ndarray:
    """Row positions of a seeded sample of ``size`` rows, proportional per stratum, in order."""
    if size >= n:
        return np.arange(n)
    rng = seeded_rng(seed, SAMPLE)
    if strata is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    labels, counts = np.unique(strata, return_counts=True)
    quotas = counts * size / n
    take = np.floor(quotas).astype(int)
    # Largest remainders get the rows left over, so the total is exactly ``size``.
    for j in np.argsort(-(quotas - take), kind="stable")[: size - int(take.sum())]:
        take[j] += 1
    chosen = [
        rng.choice(np.flatnonzero(strata == label), size=k, replace=False)
        for label, k in zip(labels, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def background_sample(pool: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    if len(pool) <= size:
        return pool
    positions = np.sort(seeded_rng(seed, BACKGROUND).choice(len(pool), size=size, replace=False))
    return pool.iloc[positions]


def _importance(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    magnitude = np.abs(values)
    if weights is None:
        return np.asarray(magnitude.mean(axis=0))
    return np.asarray(weights @ magnitude / weights.sum(axis=1, keepdims=True))


def _bootstrap_weights(n: int, n_boot: int, seed: int, purpose: int) -> np.ndarray:
    """Each row: how often each of n rows is drawn in one bootstrap resample."""
    draws = seeded_rng(seed, purpose).integers(0, n, size=(n_boot, n))
    draws += np.arange(n_boot)[:, None] * n
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def _ranks(importance: np.ndarray) -> np.ndarray:
    order = np.argsort(-importance, kind="stable")
    ranks = np.empty(len(importance), dtype=int)
    ranks[order] = np.arange(1, len(importance) + 1)
    return ranks


def _tau(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    value = float(kendalltau(a, b).statistic)
    return None if math.isnan(value) else value


def importance_table(
    features: tuple[str, ...], values: np.ndarray, n_boot: int, seed: int
) -> tuple[FeatureImportance, ...]:
    importance = _importance(values)
    if n_boot > 0 and len(values) > 1:
        boot = _importance(values, _bootstrap_weights(len(values), n_boot, seed, BOOTSTRAP))
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    else:
        low, high = importance, importance
    total = float(importance.sum())
    ranks = _ranks(importance)
    order = np.argsort(ranks)
    return tuple(
        FeatureImportance(
            feature=features[j],
            rank=int(ranks[j]),
            mean_abs_shap=float(importance[j]),
            ci_low=float(low[j]),
            ci_high=float(high[j]),
            share=float(importance[j] / total) if total > 0 else 0.0,
        )
        for j in order
    )


def stability_report(
    *,
    plan: Plan,
    raw: RawShap,
    sample: pd.DataFrame,
    pool: pd.DataFrame,
    background_size: int,
    seed: int,
    top_k: int,
    rank_tolerance: int,
    stability_rows: int,
    max_evals: int,
    progress: Progress | None,
    notes: list[str],
) -> StabilityReport:
    seeds = tuple(seed + i for i in range(1, STABILITY_RUNS + 1))
    features = plan.features
    main_values = raw.values
    runs: list[np.ndarray] = []
    vary_background = plan.kind != TREE and len(pool) > background_size
    if plan.kind != TREE and not vary_background:
        notes.append(NO_BACKGROUND_VARIATION_NOTE.format(rows=len(pool), size=background_size))
    if vary_background:
        # The permutation explainer is costly: re-explain a seeded subset of the rows only.
        positions = np.arange(len(sample))
        if plan.kind == PERMUTATION and len(sample) > stability_rows:
            chosen = seeded_rng(seed, STABILITY_ROWS).choice(
                len(sample), stability_rows, replace=False
            )
            positions = np.sort(chosen)
        rows = len(positions)
        subset = sample.iloc[positions]
        main_values = raw.values[positions]
        for i, run_seed in enumerate(seeds):
            start = 0.8 + 0.15 * i / len(seeds)
            _, run_raw = run_explainer(
                plan,
                subset,
                background_sample(pool, background_size, run_seed),
                raw.output[positions],
                seed=run_seed,
                max_evals=max_evals,
                progress=progress,
                span=(start, start + 0.15 / len(seeds)),
            )
            runs.append(_importance(run_raw.values))
        method = "background"
        description = STABILITY_BACKGROUND.format(runs=len(seeds), rows=rows)
    else:
        rows = len(sample)
        for run_seed in seeds:
            weights = _bootstrap_weights(rows, 1, run_seed, STABILITY_BOOT)
            runs.append(_importance(raw.values, weights)[0])
        method = "bootstrap_rows"
        description = (
            STABILITY_BOOTSTRAP if plan.kind == TREE else STABILITY_BOOTSTRAP_FALLBACK
        ).format(runs=len(seeds))
    # Top features come from all explained rows; ranks are compared on the rows re-explained.
    top = np.argsort(_ranks(_importance(raw.values)))[: min(top_k, len(features))]
    main = _importance(main_values)
    main_ranks = _ranks(main)
    run_ranks = [_ranks(run) for run in runs]
    taus = tuple(_tau(main[top], run[top]) for run in runs)
    unstable = tuple(
        features[j]
        for j in top
        if any(abs(int(r[j]) - int(main_ranks[j])) > rank_tolerance for r in run_ranks)
    )
    known = [t for t in taus if t is not None]
    return StabilityReport(
        method=method,
        description=description,
        seeds=seeds,
        rows=rows,
        top_features=tuple(features[j] for j in top),
        ranks={features[j]: (int(main_ranks[j]), *(int(r[j]) for r in run_ranks)) for j in top},
        kendall_tau=taus,
        min_kendall_tau=min(known) if known else None,
        rank_tolerance=rank_tolerance,
        unstable_features=unstable,
    )

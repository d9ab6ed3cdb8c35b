"""Performance figures from cell counts: the form every bootstrap replicate takes.

Rows with the same score, label and decision are one cell; a replicate is a vector of cell
counts (an exact draw of ``n`` rows with replacement), and every classification figure of a
replicate is computed from those counts, AUC and KS by the Mann–Whitney count over sorted score
levels. Regression figures come from row counts of rows sorted by their absolute error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics.counts import rates_from_counts

__all__ = ["ScoreCells", "regression_statistics", "score_cells", "score_statistics"]


@dataclass(frozen=True, eq=False)
class ScoreCells:
    """Rows grouped into cells of equal (score, label, decision), sorted by score.

    Per-level and per-bin figures come from cumulative counts at the last cell of each
    score level, and from sums over the consecutive cells of each calibration bin.
    """

    label: np.ndarray  # 0/1 actual outcome of each cell
    decision: np.ndarray  # 0/1 decision of each cell
    score: np.ndarray
    level_start: np.ndarray | None  # first cell of each distinct score; None: one cell each
    losses: np.ndarray | None  # (2, cells): log loss and squared error of one row
    bin_start: np.ndarray | None  # first cell of each non-empty calibration bin
    bin_id: np.ndarray | None  # which of the n_bins each of those is


def score_cells(
    truth: np.ndarray, decisions: np.ndarray, score: np.ndarray, n_bins: int, probabilities: bool
) -> tuple[ScoreCells, np.ndarray, np.ndarray | None]:
    levels, level_of_row = np.unique(score, return_inverse=True)
    key = level_of_row.astype(np.int64) * 4 + 2 * truth.astype(np.int64) + decisions
    cells, counts = np.unique(key, return_counts=True)
    level = cells // 4
    label = (cells // 2) % 2
    cell_score = levels[level]
    level_start = np.flatnonzero(np.diff(level, prepend=-1))
    losses = bin_start = bin_id = edges = None
    if probabilities:
        # As scikit-learn: clip to [eps, 1 - eps] the probability of the actual class.
        eps = np.finfo(np.float64).eps
        actual = np.where(label == 1, cell_score, 1.0 - cell_score)
        losses = np.stack([-np.log(np.clip(actual, eps, 1 - eps)), (label - cell_score) ** 2])
        # As calibration_curve(strategy="quantile"): bins by percentile of the score; the
        # bin of a cell grows with its score, so each bin is a run of consecutive cells.
        edges = np.percentile(score, np.linspace(0, 100, n_bins + 1))
        bins = np.searchsorted(edges[1:-1], cell_score)
        bin_start = np.flatnonzero(np.diff(bins, prepend=-1))
        bin_id = bins[bin_start]
    table = ScoreCells(
        label=label,
        decision=cells % 2,
        score=cell_score,
        level_start=None if len(level_start) == len(cells) else level_start,
        losses=losses,
        bin_start=bin_start,
        bin_id=bin_id,
    )
    return table, counts, edges


def score_statistics(cells: ScoreCells, counts: np.ndarray) -> np.ndarray:
    """All classification figures from cell counts, as one vector.

    Order: accuracy, precision, recall, F1, AUC, Gini, KS, log loss, Brier score, then the
    mean prediction and the observed rate of each calibration bin. Counts stay integers
    where they can, so that AUC and KS are exact ratios of integers.
    """
    positives = counts * cells.label
    negatives = counts - positives
    n, n_pos = int(counts.sum()), int(positives.sum())
    n_neg = n - n_pos
    selected, tp = int(counts @ cells.decision), int(positives @ cells.decision)
    confusion = np.array([n_neg - (selected - tp), selected - tp, n_pos - tp, tp])
    rates = rates_from_counts(confusion)
    auc = ks = np.nan
    if n_pos > 0 and n_neg > 0:
        pos, neg = positives, negatives
        if cells.level_start is not None:  # several cells share a score: sum them
            pos = np.add.reduceat(positives, cells.level_start)
            neg = np.add.reduceat(negatives, cells.level_start)
        cum_neg = np.cumsum(neg)
        # Mann–Whitney: each positive beats the negatives below it, ties count a half.
        twice_wins = 2 * int(pos @ cum_neg) - int(pos @ neg)
        auc = twice_wins / (2 * n_pos * n_neg)
        # KS: largest gap between the two empirical distribution functions, in integers.
        gap = np.cumsum(pos) * n_neg
        gap -= cum_neg * n_pos
        ks = max(int(gap.max()), -int(gap.min())) / (n_pos * n_neg)
    values = [
        rates["accuracy"],
        rates["precision"],
        rates["true_positive_rate"],
        rates["f1"],
        auc,
        2 * auc - 1,
        ks,
    ]
    if cells.losses is None or cells.bin_start is None:
        return np.array([*values, np.nan, np.nan], dtype=np.float64)
    log_loss, brier = cells.losses @ counts.astype(np.float64) / n
    in_bin = np.add.reduceat(counts, cells.bin_start)
    bin_pos = np.add.reduceat(positives, cells.bin_start)
    bin_score = np.add.reduceat(counts * cells.score, cells.bin_start)
    with np.errstate(invalid="ignore"):  # a bin a replicate left empty: undefined
        predicted, observed = bin_score / in_bin, bin_pos / in_bin
    return np.concatenate([[*values, log_loss, brier], predicted, observed])


def _lerp(low: np.ndarray, high: np.ndarray, t: np.ndarray) -> np.ndarray:
    # numpy's linear interpolation, which is exact at both ends.
    diff = high - low
    result: np.ndarray = np.where(t >= 0.5, high - diff * (1 - t), low + diff * t)
    return result


def regression_statistics(
    counts: np.ndarray,
    abs_err: np.ndarray,
    squared: np.ndarray,
    centred: np.ndarray,
    quantiles: np.ndarray,
) -> np.ndarray:
    """MAE, RMSE, R² and absolute-error quantiles from row counts (rows sorted by error)."""
    weights = counts.astype(np.float64)
    n = weights.sum()
    mse = weights @ squared / n
    mean = weights @ centred / n
    total = weights @ (centred * centred) - n * mean * mean
    r2 = 1 - mse * n / total if total > 0 else np.nan
    cumulative = np.cumsum(counts)
    position = quantiles * (n - 1)
    below = np.floor(position)
    low = abs_err[np.searchsorted(cumulative, below, side="right")]
    high = abs_err[np.searchsorted(cumulative, np.minimum(below + 1, n - 1), side="right")]
    values = _lerp(low, high, position - below)
    return np.concatenate([[weights @ abs_err / n, np.sqrt(mse), r2], values])

"""Bootstrap helpers: percentile bounds, exact resampling of counts, seeded generators."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics.bootstrap import (
    Estimate,
    estimates,
    make_rng,
    percentile_bounds,
    resample_cell_counts,
    resample_group_cells,
)


def test_percentile_bounds_equal_numpy_quantiles() -> None:
    rng = np.random.default_rng(0)
    replicates = rng.normal(size=(4, 999))
    lower, upper = percentile_bounds(replicates, ci=0.95)
    assert np.allclose(lower, np.quantile(replicates, 0.025, axis=1), rtol=0, atol=1e-12)
    assert np.allclose(upper, np.quantile(replicates, 0.975, axis=1), rtol=0, atol=1e-12)


def test_percentile_bounds_skip_undefined_replicates_without_warnings() -> None:
    replicates = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan], [4.0, np.nan]]).T
    lower, upper = percentile_bounds(replicates, ci=0.5)
    assert lower[0] == pytest.approx(np.quantile([1.0, 2.0, 4.0], 0.25))
    assert upper[0] == pytest.approx(np.quantile([1.0, 2.0, 4.0], 0.75))
    assert np.isnan(lower[1]) and np.isnan(upper[1])


def test_estimates_keep_undefined_values_undefined() -> None:
    replicates = np.array([[0.1, 0.5], [0.2, 0.6], [0.3, 0.7]]).T
    result = estimates(np.array([0.2, np.nan]), replicates, ci=0.9)
    assert result[1] == Estimate(None)
    assert result[0].value == 0.2
    assert type(result[0].lower) is float
    assert result[0].to_dict() == {"value": 0.2, "lower": result[0].lower, "upper": result[0].upper}
    assert estimates(np.array([0.5]), None, ci=0.95) == [Estimate(0.5)]


def test_group_cells_keep_group_sizes_and_centre_on_the_counts() -> None:
    counts = np.array([[50, 10, 5, 35], [400, 100, 200, 300], [1, 0, 0, 1]])
    draws = resample_group_cells(counts, n_boot=4000, rng=make_rng(1, "g"))
    assert draws.shape == (4000, 3, 4)
    assert (draws.sum(axis=2) == counts.sum(axis=1)).all()
    assert np.allclose(draws.mean(axis=0), counts, rtol=0.05, atol=0.5)
    assert (draws[:, 2, 1:3] == 0).all()  # empty cells stay empty


@pytest.mark.parametrize("cells", [5, 3000])  # a multinomial over cells, or row positions
def test_cell_counts_are_a_row_bootstrap(cells: int) -> None:
    rng = np.random.default_rng(2)
    counts = rng.integers(1, 4, cells) if cells > 100 else np.array([100, 5, 60, 1, 34])
    n = counts.sum()
    draws = np.array(list(resample_cell_counts(counts, n_boot=2000, rng=make_rng(0, "c"))))
    assert draws.shape == (2000, cells)
    assert (draws.sum(axis=1) == n).all()
    # Multinomial(n, counts / n): mean counts and variance n p (1 - p).
    p = counts / n
    assert np.allclose(draws.mean(axis=0), counts, atol=4 * np.sqrt(n * p * (1 - p) / 2000) + 1e-9)
    first = np.argmax(counts)
    assert draws[:, first].var() == pytest.approx(n * p[first] * (1 - p[first]), rel=0.15)


def test_generators_are_seeded_and_keyed() -> None:
    assert make_rng(3, "a").random() == make_rng(3, "a").random()
    assert make_rng(3, "a").random() != make_rng(3, "b").random()
    assert make_rng(3, "a").random() != make_rng(4, "a").random()

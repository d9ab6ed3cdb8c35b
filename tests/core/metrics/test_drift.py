"""Drift statistics against scipy on the same data, and their properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from core.metrics.drift import (
    categorical_drift,
    chi_square,
    ks_two_sample,
    numeric_drift,
    psi,
    psi_reading,
    wasserstein,
)

SIZES = [(40, 40), (200, 5000), (5000, 200), (3, 11), (1000, 1000)]


def _samples(n1: int, n2: int, *, ties: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n1), rng.normal(0.4, 1.3, size=n2)
    return (np.round(a, 1), np.round(b, 1)) if ties else (a, b)


@pytest.mark.parametrize(("n1", "n2"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_ks_matches_scipy(n1: int, n2: int, ties: bool) -> None:
    a, b = _samples(n1, n2, ties=ties)
    statistic, pvalue = ks_two_sample(a, b)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert pvalue == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("n1", "n2"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_wasserstein_matches_scipy(n1: int, n2: int, ties: bool) -> None:
    a, b = _samples(n1, n2, ties=ties, seed=1)
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)


@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60),
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60),
)
@settings(max_examples=200, deadline=None)
# scipy's p-value warns on degenerate samples (two single rows); only the statistics are compared.
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_ks_and_wasserstein_match_scipy_on_any_sample(a: list[float], b: list[float]) -> None:
    x, y = np.array(a), np.array(b)
    statistic, _ = ks_two_sample(x, y)
    assert statistic == pytest.approx(stats.ks_2samp(x, y, method="asymp").statistic, abs=1e-12)
    assert wasserstein(x, y) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-9, abs=1e-9)


def test_missing_values_are_left_out_and_counted() -> None:
    a, b = _samples(300, 400, ties=False)
    b_missing = np.concatenate([b, [np.nan] * 100])
    result = numeric_drift(feature="x", reference=a, production=b_missing)
    assert result.missing_rate == pytest.approx(100 / 500)
    assert result.reference_missing_rate == 0
    assert result.ks_statistic == pytest.approx(stats.ks_2samp(a, b).statistic)
    assert result.wasserstein == pytest.approx(stats.wasserstein_distance(a, b))


@pytest.mark.parametrize(
    "table",
    [
        ({"a": 10, "b": 20, "c": 5}, {"a": 30, "b": 10, "d": 3}),
        ({"x": 100, "y": 120}, {"x": 90, "y": 150}),  # one degree of freedom: no Yates correction
        ({"1": 5, "2": 7, "3": 9, "4": 1}, {"1": 50, "2": 70, "3": 90, "4": 10}),
    ],
)
def test_chi_square_matches_scipy(table: tuple[dict[str, int], dict[str, int]]) -> None:
    ref, prod = table
    cats = sorted(set(ref) | set(prod))
    expected = stats.chi2_contingency(
        [[ref.get(c, 0) for c in cats], [prod.get(c, 0) for c in cats]], correction=False
    )
    statistic, pvalue, dof = chi_square(ref, prod)
    assert statistic == pytest.approx(expected[0], rel=1e-12)
    assert pvalue == pytest.approx(expected[1], rel=1e-9)
    assert dof == expected[2]


def test_chi_square_of_a_single_category_is_undefined() -> None:
    assert chi_square({"a": 5}, {"a": 9}) == (None, None, 0)


def test_psi_of_a_sample_against_itself_is_zero() -> None:
    a, _ = _samples(5000, 1, ties=False)
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(7)
    assert psi(a, rng.permutation(a)) == pytest.approx(0.0, abs=1e-12)
    # A fresh sample of the same population reads stable.
    assert psi(a, rng.normal(size=5000)) < 0.1  # type: ignore[operator]


@given(st.lists(st.floats(-100, 100), min_size=20, max_size=300))
@settings(max_examples=100, deadline=None)
def test_psi_against_itself_is_near_zero_for_any_sample(values: list[float]) -> None:
    x = np.array(values)
    assert psi(x, x) == pytest.approx(0.0, abs=1e-12)


def test_psi_by_hand_on_reference_deciles() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=10_000)
    prod = rng.normal(0.5, 1, size=10_000)
    edges = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
    e = np.histogram(ref, bins=[-np.inf, *edges, np.inf])[0] / len(ref)
    a = np.histogram(prod, bins=[-np.inf, *edges, np.inf])[0] / len(prod)
    assert psi(ref, prod) == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)


def test_psi_reading_follows_the_usual_bands() -> None:
    assert [psi_reading(v) for v in (0.05, 0.1, 0.25, 0.26, None)] == [
        "stable",
        "moderate",
        "moderate",
        "significant",
        "undefined",
    ]


def test_out_of_range_share_counts_values_outside_the_operating_range() -> None:
    prod = np.array([-5.0, 0.0, 1.0, 2.0, 9.0, np.nan])
    result = numeric_drift(
        feature="x", reference=np.array([0.0, 1.0, 2.0]), production=prod, operating_range=(0, 2)
    )
    assert result.out_of_range_share == pytest.approx(2 / 5)


def test_categorical_drift_names_unseen_categories_and_missing_rates() -> None:
    result = categorical_drift(
        feature="region",
        reference={"north": 50, "south": 50},
        production={"north": 40, "south": 40, "west": 15, "east": 5},
        reference_missing=0,
        production_missing=25,
    )
    assert result.unseen_categories == ("west", "east")
    assert result.unseen_share == pytest.approx(20 / 100)
    assert result.missing_rate == pytest.approx(25 / 125)
    assert result.psi_reading == "significant"


def test_categorical_counts_compare_as_text() -> None:
    result = categorical_drift(feature="n", reference={1: 10, 2: 10}, production={"1": 10, "2": 10})
    assert result.unseen_categories == ()
    assert result.psi == pytest.approx(0.0)

"""Drift of production data from a reference sample: PSI, Kolmogorov–Smirnov, Wasserstein,
chi-square, missing values, unseen categories and values outside the operating range.

Pure numpy: arrays (or category counts) in, frozen results out. The reference is the version's
evaluation data, small; production batches can be large (a million rows), so every statistic is
computed from the sorted production column with work linear in its length plus a search per
reference value, never from the sorted union of both samples:

- Kolmogorov–Smirnov: between two reference values the reference CDF is flat and the production
  CDF only rises, so the largest gap lies at a reference value or just before one; two
  ``searchsorted`` calls per reference value find it exactly (the statistic scipy's
  ``ks_2samp`` computes from the union). The p-value is the asymptotic one
  (``ks_2samp(method="asymp")``): with thousands of rows the exact method is out of reach.
- Wasserstein-1: the area between the two quantile functions; each production quantile step
  holds at most one reference step when the reference is the smaller sample, so the area is
  summed in one pass (scipy's ``wasserstein_distance`` on the same data).
- PSI: ten bins at the reference deciles, proportions floored at 1e-4 so an empty bin counts as
  rare rather than infinite. The usual reading: below 0.1 stable, 0.1 to 0.25 moderate, above
  0.25 significant.
- Chi-square: the test of homogeneity on the reference and production counts per category
  (``chi2_contingency(..., correction=False)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from core.metrics.plain import PlainRecord, to_float

__all__ = [
    "MODERATE",
    "PSI_BINS",
    "PSI_FLOOR",
    "SIGNIFICANT",
    "CategoricalDrift",
    "NumericDrift",
    "categorical_drift",
    "chi_square",
    "ks_two_sample",
    "numeric_drift",
    "psi",
    "psi_reading",
    "wasserstein",
]

PSI_BINS = 10
PSI_FLOOR = 1e-4
#: The usual reading of PSI: below MODERATE stable, up to SIGNIFICANT moderate, above significant.
MODERATE = 0.1
SIGNIFICANT = 0.25
_SHOWN = 10  # unseen categories named at most


def psi_reading(value: float | None) -> str:
    """ "stable" (below 0.1), "moderate" (0.1 to 0.25), "significant" (above 0.25)."""
    if value is None:
        return "undefined"
    if value < MODERATE:
        return "stable"
    return "moderate" if value <= SIGNIFICANT else "significant"


def _psi_of(expected: np.ndarray, actual: np.ndarray) -> float | None:
    if expected.sum() == 0 or actual.sum() == 0:
        return None
    e = np.maximum(expected / expected.sum(), PSI_FLOOR)
    a = np.maximum(actual / actual.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _finite_sorted(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return np.sort(array[~np.isnan(array)])


def psi_edges(reference_sorted: np.ndarray, bins: int = PSI_BINS) -> np.ndarray:
    """Inner bin edges at the reference quantiles (duplicates dropped for heavy ties)."""
    if len(reference_sorted) == 0:
        return np.empty(0)
    return np.unique(np.quantile(reference_sorted, np.linspace(0, 1, bins + 1)[1:-1]))


def _bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # Bins are [edge_k, edge_k+1): a value equal to an edge falls in the bin above it.
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [len(sorted_values)])))


def psi(reference: np.ndarray, production: np.ndarray, *, bins: int = PSI_BINS) -> float | None:
    """Population stability index of ``production`` against ``reference`` (NaN left out)."""
    ref, prod = _finite_sorted(reference), _finite_sorted(production)
    edges = psi_edges(ref, bins)
    return _psi_of(_bin_counts(ref, edges), _bin_counts(prod, edges))


def _ks_sorted(ref: np.ndarray, prod: np.ndarray) -> tuple[float | None, float | None]:
    n1, n2 = len(ref), len(prod)
    if n1 == 0 or n2 == 0:
        return None, None
    points = np.unique(ref)
    ref_at = np.searchsorted(ref, points, side="right") / n1
    ref_before = np.concatenate(([0.0], ref_at[:-1]))
    prod_at = np.searchsorted(prod, points, side="right") / n2
    prod_before = np.searchsorted(prod, points, side="left") / n2
    d = float(max(np.max(np.abs(ref_at - prod_at)), np.max(np.abs(ref_before - prod_before))))
    en = max(round(n1 * n2 / (n1 + n2)), 1)  # scipy's effective size; 1 for two single rows
    return d, float(np.clip(stats.kstwo.sf(d, en), 0.0, 1.0))


def ks_two_sample(
    reference: np.ndarray, production: np.ndarray
) -> tuple[float | None, float | None]:
    """The two-sample Kolmogorov–Smirnov statistic and its asymptotic p-value (NaN left out)."""
    return _ks_sorted(_finite_sorted(reference), _finite_sorted(production))


def _wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) == 0 or len(b) == 0:
        return None
    if len(a) > len(b):
        a, b = b, a  # a: the smaller sample; each step of b's quantile holds at most one of a's
    n, m = len(a), len(b)
    # Step j of b's quantile, [j/m, (j+1)/m), starts in step k_j = floor(j n / m) of a's.
    k = np.repeat(np.arange(n), np.diff(-(-np.arange(n + 1) * m // n)))  # exact integers
    area = float(np.abs(b - a[k]).sum()) / m
    # Where a's step k ends inside b's step j, the rest of step j meets a's step k + 1.
    ends = np.arange(1, n)
    j = ends * m // n
    inside = j * n != ends * m  # the cut falls strictly inside step j
    j, ends = j[inside], ends[inside]
    width = (j + 1) / m - ends / n
    area += float(((np.abs(b[j] - a[ends]) - np.abs(b[j] - a[ends - 1])) * width).sum())
    return area


def wasserstein(reference: np.ndarray, production: np.ndarray) -> float | None:
    """The Wasserstein-1 (earth mover's) distance between the two samples (NaN left out)."""
    return _wasserstein_sorted(_finite_sorted(reference), _finite_sorted(production))


def chi_square(
    reference: Mapping[Any, int], production: Mapping[Any, int]
) -> tuple[float | None, float | None, int]:
    """Chi-square test of homogeneity of two category count tables: statistic, p-value, dof.

    Categories absent from both are left out; undefined (None) with fewer than two categories.
    """
    categories = sorted(set(reference) | set(production), key=str)
    table = np.array(
        [[reference.get(c, 0) for c in categories], [production.get(c, 0) for c in categories]],
        dtype=float,
    )
    table = table[:, table.sum(axis=0) > 0]
    dof = table.shape[1] - 1
    if dof < 1 or (table.sum(axis=1) == 0).any():
        return None, None, max(dof, 0)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, float(stats.chi2.sf(statistic, dof)), dof


@dataclass(frozen=True)
class NumericDrift(PlainRecord):
    """Drift of one numeric column (a feature or the model's score)."""

    feature: str
    kind: str
    reference_rows: int
    rows: int
    reference_missing_rate: float | None
    missing_rate: float | None
    psi: float | None
    psi_reading: str
    ks_statistic: float | None
    ks_pvalue: float | None
    wasserstein: float | None
    reference_mean: float | None
    mean: float | None
    out_of_range_share: float | None
    operating_range: tuple[float, float] | None
    bins: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class CategoricalDrift(PlainRecord):
    """Drift of one categorical column."""

    feature: str
    kind: str
    reference_rows: int
    rows: int
    reference_missing_rate: float | None
    missing_rate: float | None
    psi: float | None
    psi_reading: str
    chi2_statistic: float | None
    chi2_pvalue: float | None
    chi2_dof: int
    unseen_categories: tuple[str, ...]
    unseen_share: float | None
    categories: dict[str, list[Any]] = field(default_factory=dict)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def numeric_drift(
    *,
    feature: str,
    reference: np.ndarray,
    production: np.ndarray,
    operating_range: tuple[float, float] | None = None,
    kind: str = "numeric",
) -> NumericDrift:
    """Every drift statistic of one numeric column; NaN counts as missing.

    ``operating_range`` is the (min, max) seen when the model was built; the share of
    production values outside it is reported (None without a range).
    """
    ref_all = np.asarray(reference, dtype=float)
    prod_all = np.asarray(production, dtype=float)
    ref, prod = _finite_sorted(ref_all), _finite_sorted(prod_all)
    edges = psi_edges(ref)
    ref_counts, prod_counts = _bin_counts(ref, edges), _bin_counts(prod, edges)
    statistic, pvalue = _ks_sorted(ref, prod)
    value = _psi_of(ref_counts, prod_counts)
    outside = None
    if operating_range is not None and len(prod):
        low, high = operating_range
        below = np.searchsorted(prod, low, side="left")
        above = len(prod) - np.searchsorted(prod, high, side="right")
        outside = float((below + above) / len(prod))
    return NumericDrift(
        feature=feature,
        kind=kind,
        reference_rows=len(ref_all),
        rows=len(prod_all),
        reference_missing_rate=_rate(len(ref_all) - len(ref), len(ref_all)),
        missing_rate=_rate(len(prod_all) - len(prod), len(prod_all)),
        psi=value,
        psi_reading=psi_reading(value),
        ks_statistic=statistic,
        ks_pvalue=pvalue,
        wasserstein=_wasserstein_sorted(ref, prod),
        reference_mean=to_float(ref.mean()) if len(ref) else None,
        mean=to_float(prod.mean()) if len(prod) else None,
        out_of_range_share=outside,
        operating_range=operating_range,
        bins={
            "edges": [float(e) for e in edges],
            "reference": [_rate(int(c), len(ref)) for c in ref_counts],
            "production": [_rate(int(c), len(prod)) for c in prod_counts],
        },
    )


def categorical_drift(
    *,
    feature: str,
    reference: Mapping[Any, int],
    production: Mapping[Any, int],
    reference_missing: int = 0,
    production_missing: int = 0,
) -> CategoricalDrift:
    """Every drift statistic of one categorical column, from its category counts.

    Counts exclude missing values, given apart. Categories are compared as text, so ``1`` and
    ``"1"`` are one category.
    """
    ref = _as_text(reference)
    prod = _as_text(production)
    ref_rows, prod_rows = sum(ref.values()), sum(prod.values())
    categories = sorted(set(ref) | set(prod))
    statistic, pvalue, dof = chi_square(ref, prod)
    value = _psi_of(
        np.array([ref.get(c, 0) for c in categories], dtype=float),
        np.array([prod.get(c, 0) for c in categories], dtype=float),
    )
    unseen = sorted((c for c in prod if c not in ref), key=lambda c: (-prod[c], c))
    total_ref, total_prod = ref_rows + reference_missing, prod_rows + production_missing
    return CategoricalDrift(
        feature=feature,
        kind="categorical",
        reference_rows=total_ref,
        rows=total_prod,
        reference_missing_rate=_rate(reference_missing, total_ref),
        missing_rate=_rate(production_missing, total_prod),
        psi=value,
        psi_reading=psi_reading(value),
        chi2_statistic=statistic,
        chi2_pvalue=pvalue,
        chi2_dof=dof,
        unseen_categories=tuple(unseen[:_SHOWN]),
        unseen_share=_rate(sum(prod[c] for c in unseen), prod_rows),
        categories={
            "names": categories,
            "reference": [_rate(ref.get(c, 0), ref_rows) for c in categories],
            "production": [_rate(prod.get(c, 0), prod_rows) for c in categories],
        },
    )


def _as_text(counts: Mapping[Any, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, count in counts.items():
        if key is None or (isinstance(key, float) and math.isnan(key)):
            continue
        text = str(key.item() if isinstance(key, np.generic) else key)
        out[text] = out.get(text, 0) + int(count)
    return out

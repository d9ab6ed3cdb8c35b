"""The drift of a scanned batch against the version's evaluation data, as results to store.

Per feature, on the score, and on the score within each sensitive group and segment the batch
carries; plus the share of rows with any value outside the operating ranges (the minimum and
maximum of each numeric feature in the training data, or the evaluation data when no training
data was registered). Columns are read back one at a time from the scan's spill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.metrics.drift import categorical_drift, numeric_drift
from core.services.batch_scan import SCORE, BatchLayout, BatchScan, category_counts

__all__ = ["MIN_GROUP_ROWS", "drift_results", "operating_ranges"]

#: Groups with fewer rows in the batch or the reference are listed without statistics.
MIN_GROUP_ROWS = 30


def operating_ranges(frame: pd.DataFrame, numeric: Sequence[str]) -> dict[str, tuple[float, float]]:
    """(min, max) of each numeric feature in ``frame`` (the data the model was built on)."""
    out = {}
    for name in numeric:
        values = pd.to_numeric(frame[name], errors="coerce").dropna()
        if len(values):
            out[name] = (float(values.min()), float(values.max()))
    return out


def _reference_counts(values: pd.Series) -> tuple[dict[str, int], int]:
    counts = values.dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}, int(values.isna().sum())


def drift_results(
    *,
    scan: BatchScan,
    layout: BatchLayout,
    reference: pd.DataFrame,
    reference_scores: np.ndarray,
    ranges: Mapping[str, tuple[float, float]],
) -> dict[str, Any]:
    """Every drift statistic of the batch (good rows only) against ``reference``."""
    features: list[dict[str, Any]] = []
    outside = np.zeros(scan.good_rows, dtype=bool)
    for name in layout.features:
        if name in layout.numeric:
            values = scan.numbers(name)
            limits = ranges.get(name)
            features.append(
                numeric_drift(
                    feature=name,
                    reference=pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=float),
                    production=values,
                    operating_range=limits,
                ).to_dict()
            )
            if limits is not None:
                with np.errstate(invalid="ignore"):
                    outside |= (values < limits[0]) | (values > limits[1])
        else:
            counts, missing = category_counts(scan.codes(name), scan.categories.get(name, []))
            ref_counts, ref_missing = _reference_counts(reference[name])
            features.append(
                categorical_drift(
                    feature=name,
                    reference=ref_counts,
                    production=counts,
                    reference_missing=ref_missing,
                    production_missing=missing,
                ).to_dict()
            )
    scores = scan.numbers(SCORE)
    score = numeric_drift(
        feature="score", reference=reference_scores, production=scores, kind="score"
    ).to_dict()
    return {
        "rows": scan.rows,
        "good_rows": scan.good_rows,
        "quarantined": scan.quarantined,
        "features": features,
        "score": score,
        "groups": _group_drift(scan, reference, reference_scores, scores),
        "rows_out_of_range_share": float(outside.mean()) if ranges and len(outside) else None,
        "notes": list(scan.notes),
    }


def _group_drift(
    scan: BatchScan, reference: pd.DataFrame, reference_scores: np.ndarray, scores: np.ndarray
) -> list[dict[str, Any]]:
    out = []
    for column in scan.groups:
        if column not in reference:
            continue
        codes = scan.codes(column)
        names = scan.categories.get(column, [])
        ref_values = reference[column].astype("string").to_numpy(dtype=object)
        for code, group in enumerate(names):
            mask = codes == code
            ref_mask = ref_values == group
            rows, ref_rows = int(mask.sum()), int(ref_mask.sum())
            entry: dict[str, Any] = {
                "column": column,
                "group": group,
                "rows": rows,
                "reference_rows": ref_rows,
            }
            if rows >= MIN_GROUP_ROWS and ref_rows >= MIN_GROUP_ROWS:
                entry["score"] = numeric_drift(
                    feature=f"score where {column} = {group}",
                    reference=reference_scores[ref_mask],
                    production=scores[mask],
                    kind="score",
                ).to_dict()
            out.append(entry)
    return out

"""Per-group confusion counts and sums shared by the metric modules.

Every fairness metric, and every threshold metric of performance, is a function of the
confusion counts (TN, FP, FN, TP) of each group. The per-row work is therefore done once:
each group column is factorised into small integer codes (``core.metrics.inputs``), the
codes of all columns are combined arithmetically (``code_a * n_b + code_b``), and one ``np.bincount``
over ``group_code * 4 + 2 * y_true + y_pred`` yields the count table of the finest
partition. (It runs over cache-sized slices of rows, summed, so that every input is read
from memory once; 0/1 checks of integer labels happen in the same pass.) Tables for single
columns and for intersections are sums of that table, and every rate is derived from a
table, vectorised over groups and bootstrap replicates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.metrics.inputs import GroupColumn

__all__ = [
    "CELLS",
    "FineTable",
    "count_cells",
    "group_table",
    "rates_from_counts",
    "sum_cells",
]

#: Order of the four confusion cells; a row's cell is ``2 * y_true + y_pred``.
CELLS = ("tn", "fp", "fn", "tp")

# Rows per slice when counting: temporaries of this length stay in cache.
_CHUNK = 1 << 17
# A finest partition with more combinations than this (and than rows) is compacted first.
_DIRECT_TABLE_LIMIT = 1 << 16


@dataclass(frozen=True, eq=False)
class FineTable:
    """Totals per group of the finest partition (the intersection of all columns).

    ``components[g, j]`` is the code in column ``j`` of fine group ``g``; ``values[g]`` holds
    the confusion counts (classification) or the sums of ``sum_cells`` (regression).
    Empty combinations may be present with zero totals.
    """

    columns: tuple[GroupColumn, ...]
    components: np.ndarray
    values: np.ndarray


def _index_dtype(size: int) -> np.dtype[Any]:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if size <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.intp)


def _compact_codes(columns: Sequence[GroupColumn]) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the non-empty combinations (compacted after each column) and components."""
    sizes = [len(c.labels) for c in columns]
    code = columns[0].codes.astype(np.int64)
    components = np.arange(sizes[0]).reshape(-1, 1)
    for column, size in zip(columns[1:], sizes[1:], strict=True):
        code = code * size + column.codes
        code, uniques = pd.factorize(code, sort=True)
        components = np.column_stack([components[uniques // size], uniques % size])
    return code, components


def _is_dense(sizes: Sequence[int], n_rows: int) -> bool:
    return math.prod(sizes) <= max(_DIRECT_TABLE_LIMIT, n_rows)


def _combined_codes(columns: Sequence[GroupColumn]) -> tuple[np.ndarray, np.ndarray]:
    """Fine-group code of every row and the components of each fine group."""
    sizes = [len(c.labels) for c in columns]
    if not _is_dense(sizes, len(columns[0].codes)):
        code, components = _compact_codes(columns)
        return code.astype(_index_dtype(len(components))), components
    dtype = _index_dtype(math.prod(sizes))
    idx = columns[0].codes.astype(dtype)
    for column, size in zip(columns[1:], sizes[1:], strict=True):
        idx *= dtype.type(size)
        idx += column.codes.astype(dtype, copy=False)
    return idx, np.stack(np.unravel_index(np.arange(math.prod(sizes)), sizes), axis=1)


def _addend(values: np.ndarray) -> np.ndarray:
    # Codes and 0/1 labels are non-negative, so a one-byte array can be read as unsigned.
    return values.view(np.uint8) if values.dtype.itemsize == 1 else values


def count_cells(
    *, columns: Sequence[GroupColumn], y_true: np.ndarray, y_pred: np.ndarray
) -> FineTable | None:
    """Confusion counts of every fine group: one ``np.bincount`` over ``code * 4 + cell``.

    ``y_true`` and ``y_pred`` are 0/1 uint8 arrays from ``encode_binary``, or integer
    arrays it deferred, which are checked here; the result is None if one holds a value
    other than 0 or 1. The rows are processed in cache-sized slices, so that each input
    is read from memory once and the temporaries stay in cache; the slices' counts add up
    to the one bincount of all rows.
    """
    sizes = [len(c.labels) for c in columns]
    n_rows = len(y_true)
    if _is_dense(sizes, n_rows):
        parts = [(c.codes, size) for c, size in zip(columns, sizes, strict=True)]
        components = np.stack(np.unravel_index(np.arange(math.prod(sizes)), sizes), axis=1)
    else:
        code, components = _compact_codes(columns)
        parts = [(code, len(components))]
    length = len(components) * 4
    dtype = _index_dtype(length)
    chunk = min(_CHUNK, n_rows)
    buffer, spare = np.empty(chunk, dtype), np.empty(chunk, dtype)
    deferred = [
        y.view(f"u{y.dtype.itemsize}") if y.dtype != np.uint8 else None for y in (y_true, y_pred)
    ]
    # One-byte codes (pandas Categorical codes, 0/1 labels) are added without a cast.
    addends = [_addend(codes) for codes, _ in parts] + [_addend(y) for y in (y_true, y_pred)]
    scales = [dtype.type(size) for _, size in parts[1:]] + [dtype.type(2)] * 2
    counts = np.zeros(length, dtype=np.int64)
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        idx, tmp = buffer[: stop - start], spare[: stop - start]
        for unsigned in deferred:
            if unsigned is not None and unsigned[start:stop].max() > 1:
                return None
        np.copyto(idx, addends[0][start:stop], casting="unsafe")
        for addend, scale in zip(addends[1:], scales, strict=True):
            idx *= scale
            if addend.dtype == np.uint8:
                idx += addend[start:stop]
            else:
                np.copyto(tmp, addend[start:stop], casting="unsafe")
                idx += tmp
        counts += np.bincount(idx, minlength=length)
    return FineTable(columns=tuple(columns), components=components, values=counts.reshape(-1, 4))


def sum_cells(*, columns: Sequence[GroupColumn], values: Sequence[np.ndarray]) -> FineTable:
    """Per fine group: the row count, then the sum and the sum of squares of each array.

    Pass arrays centred on a typical value (e.g. their mean) so that variances derived
    from the sums do not lose precision.
    """
    idx, components = _combined_codes(columns)
    size = len(components)
    totals: list[np.ndarray] = [np.bincount(idx, minlength=size).astype(np.float64)]
    for array in values:
        totals.append(np.bincount(idx, weights=array, minlength=size))
        totals.append(np.bincount(idx, weights=array * array, minlength=size))
    return FineTable(columns=tuple(columns), components=components, values=np.column_stack(totals))


def group_table(
    fine: FineTable, subset: Sequence[int], *, count_of: Any = None
) -> tuple[list[str], np.ndarray]:
    """Labels and totals of the non-empty groups of the columns ``subset`` (in column order).

    ``subset`` lists column indices in increasing order. Labels of intersections join the
    column labels with " × ". ``count_of`` maps the value table to row counts (default: the
    sum over confusion cells).
    """
    all_sizes = [len(column.labels) for column in fine.columns]
    sizes = [all_sizes[j] for j in subset]
    width = fine.values.shape[1]
    if len(fine.components) == math.prod(all_sizes):  # dense: sum out the other columns
        other = tuple(j for j in range(len(all_sizes)) if j not in subset)
        totals = fine.values.reshape(*all_sizes, width).sum(axis=other).reshape(-1, width)
        codes = np.arange(len(totals))
    else:
        code = np.ravel_multi_index(tuple(fine.components[:, j] for j in subset), sizes)
        codes, inverse = np.unique(code, return_inverse=True)
        totals = np.zeros((len(codes), width), dtype=fine.values.dtype)
        np.add.at(totals, inverse, fine.values)
    counts = totals.sum(axis=1) if count_of is None else count_of(totals)
    keep = counts > 0
    parts = [p.tolist() for p in np.unravel_index(codes[keep], sizes)]
    column_labels = [fine.columns[j].labels for j in subset]
    labels = [
        " × ".join(names[p[i]] for names, p in zip(column_labels, parts, strict=True))
        for i in range(len(parts[0]))
    ]
    return labels, totals[keep]


def rates_from_counts(counts: np.ndarray, *, axis: int = -1) -> dict[str, np.ndarray]:
    """Rates from confusion counts (TN, FP, FN, TP along ``axis``); NaN marks undefined.

    Works on one group, a table of groups, or bootstrap replicates of a table alike.
    """
    tn, fp, fn, tp = np.moveaxis(np.asarray(counts, dtype=np.float64), axis, 0)
    positives, negatives, selected = fn + tp, tn + fp, fp + tp
    n = positives + negatives
    # Every numerator is at most its denominator, so a zero denominator means 0 / 0 = NaN:
    # the rate is undefined, which is what NaN marks here.
    with np.errstate(invalid="ignore"):
        return {
            "base_rate": positives / n,
            "selection_rate": selected / n,
            "accuracy": (tn + tp) / n,
            "true_positive_rate": tp / positives,
            "false_positive_rate": fp / negatives,
            "false_negative_rate": fn / positives,
            "precision": tp / selected,
            "f1": 2 * tp / (2 * tp + fp + fn),
        }

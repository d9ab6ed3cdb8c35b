"""Group encoding and per-group confusion counts shared by the metric modules.

Every fairness metric, and every threshold metric of performance, is a function of the
confusion counts (TN, FP, FN, TP) of each group. The per-row work is therefore done once:
each group column is factorised into small integer codes (missing values get a code of
their own; integer codes and pandas Categoricals are used as they are), the codes of all
columns are combined arithmetically (``code_a * n_b + code_b``), and one ``np.bincount``
over ``group_code * 4 + 2 * y_true + y_pred`` yields the count table of the finest
partition. (It runs over cache-sized slices of rows, summed, so that every input is read
from memory once; 0/1 checks of integer labels happen in the same pass.) Tables for single
columns and for intersections are sums of that table, and every rate is derived from a
table, vectorised over groups and bootstrap replicates.

Time goes where it must: at a million rows, factorising a string column costs more than
everything else together, which is why already-coded columns are taken as they are.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CELLS",
    "MISSING_GROUP",
    "FineTable",
    "GroupColumn",
    "MetricInputError",
    "as_1d",
    "count_cells",
    "encode_binary",
    "encode_groups",
    "encode_numeric",
    "group_table",
    "is_whole",
    "plain_label",
    "rates_from_counts",
    "sum_cells",
]

#: Order of the four confusion cells; a row's cell is ``2 * y_true + y_pred``.
CELLS = ("tn", "fp", "fn", "tp")
#: Label of the group holding rows whose group value is missing.
MISSING_GROUP = "missing"

NOT_ONE_DIMENSIONAL = "{name} has shape {shape}; pass a one-dimensional array, one value per row."
EMPTY_INPUT = "{name} is empty; metrics need at least one row."
LENGTH_MISMATCH = (
    "{name} has {found:,} rows but {reference} has {expected:,}; "
    "pass arrays of equal length, one row per decision."
)
MISSING_VALUES = "{name} has {count:,} missing values; fill or drop those rows first."
PROBABILITIES_AS_LABELS = (
    "{name} has values strictly between 0 and 1 (e.g. {example}) where class labels are "
    "expected; these look like probabilities or scores: pass them as y_score with a threshold "
    "(compute_performance), or threshold them first, e.g. y_pred = y_score >= 0.5."
)
TOO_MANY_CLASSES = (
    "{name} has {count:,} distinct values (e.g. {examples}); expected two classes "
    "(0/1, booleans, or two labels with positive_label naming the positive one)."
)
NO_POSITIVE_LABEL = (
    "{name} has the values {values} and none equals positive_label={positive!r}; "
    "set positive_label to the positive class."
)
NOT_NUMERIC = "{name} has non-numeric values (dtype {dtype}); pass numbers."
NOT_FINITE = "{name} has {count:,} missing or infinite values; fill or drop those rows first."

# Non-negative integer columns whose largest value is below this are used as codes directly.
_DIRECT_CODE_LIMIT = 1024
# Object columns with at most this many distinct objects are grouped by identity first.
_FEW_OBJECTS = 4096
# Rows per slice when counting: temporaries of this length stay in cache.
_CHUNK = 1 << 17
# A finest partition with more combinations than this (and than rows) is compacted first.
_DIRECT_TABLE_LIMIT = 1 << 16


class MetricInputError(ValueError):
    """Metric input that cannot be used; ``problems`` holds one sentence per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, eq=False)
class GroupColumn:
    """A group column as integer codes: ``labels[codes[i]]`` is the group of row ``i``."""

    name: str
    codes: np.ndarray
    labels: tuple[str, ...]
    missing_code: int | None = None


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


def as_1d(values: Any, *, name: str, problems: list[str]) -> np.ndarray | None:
    """Return ``values`` as a one-dimensional ndarray, or record why it cannot be."""
    is_pandas = isinstance(values, pd.Series | pd.Index)
    arr = values.to_numpy() if is_pandas else np.asarray(values)
    if arr.ndim != 1:
        problems.append(NOT_ONE_DIMENSIONAL.format(name=name, shape=arr.shape))
        return None
    if arr.size == 0:
        problems.append(EMPTY_INPUT.format(name=name))
        return None
    return arr


def _is_one(label: Any) -> bool:
    return isinstance(label, int | np.integer) and label == 1


def _examples(values: np.ndarray, limit: int = 3) -> str:
    return ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in values[:limit])


def encode_binary(
    values: Any, *, name: str, positive_label: Any, problems: list[str], defer: bool = False
) -> np.ndarray | None:
    """Encode two-class labels as a uint8 array of 0/1 (1 = ``positive_label``).

    Booleans and 0/1 integers take a fast path without a copy where possible; anything else
    must have at most two distinct values. Problems are appended, not raised, so the caller
    can report every problem at once. With ``defer``, wide integer arrays are returned as
    they are, for ``count_cells`` to check while it reads them anyway (one pass over the
    rows instead of two); if it finds a value other than 0 or 1, call again without it.
    """
    arr = as_1d(values, name=name, problems=problems)
    if arr is None:
        return None
    if arr.dtype == bool:
        return arr.view(np.uint8)
    if arr.dtype.kind in "iu" and _is_one(positive_label):
        if defer and arr.dtype.itemsize > 1:
            return arr
        unsigned = arr.view(f"u{arr.dtype.itemsize}")
        if unsigned.max() <= 1:
            return unsigned if arr.dtype.itemsize == 1 else arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        missing = int(np.count_nonzero(np.isnan(arr)))
        if missing:
            problems.append(MISSING_VALUES.format(name=name, count=missing))
            return None
        between = arr[(arr > 0) & (arr < 1)]
        if between.size:
            problems.append(PROBABILITIES_AS_LABELS.format(name=name, example=f"{between[0]:g}"))
            return None
    elif arr.dtype.kind == "O":
        missing = int(np.count_nonzero(pd.isna(arr)))
        if missing:
            problems.append(MISSING_VALUES.format(name=name, count=missing))
            return None
    uniques = pd.unique(arr)
    if len(uniques) > 2:
        problems.append(
            TOO_MANY_CLASSES.format(name=name, count=len(uniques), examples=_examples(uniques))
        )
        return None
    if len(uniques) == 2 and not any(u == positive_label for u in uniques.tolist()):
        values_text = "[" + _examples(uniques) + "]"
        problems.append(
            NO_POSITIVE_LABEL.format(name=name, values=values_text, positive=positive_label)
        )
        return None
    positive = np.asarray(arr == positive_label, dtype=bool)
    return positive.view(np.uint8)


def encode_numeric(values: Any, *, name: str, problems: list[str]) -> np.ndarray | None:
    """Return finite float64 values, or record why they cannot be used."""
    arr = as_1d(values, name=name, problems=problems)
    if arr is None:
        return None
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            problems.append(NOT_NUMERIC.format(name=name, dtype=arr.dtype))
            return None
    arr = arr.astype(np.float64, copy=False)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        problems.append(NOT_FINITE.format(name=name, count=bad))
        return None
    return arr


def encode_groups(values: Any, *, name: str, problems: list[str]) -> GroupColumn | None:
    """Factorise a group column once into integer codes with string labels.

    pandas Categoricals keep their codes and category order; non-negative integer arrays
    with small values are used as codes directly (labels are the values as text); anything
    else is factorised with sorted labels. Missing values become a group of their own,
    labelled ``"missing"``.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes)
        labels = [str(c) for c in values.categories]
        if codes.size == 0:
            problems.append(EMPTY_INPUT.format(name=name))
            return None
        return _with_missing(name, codes, labels)
    if isinstance(values, pd.Series) and not isinstance(values.dtype, np.dtype):
        # pandas extension types (str, nullable integers): factorised as they are stored.
        if len(values) == 0:
            problems.append(EMPTY_INPUT.format(name=name))
            return None
        return _with_missing(name, *_factorize(values))
    arr = as_1d(values, name=name, problems=problems)
    if arr is None:
        return None
    if arr.dtype == bool:
        return GroupColumn(name=name, codes=arr.view(np.uint8), labels=("False", "True"))
    if arr.dtype.kind in "iu":
        largest = int(arr.view(f"u{arr.dtype.itemsize}").max())
        if largest < _DIRECT_CODE_LIMIT:
            labels = tuple(str(i) for i in range(largest + 1))
            return GroupColumn(name=name, codes=arr, labels=labels)
    if arr.dtype == object:
        return _with_missing(name, *(_factorize_objects(arr) or _factorize(_object_series(arr))))
    return _with_missing(name, *_factorize(arr))


def _object_series(arr: np.ndarray) -> pd.Series:
    # pandas factorises a Series of objects faster than the bare array, which it inspects.
    return pd.Series(arr, dtype=object, copy=False)


def _factorize(values: Any) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for missing) and the sorted distinct values as text."""
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    except TypeError:  # values of mixed types that cannot be ordered
        codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    return np.asarray(codes), [str(u) for u in uniques]


def _factorize_objects(arr: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """``_factorize`` of an object array, grouping rows by object identity first.

    Rows that hold the same object hold the same value, and columns of a few values
    usually repeat a few objects. So rows are grouped by the object's address, an
    integer (hashing integers is several times faster than hashing objects), and only one
    row per distinct object is then factorised by value, which also merges distinct
    objects with equal values. None when there are too many distinct objects to gain.
    """
    arr = np.ascontiguousarray(arr)  # keeps every object alive while addresses are read
    buffer = (ctypes.c_ssize_t * len(arr)).from_address(arr.ctypes.data)
    by_object, addresses = pd.factorize(np.ctypeslib.as_array(buffer))
    if len(addresses) > max(_FEW_OBJECTS, len(arr) // 64):
        return None
    # Codes are numbered in order of first appearance: the running maximum finds it.
    first = np.searchsorted(np.maximum.accumulate(by_object), np.arange(len(addresses)))
    codes, labels = _factorize(_object_series(arr[first]))
    return codes[by_object], labels


def _with_missing(name: str, codes: np.ndarray, labels: list[str]) -> GroupColumn:
    if codes.min() >= 0:
        return GroupColumn(name=name, codes=codes, labels=tuple(labels))
    missing_code = len(labels)
    label = MISSING_GROUP if MISSING_GROUP not in labels else f"{MISSING_GROUP} (no value)"
    codes = np.where(codes < 0, missing_code, codes)
    return GroupColumn(name=name, codes=codes, labels=(*labels, label), missing_code=missing_code)


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
    totals = [np.bincount(idx, minlength=size).astype(np.float64)]
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


def plain_label(value: Any) -> Any:
    """A label as plain JSON-able Python (numpy scalars unwrapped, other objects as text)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def is_whole(value: Any) -> bool:
    """True for an integer (Python or numpy), False for anything else, booleans included."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)

"""Metric inputs as arrays the counting can use: labels as 0/1, numbers as floats, groups as codes.

Every encoder appends one sentence per problem instead of raising, so a metric reports every
problem of its input at once (``MetricInputError``). Group columns are factorised once into small
integer codes with text labels; missing values get a group of their own; integer codes and pandas
Categoricals are used as they are, because at a million rows factorising a string column costs
more than everything else together.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "EMPTY_INPUT",
    "LENGTH_MISMATCH",
    "MISSING_GROUP",
    "MISSING_VALUES",
    "NOT_FINITE",
    "NOT_NUMERIC",
    "NOT_ONE_DIMENSIONAL",
    "NO_POSITIVE_LABEL",
    "PROBABILITIES_AS_LABELS",
    "TOO_MANY_CLASSES",
    "GroupColumn",
    "MetricInputError",
    "as_1d",
    "encode_binary",
    "encode_group_columns",
    "encode_groups",
    "encode_numeric",
]

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
            digits = tuple(str(i) for i in range(largest + 1))
            return GroupColumn(name=name, codes=arr, labels=digits)
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


def encode_group_columns(
    items: Iterable[tuple[Any, Any]],
    *,
    argument: str,
    bad_name: str,
    n_rows: int | None,
    problems: list[str],
) -> list[GroupColumn]:
    """Encode named group columns (``argument`` is the parameter, e.g. "segments"), each named by
    its text key and as long as ``y_true``; ``bad_name`` refuses a key that is not text."""
    columns = []
    for name, values in items:
        if not isinstance(name, str):
            problems.append(bad_name.format(name=name, kind=type(name).__name__))
            continue
        where = f"{argument}[{name!r}]"
        column = encode_groups(values, name=where, problems=problems)
        if column is None:
            continue
        if n_rows is not None and len(column.codes) != n_rows:
            problems.append(
                LENGTH_MISMATCH.format(
                    name=where, found=len(column.codes), reference="y_true", expected=n_rows
                )
            )
        columns.append(
            GroupColumn(
                name=name,
                codes=column.codes,
                labels=column.labels,
                missing_code=column.missing_code,
            )
        )
    return columns

"""Tracing a preprocessing step's output columns back to its input columns (0/1 maps)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import preprocessing
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline

from core.metrics.explain.common import class_name

# Transformers whose output column j depends on input column j only.
_ELEMENTWISE: tuple[type, ...] = (
    preprocessing.StandardScaler,
    preprocessing.MinMaxScaler,
    preprocessing.MaxAbsScaler,
    preprocessing.RobustScaler,
    preprocessing.QuantileTransformer,
    preprocessing.PowerTransformer,
    preprocessing.Binarizer,
    preprocessing.OrdinalEncoder,
)


def dense(Z: Any) -> np.ndarray:
    toarray = getattr(Z, "toarray", None)  # scipy sparse output of encoders
    return np.asarray(toarray() if callable(toarray) else Z, dtype=float)


def _block_map(sizes: Sequence[int]) -> np.ndarray:
    """Rows: consecutive output blocks of the given sizes; columns: their inputs."""
    M = np.zeros((int(sum(sizes)), len(sizes)))
    start = 0
    for j, size in enumerate(sizes):
        M[start : start + size, j] = 1.0
        start += size
    return M


def _onehot_sizes(encoder: preprocessing.OneHotEncoder) -> list[int]:
    try:
        infrequent = list(encoder.infrequent_categories_)
    except AttributeError:  # infrequent grouping not enabled
        infrequent = [None] * len(encoder.categories_)
    drop = encoder.drop_idx_
    sizes = []
    for j, categories in enumerate(encoder.categories_):
        size = len(categories)
        if infrequent[j] is not None:
            size -= len(infrequent[j]) - 1
        if drop is not None and drop[j] is not None:
            size -= 1
        sizes.append(size)
    return sizes


def _resolve_columns(spec: Any, names: list[str]) -> list[int] | None:
    if isinstance(spec, str | int | np.integer):
        spec = [spec]
    if isinstance(spec, slice):
        if all(isinstance(s, int | type(None)) for s in (spec.start, spec.stop, spec.step)):
            return list(range(len(names)))[spec]
        return None
    items = list(spec)
    if items and all(isinstance(v, bool | np.bool_) for v in items):
        return [j for j, keep in enumerate(items) if keep]
    positions = []
    for item in items:
        if isinstance(item, str) and item in names:
            positions.append(names.index(item))
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            positions.append(int(item))
        else:
            return None
    return positions


def column_map_of(step: Any, n_in: int) -> np.ndarray | None:
    """0/1 matrix (outputs × inputs) saying which input column each output comes from.

    None when the step mixes columns or is unknown; the caller then explains the whole
    pipeline with the permutation explainer instead of guessing.
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return np.eye(n_in)
    if isinstance(step, Pipeline):
        M = np.eye(n_in)
        for _, inner in step.steps:
            inner_map = column_map_of(inner, M.shape[0])
            if inner_map is None:
                return None
            M = np.asarray(inner_map @ M)
        return M
    if isinstance(step, ColumnTransformer):
        return _column_transformer_map(step, n_in)
    if isinstance(step, preprocessing.OneHotEncoder):
        return _block_map(_onehot_sizes(step))
    if isinstance(step, preprocessing.KBinsDiscretizer):
        if step.encode == "ordinal":
            return np.eye(n_in)
        return _block_map([int(b) for b in step.n_bins_])
    if isinstance(step, SimpleImputer):
        kept = np.eye(n_in)
        if not step.keep_empty_features and step.strategy != "constant":
            kept = kept[~pd.isna(np.asarray(step.statistics_, dtype=object))]
        if step.add_indicator and step.indicator_ is not None:
            kept = np.vstack([kept, np.eye(n_in)[step.indicator_.features_]])
        return kept
    if isinstance(step, MissingIndicator):
        return np.asarray(np.eye(n_in)[step.features_])
    if isinstance(step, preprocessing.FunctionTransformer) and step.func is None:
        return np.eye(n_in)
    if isinstance(step, _ELEMENTWISE):
        return np.eye(n_in)
    return None


def _column_transformer_map(ct: ColumnTransformer, n_in: int) -> np.ndarray | None:
    names = (
        [str(c) for c in ct.feature_names_in_]
        if hasattr(ct, "feature_names_in_")
        else [str(j) for j in range(n_in)]
    )
    n_out = max((s.stop for s in ct.output_indices_.values()), default=0)
    M = np.zeros((n_out, n_in))
    for name, transformer, columns in ct.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        positions = _resolve_columns(columns, names)
        if positions is None:
            return None
        out = ct.output_indices_[name]
        if out.stop == out.start:
            continue
        block = column_map_of(transformer, len(positions))
        if block is None or block.shape != (out.stop - out.start, len(positions)):
            return None
        M[out.start : out.stop, positions] = block
    return M


def first_unmappable(preprocess: Any) -> str:
    steps = preprocess.steps if isinstance(preprocess, Pipeline) else [("step", preprocess)]
    for name, step in steps:
        if isinstance(step, ColumnTransformer):
            for inner_name, inner, _ in step.transformers_:
                if column_map_of(inner, 1) is None and not isinstance(inner, str):
                    return f"{name}/{inner_name} ({class_name(inner)})"
        elif column_map_of(step, 1) is None:
            return f"{name} ({class_name(step)})"
    return class_name(preprocess)

"""Shared pieces of the explanations: output spaces, the model view, errors, plain JSON, small helpers."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from core.errors import InputProblems
from core.metrics.explain.messages import BAD_PARAMETER

Progress = Callable[[float, str], None]
"""A progress callback: ``progress(fraction, message)`` with ``fraction`` in [0, 1]."""


ADDITIVITY_TOLERANCE = 1e-6
"""Largest accepted |base value + sum of SHAP values - model output| for any explained row."""


SAMPLE_HASH_METHOD = (
    "SHA-256 of the explained sample: first the compact UTF-8 JSON "
    '{"columns": [names], "kinds": ["numeric" or "text"], "index": [labels as strings]}, '
    "then per column in order: numeric columns as little-endian float64 bytes (missing as "
    "numpy's NaN), text columns as the compact UTF-8 JSON list of their values as strings "
    "(null when missing)."
)


# Output spaces, stated on every result and chart.
LOG_ODDS = "log_odds"


PROBABILITY = "probability"


RAW = "raw"


TREE = "tree"


LINEAR = "linear"


PERMUTATION = "permutation"


STABILITY_RUNS = 3


TREE_CHUNKS = 10


PERMUTATION_CHUNKS = 20


# Seed streams: one generator per purpose, so changing one use of randomness leaves the others.
SAMPLE, BACKGROUND, BOOTSTRAP, POINTS, STABILITY_BOOT, STABILITY_ROWS = range(6)


@runtime_checkable
class ModelView(Protocol):
    """A model with its positive class decided (``core.files.adapter.ModelAdapter`` is one).

    Every function here takes either a bare fitted estimator, whose positive class is then
    ``classes_[1]``, or such a view, whose ``positive_index`` (position in ``classes_``) is
    the class every probability, score and label of the result is about.
    """

    @property
    def estimator(self) -> Any: ...

    @property
    def positive_index(self) -> int | None: ...


def unwrap(model: Any) -> tuple[Any, int | None]:
    """The estimator and the position of its positive class (None: the default)."""
    if isinstance(model, ModelView):
        return model.estimator, model.positive_index
    return model, None


class ExplainInputError(InputProblems, ValueError):
    """The explanation cannot be computed; ``problems`` lists every reason found."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        items = [problems] if isinstance(problems, str) else list(problems)
        super().__init__([p[:1].upper() + p[1:] for p in items])


def plain(value: Any) -> Any:
    """Turn results into JSON-able Python: numpy scalars to int/float, NaN to None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        return str(value)  # np.str_ is a str whose repr is np.str_('good')
    if value is None:
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


class ToDict:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able Python (floats, str, None, lists, dicts), to store and hash."""
        result: dict[str, Any] = plain(self)
        return result


def report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)), message)


def seeded_rng(seed: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, purpose])


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def is_numeric(column: pd.Series) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column)
    )


def class_name(obj: Any) -> str:
    return type(obj).__name__


def feature_label(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_value(value: Any) -> str:
    """A feature value as a person would write it: 0.62, 23,000, 41, south, missing."""
    if is_missing(value):
        return "missing"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        if abs(number) >= 1000:
            return f"{number:,.0f}"
        return f"{number:.3g}"
    return str(value)


def plain_cell(value: Any) -> float | str | None:
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        return float(value)
    return str(value)


def column_cells(column: pd.Series) -> tuple[float | str | None, ...]:
    if is_numeric(column):
        return tuple(None if math.isnan(v) else v for v in column.to_numpy(dtype=float).tolist())
    return tuple(plain_cell(v) for v in column.tolist())


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sample_digest(sample: pd.DataFrame) -> str:
    """See SAMPLE_HASH_METHOD: exact bytes, independent of float formatting and pandas."""
    numeric = [is_numeric(sample[c]) for c in sample.columns]
    digest = hashlib.sha256()
    header = {
        "columns": [str(c) for c in sample.columns],
        "kinds": ["numeric" if n else "text" for n in numeric],
        "index": [str(i) for i in sample.index],
    }
    digest.update(_json_bytes(header))
    for column, is_number in zip(sample.columns, numeric, strict=True):
        if is_number:
            values = sample[column].to_numpy(dtype="<f8", na_value=np.nan)
            digest.update(np.where(np.isnan(values), np.nan, values).astype("<f8").tobytes())
        else:
            texts = [None if is_missing(v) else str(v) for v in sample[column].tolist()]
            digest.update(_json_bytes(texts))
    return digest.hexdigest()


def check_parameters(checks: Sequence[tuple[str, Any, bool, str]]) -> list[str]:
    return [
        BAD_PARAMETER.format(name=name, expected=expected, value=value)
        for name, value, ok, expected in checks
        if not ok
    ]


def _is_int(value: Any, minimum: int) -> bool:
    return bool(
        isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum
    )


def whole_numbers(**limits: tuple[Any, int]) -> list[tuple[str, Any, bool, str]]:
    """Checks for check_parameters that each ``name=(value, minimum)`` is a whole number at
    least ``minimum``."""
    return [
        (name, value, _is_int(value, minimum), f"an integer >= {minimum}")
        for name, (value, minimum) in limits.items()
    ]

"""Plain JSON values from numpy and result objects, written once for every result's ``to_dict``.

Evidence is stored as canonical JSON and hashed, so results must turn into plain Python: numpy
scalars unwrapped, NaN as None (undefined), tuples as lists, enums as their text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

import numpy as np

__all__ = ["PlainRecord", "is_whole", "plain_floats", "plain_json", "plain_label", "to_float"]


def to_float(value: float | np.floating[Any] | None) -> float | None:
    """A plain Python float, or None for a missing or undefined (NaN) value."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def plain_floats(values: np.ndarray) -> list[float | None]:
    """The values as Python floats, None where undefined (NaN)."""
    return [None if v != v else v for v in values.tolist()]  # v != v: NaN


def plain_label(value: Any) -> Any:
    """A label as plain JSON-able Python (numpy scalars unwrapped, other objects as text)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def is_whole(value: Any) -> bool:
    """True for an integer (Python or numpy), False for anything else, booleans included."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def plain_json(value: Any) -> Any:
    """``value`` as plain JSON: objects with ``to_dict`` and dataclasses become dicts, mappings
    dicts with text keys, sequences and arrays lists, enums their value, NaN None."""
    if isinstance(value, Enum):
        return plain_json(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | np.floating):
        return to_float(value)
    if isinstance(value, np.generic):
        return plain_json(value.item())
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain_json(v) for v in value]
    return str(value)


class PlainRecord:
    """Mixin for frozen result dataclasses: ``to_dict`` gives every field as plain JSON."""

    def to_dict(self) -> dict[str, Any]:
        assert is_dataclass(self)
        return {f.name: plain_json(getattr(self, f.name)) for f in fields(self)}

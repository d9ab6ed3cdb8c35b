"""A stored model's structure read from its skops ``schema.json``: nothing is built or loaded.

The schema a skops file carries (checked at registration by ``core.files.skops_schema``) names
every object of the model with its class, and stores each scikit-learn hyperparameter as a
plain JSON value in the object's state. So the final estimator of a pipeline, the pipeline's
steps and the estimator's settings can be read from that JSON alone, which lets a page compare
two versions without loading either model. Hyperparameters are the state entries named by the
class's constructor (scikit-learn's ``_get_param_names``, read from the class itself when it is
one of the reviewed ``TRUSTED_TYPES``, whose modules are Gatehouse's own dependencies); for
other classes, the entries that are neither fitted (a trailing ``_``) nor private (a leading
``_``).
"""

from __future__ import annotations

import importlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from core.files.archive import ArchiveLimits, read_schema
from core.files.artifacts import TRUSTED_TYPES
from core.files.refusals import MalformedArtifact, OversizedArtifact

__all__ = ["EstimatorStructure", "HyperValue", "estimator_structure", "stored_structure"]

#: A hyperparameter as the schema stores it; lists of plain values are joined as text.
HyperValue = str | int | float | bool | None

_PIPELINES: Final = frozenset({"sklearn.pipeline.Pipeline"})
# scikit-learn keeps a deprecated parameter's slot with this placeholder; it says nothing.
_DEPRECATED: Final = "deprecated"
NOT_AN_ARCHIVE: Final = (
    "The stored artifact {name} is not a readable skops archive ({reason}); restore it from a "
    "backup of the data folder."
)
SCHEMA_TOO_LARGE: Final = (
    "The schema.json of the stored artifact {name} would inflate to {size:.1f} MB, more than "
    "the limit of {limit:.0f} MB (GATEHOUSE_SCHEMA_MAX_MB); raise the limit to read it."
)


@dataclass(frozen=True)
class EstimatorStructure:
    """What a model is made of: its steps, the estimator that decides, and that one's settings.

    ``steps`` are ``(step name, class name)`` of the outermost pipeline (empty for a bare
    estimator); ``final`` is the qualified class of the last estimator (inside nested
    pipelines); ``hyperparameters`` are its plain settings, by parameter name.
    """

    final: str
    steps: tuple[tuple[str, str], ...] = ()
    hyperparameters: Mapping[str, HyperValue] = field(default_factory=dict)

    @property
    def final_name(self) -> str:
        """The final estimator's class without its module: ``LogisticRegression``."""
        return self.final.rsplit(".", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "final": self.final,
            "steps": [list(s) for s in self.steps],
            "hyperparameters": dict(self.hyperparameters),
        }


def _type(node: Mapping[str, Any]) -> str:
    return f"{node.get('__module__', '')}.{node.get('__class__', '')}".strip(".")


def _state(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The attribute dict of an ObjectNode (empty when the node stores none)."""
    content = node.get("content")
    if isinstance(content, Mapping) and content.get("__loader__") == "DictNode":
        inner = content.get("content")
        return inner if isinstance(inner, Mapping) else {}
    return {}


def _plain(node: Any) -> tuple[bool, HyperValue]:
    """(True, value) for a JSON scalar, a list of them, a type or an object; else (False, None)."""
    if not isinstance(node, Mapping):
        return False, None
    loader = node.get("__loader__")
    if loader == "JsonNode" and isinstance(node.get("content"), str):
        value = json.loads(node["content"])
        if isinstance(value, str | int | float | bool) or value is None:
            return True, value
        return False, None
    if loader in ("ListNode", "TupleNode") and isinstance(node.get("content"), list):
        items = [_plain(item) for item in node["content"]]
        if all(ok for ok, _ in items):
            return True, ", ".join("—" if v is None else str(v) for _, v in items)
        return False, None
    if loader in ("TypeNode", "ObjectNode", "FunctionNode"):
        return True, str(node.get("__class__", ""))  # a nested estimator or a dtype, by name
    return False, None


def _steps(node: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """A pipeline's ``(name, node)`` steps, from its ``steps`` list of (name, estimator) tuples."""
    steps = _state(node).get("steps")
    items = steps.get("content") if isinstance(steps, Mapping) else None
    out: list[tuple[str, Mapping[str, Any]]] = []
    for item in items if isinstance(items, list) else []:
        pair = item.get("content") if isinstance(item, Mapping) else None
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], Mapping):
            ok, name = _plain(pair[0])
            out.append((str(name) if ok else "?", pair[1]))
    return out


def _final(node: Mapping[str, Any], depth: int = 0) -> Mapping[str, Any]:
    """The last estimator of (nested) pipelines; "passthrough" steps are not estimators."""
    if _type(node) not in _PIPELINES or depth > 20:
        return node
    built = [step for _, step in _steps(node) if step.get("__loader__") == "ObjectNode"]
    return _final(built[-1], depth + 1) if built else node


def _param_names(type_name: str) -> frozenset[str] | None:
    """The constructor parameters of a reviewed class; None for any other class."""
    if type_name not in TRUSTED_TYPES:
        return None  # never import a module a file names unless it is on the reviewed list
    module, _, name = type_name.rpartition(".")
    try:
        getter = getattr(getattr(importlib.import_module(module), name), "_get_param_names", None)
        return frozenset(getter()) if callable(getter) else None
    except (ImportError, AttributeError, TypeError):
        return None


def _is_setting(name: str, params: frozenset[str] | None) -> bool:
    if params is not None:
        return name in params
    return not (name.startswith("_") or name.endswith("_"))


def estimator_structure(schema: Any) -> EstimatorStructure:
    """The structure a skops schema describes (see the module docstring).

    Examples
    --------
    A pipeline ``prepare`` → ``model`` of ``LogisticRegression(C=0.1)`` reads as
    ``EstimatorStructure(final="sklearn.linear_model._logistic.LogisticRegression",
    steps=(("prepare", "ColumnTransformer"), ("model", "LogisticRegression")),
    hyperparameters={"C": 0.1, ...})``.
    """
    if not isinstance(schema, Mapping):
        return EstimatorStructure(final="")
    steps = tuple((name, str(step.get("__class__", "?"))) for name, step in _steps(schema))
    final = _final(schema)
    settings: dict[str, HyperValue] = {}
    params = _param_names(_type(final))
    for name, node in sorted(_state(final).items()):
        if not _is_setting(str(name), params):
            continue
        ok, value = _plain(node)
        if ok and value != _DEPRECATED:
            settings[str(name)] = value
    return EstimatorStructure(
        final=_type(final),
        steps=steps if _type(schema) in _PIPELINES else (),
        hyperparameters=settings,
    )


def stored_structure(path: Path, *, limits: ArchiveLimits | None = None) -> EstimatorStructure:
    """The structure of a stored skops file, read from its ``schema.json`` only.

    Opening the archive reads its directory and that one entry, whatever the model's size; the
    entry's declared size is checked against the schema limit before it is inflated.
    """
    limits = limits or ArchiveLimits.from_settings()
    name = Path(path).name
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("schema.json")
            if info.file_size > limits.schema_max_bytes:
                raise OversizedArtifact(
                    SCHEMA_TOO_LARGE.format(
                        name=name,
                        size=info.file_size / 2**20,
                        limit=limits.schema_max_bytes / 2**20,
                    )
                )
            return estimator_structure(read_schema(archive, name=name))
    except (zipfile.BadZipFile, KeyError, OSError) as err:
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise MalformedArtifact(NOT_AN_ARCHIVE.format(name=name, reason=reason)) from err

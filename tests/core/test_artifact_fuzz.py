"""The loader fuzzed: real skops schemas, mutated at random, give a model or a refusal in
sentences, never another exception (no MemoryError, no traceback, nothing half-built).

The checks run in this process (not in the limited child), so a check that lets an
allocation or a crash through fails this test instead of being caught by the sandbox.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from core.errors import GatehouseError
from core.files.archive import ArchiveLimits
from core.files.artifacts import TRUSTED_TYPES, _load_checked
from core.files.skops_schema import _LOADER_TYPES


def _real_files() -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120),
                      "c": rng.choice(["x", "y"], 120)})  # fmt: skip
    y = (X["a"] > 0).astype(int)
    prepare = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"]),
            ("num", StandardScaler(), ["a", "b"]),
        ]
    )
    models = [
        Pipeline([("prepare", prepare), ("model", LogisticRegression())]).fit(X, y),
        DecisionTreeClassifier(max_depth=3).fit(X[["a", "b"]], y),
        HistGradientBoostingClassifier(max_iter=3).fit(X[["a", "b"]], y),
    ]
    files = []
    for model in models:
        with zipfile.ZipFile(io.BytesIO(skops.io.dumps(model))) as archive:
            schema = json.loads(archive.read("schema.json"))
            entries = {n: archive.read(n) for n in archive.namelist() if n != "schema.json"}
        files.append((schema, entries))
    return files


REAL = _real_files()
LIMITS = ArchiveLimits(
    max_bytes=64 << 20, max_ratio=200, max_entries=10_000, schema_max_bytes=8 << 20,
    schema_max_depth=200,
)  # fmt: skip
TYPES = [*TRUSTED_TYPES[:20], *TRUSTED_TYPES[-30:], "posix.system", "builtins.eval",
         "numpy.ndarray", "builtins.bytes", "collections.OrderedDict", "a.b", "builtins.int"]  # fmt: skip
LOADERS = [*_LOADER_TYPES, "ReduceNode", "Bogus"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def nodes(draw: st.DrawFn, entry_names: list[str]) -> dict[str, Any]:
    module, _, cls = draw(st.sampled_from(TYPES)).rpartition(".")
    node: dict[str, Any] = {"__module__": module, "__class__": cls,
                            "__loader__": draw(st.sampled_from(LOADERS))}  # fmt: skip
    if draw(st.booleans()):
        arg = st.builds(
            lambda v: {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                       "content": json.dumps(v), "is_json": True},
            json_values,
        )  # fmt: skip
        node["content"] = {"__class__": "tuple", "__module__": "builtins",
                           "__loader__": draw(st.sampled_from(["TupleNode", "ListNode", "DictNode"])),
                           "content": draw(st.lists(arg, max_size=3))}  # fmt: skip
    else:
        node["content"] = draw(json_values)
    if draw(st.booleans()):
        node["file"] = draw(st.sampled_from([*entry_names, "missing.npy"]))
        node["type"] = draw(st.sampled_from(["numpy", "json", "other"]))
    if draw(st.booleans()):
        node["__reduce__"] = {"args": node["content"]}
    return node


def _node_paths(item: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(item, dict):
        if "__loader__" in item:
            found.append(path)
        for key, value in item.items():
            found += _node_paths(value, (*path, key))
    elif isinstance(item, list):
        for i, value in enumerate(item):
            found += _node_paths(value, (*path, i))
    return found


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[bytes, str]:
    schema, entries = copy.deepcopy(draw(st.sampled_from(REAL)))
    entries = dict(entries)
    for _ in range(draw(st.integers(1, 3))):
        paths = _node_paths(schema)
        path = draw(st.sampled_from(paths))
        parent: Any = schema
        for key in path[:-1]:
            parent = parent[key]
        target = parent[path[-1]] if path else schema
        action = draw(st.sampled_from(["replace", "set", "delete", "entry"]))
        if action == "replace" and path:
            parent[path[-1]] = draw(nodes(list(entries)))
        elif action == "set":
            key = draw(st.sampled_from([*target, "content", "__class__", "__module__", "__id__"]))
            target[key] = draw(json_values)
        elif action == "delete" and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif entries:
            name = draw(st.sampled_from(sorted(entries)))
            entries[name] = draw(st.binary(max_size=256))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue(), json.dumps(schema)[:300]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_files())
def test_mutated_schemas_give_a_model_or_sentences(case: tuple[bytes, str]) -> None:
    data, _ = case
    try:
        _load_checked(data, name="fuzz.skops", extra_trusted=(), limits=LIMITS)
    except GatehouseError as err:
        assert err.problems
        for problem in err.problems:
            assert isinstance(problem, str) and problem.strip()
            assert "\n" not in problem and "Traceback" not in problem


@pytest.mark.parametrize("index", range(len(REAL)))
def test_the_unmutated_schemas_load(index: int) -> None:
    schema, entries = REAL[index]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
        for name, data in entries.items():
            archive.writestr(name, data)
    assert _load_checked(buffer.getvalue(), name="real.skops", extra_trusted=(), limits=LIMITS)

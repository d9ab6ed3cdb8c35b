"""Model artifacts: pickle refused unopened, skops types checked, crafted trees refused."""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import json
import lzma
import pathlib
import pickle
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.errors import GatehouseError
from core.files.artifacts import (
    EMPTY_FILE,
    NOT_A_FILE,
    NOT_SKOPS_DESPITE_EXTENSION,
    PICKLE_REFUSED,
    TRUSTED_TYPES,
    UNKNOWN_FORMAT,
    UNTRUSTED_TYPES,
    ArtifactRefused,
    MalformedArtifact,
    UnsafeArtifact,
    UntrustedArtifact,
    check_artifact_file,
    load_artifact,
)

FUNCTION_TRANSFORMER = "sklearn.preprocessing._function_transformer.FunctionTransformer"


class Touch:
    """Unpickling this runs ``Path.touch(marker)``: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Path]]:
        return (pathlib.Path.touch, (self.marker,))


def malicious_payloads(marker: Path) -> dict[str, bytes]:
    """The same code-running pickle, plain in every protocol and as joblib would compress it."""
    payload = pickle.dumps(Touch(marker))
    buffer = io.BytesIO()
    joblib.dump(Touch(marker), buffer, compress=3)
    return {
        **{f"protocol-{p}": pickle.dumps(Touch(marker), protocol=p) for p in range(6)},
        "joblib-zlib": buffer.getvalue(),
        "zlib-fast": zlib.compress(payload, 1),
        "zlib-best": zlib.compress(payload, 9),
        "gzip": gzip.compress(payload),
        "bz2": bz2.compress(payload),
        "xz": lzma.compress(payload),
    }


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.choice(["x", "y", "z"], n),
        }
    )
    y_class = (X["a"] + rng.normal(size=n) > 0).astype(int).to_numpy()
    y_value = 2 * X["a"].to_numpy() + rng.normal(size=n)
    return X, y_class, y_value


def pipeline(model: BaseEstimator) -> Pipeline:
    prepare = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"]),
            ("num", StandardScaler(), ["a", "b"]),
        ]
    )
    return Pipeline([("prepare", prepare), ("model", model)])


def dump(model: object, path: Path) -> Path:
    skops.io.dump(model, path)
    return path


# --- Pickle and joblib: refused by content, never unpickled -----------------------------


@pytest.mark.parametrize("suffix", [".pkl", ".skops", ".joblib"])
def test_pickles_are_refused_without_being_unpickled(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "unpickled.marker"
    # Sanity: the payload really runs code when unpickled (in a throwaway copy).
    pickle.loads(pickle.dumps(Touch(tmp_path / "sanity.marker")))  # noqa: S301 - deliberate
    assert (tmp_path / "sanity.marker").exists()

    for kind, payload in malicious_payloads(marker).items():
        path = tmp_path / f"model-{kind}{suffix}"
        path.write_bytes(payload)
        for refuse in (check_artifact_file, load_artifact):
            with pytest.raises(UnsafeArtifact) as caught:
                refuse(path)
            assert caught.value.problems == [PICKLE_REFUSED.format(name=path.name)], kind
    assert not marker.exists()


def test_refusals_are_value_errors_and_domain_errors(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ValueError, match="pickle/joblib") as caught:
        check_artifact_file(path)
    assert isinstance(caught.value, GatehouseError)
    assert isinstance(caught.value, ArtifactRefused)
    assert str(caught.value) == PICKLE_REFUSED.format(name="model.pkl")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"")
    with pytest.raises(ArtifactRefused) as caught:
        load_artifact(path)
    assert caught.value.problems == [EMPTY_FILE.format(name="model.skops")]


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactRefused) as caught:
        check_artifact_file(tmp_path / "nowhere.skops")
    assert caught.value.problems == [NOT_A_FILE.format(path=tmp_path / "nowhere.skops")]


@pytest.mark.parametrize(
    "content",
    [b"not a model at all", b"PK\x03\x04 truncated zip", b"\x00\x01\x02"],
    ids=["text", "broken-zip", "binary"],
)
def test_skops_extension_without_skops_content_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(content)
    with pytest.raises(ArtifactRefused) as caught:
        check_artifact_file(path)
    assert not isinstance(caught.value, UnsafeArtifact)
    assert caught.value.problems == [NOT_SKOPS_DESPITE_EXTENSION.format(name="model.skops")]


def test_zip_without_schema_is_not_skops(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Touch(tmp_path / "marker")))
    with pytest.raises(ArtifactRefused) as caught:
        load_artifact(path)
    assert caught.value.problems == [NOT_SKOPS_DESPITE_EXTENSION.format(name="model.skops")]
    other = path.rename(tmp_path / "model.pt")
    with pytest.raises(ArtifactRefused) as caught:
        load_artifact(other)
    assert caught.value.problems == [UNKNOWN_FORMAT.format(name="model.pt")]
    assert not (tmp_path / "marker").exists()


def test_format_is_judged_by_content_not_extension(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = frame
    model = pipeline(LogisticRegression()).fit(X, y)
    path = dump(model, tmp_path / "model.bin")
    assert check_artifact_file(path) == "skops"
    loaded = load_artifact(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# --- The trusted type list --------------------------------------------------------------


def test_trusted_types_are_unique_classes_and_hold_no_functions() -> None:
    assert len(TRUSTED_TYPES) == len(set(TRUSTED_TYPES))
    assert FUNCTION_TRANSFORMER not in TRUSTED_TYPES
    for name in TRUSTED_TYPES:
        if name == "numpy.bool_" and not hasattr(np, "bool_"):
            continue
        module, _, attribute = name.rpartition(".")
        found = getattr(importlib.import_module(module), attribute)
        assert isinstance(found, type), f"{name} is not a class"


MODELS: dict[str, Callable[[], tuple[BaseEstimator, str]]] = {
    "decision-tree-classifier": lambda: (DecisionTreeClassifier(max_depth=4), "class"),
    "decision-tree-regressor": lambda: (DecisionTreeRegressor(max_depth=4), "value"),
    "random-forest-classifier": lambda: (RandomForestClassifier(n_estimators=5), "class"),
    "random-forest-regressor": lambda: (RandomForestRegressor(n_estimators=5), "value"),
    "extra-trees-classifier": lambda: (ExtraTreesClassifier(n_estimators=5), "class"),
    "gradient-boosting-classifier": lambda: (GradientBoostingClassifier(n_estimators=5), "class"),
    "gradient-boosting-regressor": lambda: (GradientBoostingRegressor(n_estimators=5), "value"),
    "hist-gradient-boosting-classifier": lambda: (
        HistGradientBoostingClassifier(max_iter=5),
        "class",
    ),
    "hist-gradient-boosting-regressor": lambda: (
        HistGradientBoostingRegressor(max_iter=5),
        "value",
    ),
    "logistic-regression": lambda: (LogisticRegression(), "class"),
    "linear-regression": lambda: (LinearRegression(), "value"),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_common_models_load_without_extra_trust(
    name: str, tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y_class, y_value = frame
    estimator, kind = MODELS[name]()
    model = pipeline(estimator).fit(X, y_class if kind == "class" else y_value)
    loaded = load_artifact(dump(model, tmp_path / "model.skops"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_multiclass_and_categorical_boosting_load(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, _, y_value = frame
    y3 = np.digitize(y_value, [-1, 1])
    for estimator in (GradientBoostingClassifier(n_estimators=3), LogisticRegression()):
        model = pipeline(estimator).fit(X, y3)
        loaded = load_artifact(dump(model, tmp_path / "multiclass.skops"))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    codes = X.assign(c=X["c"].map({"x": 0, "y": 1, "z": 2}))
    y_categorical = y_value + 3 * (codes["c"] == 2)
    hgb = HistGradientBoostingRegressor(max_iter=5, categorical_features=[2])
    hgb.fit(codes.to_numpy(), y_categorical)
    assert any(p.nodes["is_categorical"].any() for (p,) in hgb._predictors)
    # Native categorical support wraps check_array in a FunctionTransformer: trusted on request.
    helpers = [FUNCTION_TRANSFORMER, "functools.partial", "sklearn.utils.validation.check_array"]
    loaded = load_artifact(dump(hgb, tmp_path / "categorical.skops"), extra_trusted=helpers)
    np.testing.assert_array_equal(loaded.predict(codes.to_numpy()), hgb.predict(codes.to_numpy()))


def test_untrusted_type_is_refused_and_named_then_loads_when_trusted(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = frame
    numbers = X[["a", "b"]].abs().to_numpy()
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(numbers, y)
    path = dump(model, tmp_path / "model.skops")
    untrusted = ["numpy.log1p", FUNCTION_TRANSFORMER]

    with pytest.raises(UntrustedArtifact) as caught:
        load_artifact(path)
    assert caught.value.problems[0] == UNTRUSTED_TYPES.format(types=untrusted)
    assert caught.value.problems[0].startswith(
        "The artifact contains types Gatehouse does not trust: "
        f"['numpy.log1p', '{FUNCTION_TRANSFORMER}']; an admin who has reviewed them can add "
        "them to the allowlist (gatehouse admin trust-type add TYPE)"
    )
    assert isinstance(caught.value, ValueError)

    with pytest.raises(UntrustedArtifact) as caught:
        load_artifact(path, extra_trusted=[FUNCTION_TRANSFORMER])
    assert "['numpy.log1p']" in caught.value.problems[0]

    loaded = load_artifact(path, extra_trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(numbers), model.predict_proba(numbers))


def test_passthrough_column_needs_explicit_trust(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = frame
    prepare = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])], remainder="passthrough"
    )
    model = make_pipeline(prepare, LogisticRegression()).fit(X, y)
    path = dump(model, tmp_path / "model.skops")
    with pytest.raises(UntrustedArtifact, match="FunctionTransformer") as caught:
        load_artifact(path)
    assert any('"passthrough"' in problem for problem in caught.value.problems[1:])
    load_artifact(path, extra_trusted=[FUNCTION_TRANSFORMER])


# --- Crafted trees: a trusted type with out-of-range content ----------------------------
# None of these models is ever used to predict: that is what could crash the process.


def with_tree_state(tree: Any, **changes: Any) -> None:
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    for field, (index, value) in changes.items():
        if field == "max_depth":
            state["max_depth"] = value
        else:
            nodes[field][index] = value
    tree.__setstate__({**state, "nodes": nodes})


def fitted_tree(frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> Pipeline:
    X, y, _ = frame
    return pipeline(DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, y)


def assert_malformed(path: Path, detail: str) -> None:
    with pytest.raises(MalformedArtifact) as caught:
        load_artifact(path)
    assert len(caught.value.problems) >= 1
    assert all(
        p.startswith(f"The artifact {path.name} is malformed at ") for p in caught.value.problems
    )
    assert detail in " ".join(caught.value.problems)


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"left_child": (0, 10**6)}, "a child index points outside the tree or backwards"),
        ({"right_child": (0, 0)}, "a child index points outside the tree or backwards"),
        ({"feature": (0, 10**6)}, "a split uses a feature outside the"),
        ({"feature": (0, -5)}, "a split uses a feature outside the"),
        ({"max_depth": (None, 1)}, "the tree records depth 1 but is 3 deep"),
    ],
    ids=["child-out-of-range", "child-loop", "feature-too-large", "feature-negative", "depth"],
)
def test_crafted_tree_is_refused(
    tmp_path: Path,
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
    changes: dict[str, tuple[Any, int]],
    detail: str,
) -> None:
    model = fitted_tree(frame)
    with_tree_state(model[-1].tree_, **changes)
    assert_malformed(dump(model, tmp_path / "model.skops"), detail)


def test_tree_with_two_parents_is_refused(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    model = fitted_tree(frame)
    tree = model[-1].tree_
    left = tree.children_left
    # Point the root's right child at a node that already has a parent.
    grandchild = int(left[left[0]]) if left[left[0]] != -1 else int(tree.children_right[left[0]])
    with_tree_state(tree, right_child=(0, grandchild))
    assert_malformed(dump(model, tmp_path / "model.skops"), "the nodes do not form a tree")


def test_node_count_cutting_off_children_is_refused(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    path = dump(fitted_tree(frame), tmp_path / "model.skops")
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])

    def truncate(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("__loader__") == "TreeNode":
                count = node["content"]["content"]["node_count"]
                count["content"] = "3"
                count["__id__"] = 1  # a fresh id, or skops reuses the shared integer
            for value in node.values():
                truncate(value)
        elif isinstance(node, list):
            for value in node:
                truncate(value)

    truncate(schema)
    files["schema.json"] = json.dumps(schema).encode()
    crafted = tmp_path / "crafted.skops"
    with zipfile.ZipFile(crafted, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    assert_malformed(crafted, "a child index points outside the tree")


def test_forest_member_claiming_more_features_is_refused(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = frame
    model = pipeline(RandomForestClassifier(n_estimators=3, random_state=0)).fit(X, y)
    member = model[-1].estimators_[0]
    member.n_features_in_ = 1_000
    member.tree_.n_features = 1_000
    with_tree_state(member.tree_, feature=(0, 999))
    assert_malformed(dump(model, tmp_path / "model.skops"), "a split uses a feature outside the 5")


def test_boosting_with_extra_stage_columns_is_refused(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = frame
    model = pipeline(GradientBoostingClassifier(n_estimators=3, random_state=0)).fit(X, y)
    stages = model[-1].estimators_
    model[-1].estimators_ = np.concatenate([stages, stages, stages], axis=1)
    assert_malformed(dump(model, tmp_path / "model.skops"), "one column per tree")


def test_crafted_hist_gradient_boosting_is_refused(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray, np.ndarray]
) -> None:
    X, y, _ = frame
    model = pipeline(HistGradientBoostingClassifier(max_iter=3)).fit(X, y)
    predictor = model[-1]._predictors[0][0]
    root = predictor.nodes.copy()
    predictor.nodes["left"][0] = 10**6
    assert_malformed(dump(model, tmp_path / "link.skops"), "points outside the tree")

    predictor.nodes = root.copy()
    predictor.nodes["feature_idx"][0] = 10**6
    assert_malformed(dump(model, tmp_path / "feature.skops"), "a split uses a feature outside")

    predictor.nodes = root.copy()
    predictor.nodes["is_categorical"][0] = 1
    assert_malformed(dump(model, tmp_path / "categorical.skops"), "categorical")

"""Safe loading of model artifacts: skops files checked against a reviewed list of types.

Loading a pickle or joblib file can run any code its author chose, so Gatehouse never
unpickles anything. Models are registered as skops files (``skops.io.dump``): a zip archive
holding a JSON description of the object tree plus numpy arrays. Before anything is built
from such a file, every type it names is compared with ``TRUSTED_TYPES`` (plus whatever the
registering user explicitly trusts), and the file is refused if any type is missing.

Two trusted types need more than a name check. ``sklearn.tree._tree.Tree`` and the
histogram-gradient-boosting ``TreePredictor`` store raw node and feature indices that
scikit-learn follows without bounds checks, so a crafted file of an allowed type could make
``predict`` read memory out of bounds (skops itself does not trust them by default for this
reason). Gatehouse trusts them only together with a structural check run right after loading
and before anything predicts: every child index must point forward to an existing node,
every node but the root must have exactly one parent, every split feature must be a column
the estimator validates, and the recorded depth must be the real one.

The detection of pickle and joblib files goes by content (magic bytes), not by extension.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import skops.io
from sklearn.base import BaseEstimator
from sklearn.ensemble import BaseEnsemble
from sklearn.ensemble._gb import BaseGradientBoosting
from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import (
    BaseHistGradientBoosting,
)
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.tree import BaseDecisionTree
from sklearn.tree._tree import Tree

from core.errors import GatehouseError

__all__ = [
    "TRUSTED_TYPES",
    "ArtifactRefused",
    "MalformedArtifact",
    "UnsafeArtifact",
    "UntrustedArtifact",
    "check_artifact_file",
    "load_artifact",
    "load_skops",
]

# The reviewed list. A type belongs here when building it from a skops file cannot run code
# chosen by the file's author: data containers, numpy arrays and scalars, and scikit-learn
# estimators whose fitted state is plain arrays and numbers. Functions (numpy ufuncs
# included) are deliberately absent, and so is everything that holds a callable.
TRUSTED_TYPES: Final[tuple[str, ...]] = (
    # Python containers and primitives (skops stores JSON values as builtins.str).
    "builtins.bool",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.set",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    # numpy arrays (read with allow_pickle=False), dtypes, scalars and random states.
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.bool",  # numpy >= 2
    "numpy.bool_",  # numpy 1.x
    "numpy.int8",
    "numpy.int16",
    "numpy.int32",
    "numpy.int64",
    "numpy.uint8",
    "numpy.uint16",
    "numpy.uint32",
    "numpy.uint64",
    "numpy.float16",
    "numpy.float32",
    "numpy.float64",
    "numpy.random._generator.Generator",
    "numpy.random.mtrand.RandomState",
    # Composition.
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    # Preprocessing and imputation. Not FunctionTransformer: it calls any function it holds
    # (ColumnTransformer stores "passthrough" as one, so such pipelines need --trusted).
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._base.SimpleImputer",
    # Linear models.
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._ridge.RidgeClassifier",
    # Trees, forests and boosting; the Dummy* models are gradient boosting's initial guess.
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.dummy.DummyClassifier",
    "sklearn.dummy.DummyRegressor",
    # Tree internals: trusted only with the structural check in this module (see docstring).
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    # Loss and link objects of (hist) gradient boosting: parameters only.
    "sklearn._loss.link.HalfLogitLink",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.ExponentialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfGammaLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HuberLoss",
    "sklearn._loss.loss.PinballLoss",
    "sklearn._loss._loss.CyAbsoluteError",
    "sklearn._loss._loss.CyExponentialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfGammaLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfPoissonLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.CyHuberLoss",
    "sklearn._loss._loss.CyPinballLoss",
)

# Why some types people meet often are not trusted; added to the refusal as a hint.
_WHY_NOT_TRUSTED: Final = {
    "sklearn.preprocessing._function_transformer.FunctionTransformer": (
        "FunctionTransformer calls whatever function it holds; a ColumnTransformer with "
        '"passthrough" stores an identity FunctionTransformer, which is harmless.'
    ),
    "functools.partial": "functools.partial wraps a function with arguments and calls it.",
}

EMPTY_FILE: Final = (
    "The file {name} is empty; register the file the model was saved to with skops "
    "(skops.io.dump(model, 'model.skops'))."
)
NOT_A_FILE: Final = "The artifact {path} does not exist or is not a file."
PICKLE_REFUSED: Final = (
    "The artifact {name} is a pickle/joblib file; loading it can run arbitrary code, so "
    "Gatehouse refuses it. Save the model with skops (skops.io.dump(model, 'model.skops')) "
    "and register that file; an admin may allow pickle only for a named, trusted source."
)
NOT_SKOPS_DESPITE_EXTENSION: Final = (
    "The file {name} is not a skops file despite its extension: it is not a zip archive "
    "containing schema.json. Save the model with skops.io.dump(model, 'model.skops') and "
    "register that file."
)
UNKNOWN_FORMAT: Final = (
    "The file {name} is not a format Gatehouse loads: only skops files (zip archives "
    "containing schema.json) are accepted. Save the model with "
    "skops.io.dump(model, 'model.skops') and register that file."
)
UNREADABLE_SKOPS: Final = "The skops file {name} cannot be read: {error}."
UNTRUSTED_TYPES: Final = (
    "The artifact contains types Gatehouse does not trust: {types}; if you have reviewed "
    "them, register again with {flags}."
)
MALFORMED_TREE: Final = (
    "The artifact {name} is malformed at {where}: {detail}; scikit-learn could access "
    "memory out of bounds when using it, so Gatehouse refuses it."
)

# zlib (joblib's default compression), gzip, bz2, xz, legacy lzma, lz4, and joblib < 0.10.
_COMPRESSED_PREFIXES: Final = (
    b"x\x01",
    b"x\x5e",
    b"x\x9c",
    b"x\xda",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"]\x00\x00",
    b"\x04\x22\x4d\x18",
    b"ZF",
)
# Opcodes a protocol 0/1 pickle can start with (MARK, GLOBAL, EMPTY_LIST/DICT/TUPLE).
_TEXT_PICKLE_STARTS: Final = frozenset(b"(c]})")
_READ_ERRORS: Final = (
    zipfile.BadZipFile,
    json.JSONDecodeError,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    ImportError,
    RecursionError,
    EOFError,
)


class ArtifactRefused(GatehouseError, ValueError):
    """A model artifact Gatehouse will not load; ``problems`` says why and what to do."""


class UnsafeArtifact(ArtifactRefused):
    """The artifact is a pickle or joblib file, which can run arbitrary code when loaded."""


class UntrustedArtifact(ArtifactRefused):
    """The skops file names types outside ``TRUSTED_TYPES`` and the caller's extra list."""


class MalformedArtifact(ArtifactRefused):
    """The skops file cannot be read, or its tree structures are inconsistent."""


def _is_pickle(data: bytes) -> bool:
    if data[:1] == b"\x80" or data.startswith(_COMPRESSED_PREFIXES):
        return True
    # Protocol 0/1 pickles are text-like: they start with an opcode and end with STOP (".").
    return data[0] in _TEXT_PICKLE_STARTS and data.endswith(b".")


def _is_skops(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "schema.json" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _checked_bytes(path: Path) -> bytes:
    # Reads the file once, so what is checked is exactly what gets loaded.
    if not path.is_file():
        raise ArtifactRefused(NOT_A_FILE.format(path=path))
    data = path.read_bytes()
    if not data:
        raise ArtifactRefused(EMPTY_FILE.format(name=path.name))
    if _is_pickle(data):
        raise UnsafeArtifact(PICKLE_REFUSED.format(name=path.name))
    if not _is_skops(data):
        template = (
            NOT_SKOPS_DESPITE_EXTENSION if path.suffix.lower() == ".skops" else UNKNOWN_FORMAT
        )
        raise ArtifactRefused(template.format(name=path.name))
    return data


def check_artifact_file(path: Path) -> str:
    """The artifact's format, judged by content: ``"skops"``, or a refusal.

    Pickle and joblib files (plain or compressed) raise ``UnsafeArtifact``; empty files,
    files that are not skops archives (whatever their extension) raise ``ArtifactRefused``.
    Nothing is ever unpickled.
    """
    _checked_bytes(Path(path))
    return "skops"


def _schema_types(data: bytes) -> set[str]:
    # Every node of a skops schema names its type with "__module__" and "__class__".
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            module, name = item.get("__module__"), item.get("__class__")
            if isinstance(module, str) and isinstance(name, str):
                found.add(f"{module}.{name}")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _load_checked(data: bytes, *, name: str, extra_trusted: Sequence[str]) -> object:
    try:
        reported = skops.io.get_untrusted_types(data=data)
        present = _schema_types(data)
    except _READ_ERRORS as err:
        raise MalformedArtifact(UNREADABLE_SKOPS.format(name=name, error=err)) from err
    untrusted = sorted((present | set(reported)) - set(TRUSTED_TYPES) - set(extra_trusted))
    if untrusted:
        flags = " ".join(f"--trusted {t}" for t in untrusted)
        hints = [_WHY_NOT_TRUSTED[t] for t in untrusted if t in _WHY_NOT_TRUSTED]
        raise UntrustedArtifact([UNTRUSTED_TYPES.format(types=untrusted, flags=flags), *hints])
    try:
        model = skops.io.loads(data, trusted=reported)
    except _READ_ERRORS as err:
        raise MalformedArtifact(UNREADABLE_SKOPS.format(name=name, error=err)) from err
    problems = [
        MALFORMED_TREE.format(name=name, where=where, detail=detail)
        for where, detail in _structure_problems(model)
    ]
    if problems:
        raise MalformedArtifact(problems)
    return model


def load_skops(path: Path, *, extra_trusted: Sequence[str] = ()) -> object:
    """Load a skops file whose types are all in ``TRUSTED_TYPES`` or ``extra_trusted``.

    Parameters
    ----------
    path
        The skops file.
    extra_trusted
        Fully qualified type names a user has reviewed for this artifact (the CLI's
        ``--trusted``).

    Raises
    ------
    UntrustedArtifact
        Naming every untrusted type and how to trust it.
    MalformedArtifact
        When the archive cannot be read or a tree inside it is inconsistent.
    """
    path = Path(path)
    data = _checked_bytes(path)
    return _load_checked(data, name=path.name, extra_trusted=extra_trusted)


def load_artifact(path: Path, *, extra_trusted: Sequence[str] = ()) -> object:
    """Check the file's format by content, then load it as skops; the one door for models."""
    path = Path(path)
    data = _checked_bytes(path)  # the check of check_artifact_file, on the bytes we load
    return _load_checked(data, name=path.name, extra_trusted=extra_trusted)


# --- Structural checks of trees (see the module docstring) -------------------------------


def _is_tree_model(value: object) -> bool:
    return isinstance(value, BaseDecisionTree | BaseEnsemble | BaseHistGradientBoosting)


def _links_problem(
    left: np.ndarray, right: np.ndarray, internal: np.ndarray, count: int
) -> str | None:
    # A valid tree: children point forward (no cycles) to existing nodes, and every node but
    # the root has exactly one parent.
    index = np.arange(count)[internal]
    lefts, rights = left[internal], right[internal]
    if np.any((lefts <= index) | (lefts >= count) | (rights <= index) | (rights >= count)):
        return "a child index points outside the tree or backwards"
    if not np.array_equal(np.sort(np.concatenate([lefts, rights])), np.arange(1, count)):
        return "the nodes do not form a tree (a node has no parent or several)"
    return None


def _depth(left: np.ndarray, right: np.ndarray, internal: np.ndarray) -> int:
    depth, level = 0, np.array([0])
    while True:
        level = level[internal[level]]
        if not level.size:
            return depth
        level = np.concatenate([left[level], right[level]])
        depth += 1


def _tree_problems(tree: Tree, *, width: int | None) -> list[str]:
    count, capacity = int(tree.node_count), int(tree.capacity)
    if not 0 < count <= capacity:
        # Checked before reading any node array: those views are node_count long.
        return [f"the tree claims {count} nodes but stores {capacity}"]
    if width is None:
        return ["no enclosing model records how many features the tree takes (n_features_in_)"]
    left = tree.children_left.astype(np.int64)
    right = tree.children_right.astype(np.int64)
    internal = left != -1
    if np.any(~internal & (right != -1)):
        return ["a leaf has a right child"]
    if problem := _links_problem(left, right, internal, count):
        return [problem]
    problems = []
    features = tree.feature[internal]
    limit = min(width, int(tree.n_features))
    if np.any((features < 0) | (features >= limit)):
        problems.append(f"a split uses a feature outside the {limit} the model takes")
    if (depth := _depth(left, right, internal)) != tree.max_depth:
        problems.append(f"the tree records depth {tree.max_depth} but is {depth} deep")
    return problems


def _predictor_problems(predictor: TreePredictor, *, width: int | None, owner: object) -> list[str]:
    nodes = getattr(predictor, "nodes", None)
    if not (
        isinstance(nodes, np.ndarray)
        and nodes.dtype == PREDICTOR_RECORD_DTYPE
        and nodes.ndim == 1
        and nodes.size > 0
    ):
        return ["the predictor's node array has the wrong type, shape or dtype"]
    if width is None:
        return ["no enclosing model records how many features the predictor takes (n_features_in_)"]
    internal = nodes["is_leaf"] == 0
    left, right = nodes["left"].astype(np.int64), nodes["right"].astype(np.int64)
    if problem := _links_problem(left, right, internal, nodes.size):
        return [problem]
    problems = []
    features = nodes["feature_idx"][internal]
    if np.any((features < 0) | (features >= width)):
        problems.append(f"a split uses a feature outside the {width} the model takes")
    categorical = internal & (nodes["is_categorical"] != 0)
    if np.any(categorical):
        bitset_rows = []
        for attribute in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
            bitsets = getattr(predictor, attribute, None)
            if not (
                isinstance(bitsets, np.ndarray) and bitsets.ndim == 2 and bitsets.shape[1] == 8
            ):
                return [f"the predictor's {attribute} is not an (n, 8) array"]
            bitset_rows.append(bitsets.shape[0])
        if np.any(nodes["bitset_idx"][categorical] >= min(bitset_rows)):
            problems.append("a categorical split points outside the category bitsets")
        mapper = getattr(owner, "_bin_mapper", None)
        is_categorical = getattr(mapper, "is_categorical_", None)
        split_features = nodes["feature_idx"][categorical]
        if not (
            isinstance(is_categorical, np.ndarray)
            and is_categorical.shape == (width,)
            and np.all((split_features >= 0) & (split_features < width))
            and np.all(is_categorical[np.clip(split_features, 0, width - 1)])
        ):
            problems.append(
                "a categorical split is on a feature the model does not treat as categorical"
            )
    return problems


def _boosting_problems(model: BaseGradientBoosting) -> list[str]:
    # predict_stages writes column k of a raw-prediction array whose width comes from the
    # initial estimator; an estimators_ array wider than that would write out of bounds.
    stages = getattr(model, "estimators_", None)
    per_iteration = getattr(model, "n_trees_per_iteration_", None)
    if not (isinstance(stages, np.ndarray) and stages.ndim == 2):
        return ["estimators_ is not a two-dimensional array of trees"]
    if stages.shape[1] != per_iteration:
        return ["estimators_ does not have one column per tree of an iteration"]
    init = getattr(model, "init_", None)
    if stages.shape[1] > 1 and init != "zero":
        classes = getattr(init, "classes_", None)
        if classes is None or len(classes) != stages.shape[1]:
            return ["the initial estimator does not predict one column per class"]
    return []


def _children(value: object, where: str) -> Iterator[tuple[object, str]]:
    if isinstance(value, dict):
        yield from ((item, f"{where}[{key!r}]") for key, item in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        yield from ((item, f"{where}[{i}]") for i, item in enumerate(value))
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            yield from ((item, f"{where}[{i}]") for i, item in enumerate(value.flat))
    elif not isinstance(value, type) and hasattr(value, "__dict__"):
        yield from ((item, f"{where}.{key}") for key, item in vars(value).items())


def _structure_problems(model: object) -> list[tuple[str, str]]:
    """Every inconsistent tree in a loaded model, as (where, what) pairs."""
    problems: list[tuple[str, str]] = []
    # Each entry: the value, the width of the X its trees see, the enclosing tree model, path.
    stack: list[tuple[object, int | None, object, str]] = [(model, None, None, "the model")]
    seen: set[tuple[int, int | None, int]] = set()
    while stack:
        value, width, owner, where = stack.pop()
        if isinstance(value, str | bytes | int | float | bool | np.generic) or value is None:
            continue
        key = (id(value), width, id(owner))
        if key in seen:
            continue
        seen.add(key)
        if isinstance(value, Tree):
            problems.extend((where, p) for p in _tree_problems(value, width=width))
            continue
        if isinstance(value, TreePredictor):
            found = _predictor_problems(value, width=width, owner=owner)
            problems.extend((where, p) for p in found)
            continue
        if isinstance(value, BaseEstimator):
            if _is_tree_model(value):
                # predict validates X against n_features_in_ of the outermost tree model;
                # nested ones (forest members, boosting stages) must not claim more.
                # Unfitted templates (a forest's ``estimator``) have none and hold no trees;
                # a crafted one that does is caught as a tree outside a tree model.
                n = vars(value).get("n_features_in_")
                if n is not None and (not isinstance(n, int | np.integer) or n < 1):
                    problems.append((where, f"n_features_in_ is {n!r}, not a positive integer"))
                    continue
                if n is not None:
                    width = int(n) if width is None else min(width, int(n))
                owner = value
            else:
                width, owner = None, None
            if isinstance(value, BaseGradientBoosting):
                problems.extend((where, p) for p in _boosting_problems(value))
        stack.extend((child, width, owner, path) for child, path in _children(value, where))
    return problems

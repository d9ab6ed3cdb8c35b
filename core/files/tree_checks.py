"""Structural checks of the trees inside a loaded model, run before anything predicts.

``sklearn.tree._tree.Tree`` and the histogram-gradient-boosting ``TreePredictor`` store raw
node and feature indices that scikit-learn follows without bounds checks, so a crafted file of
an allowed type could make ``predict`` read memory out of bounds (skops itself does not trust
them by default for this reason). Every child index must point forward to an existing node,
every node but the root must have exactly one parent, every split feature must be a column the
estimator validates, and the recorded depth must be the real one.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
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

__all__ = ["structure_problems"]


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


def structure_problems(model: object) -> list[tuple[str, str]]:
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

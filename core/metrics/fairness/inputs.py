"""Fairness inputs: sensitive columns, intersections and reference groups, checked and encoded.

Every function appends one sentence per problem, so ``compute_fairness`` reports every problem
of its input at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from core.metrics.fairness.messages import (
    BAD_MIN_GROUP_SIZE,
    MISSING_NOTE,
    NO_SENSITIVE,
    SENSITIVE_NAME,
    SENSITIVE_NOT_MAPPING,
    SHORT_INTERSECTION,
    SINGLE_GROUP,
    UNKNOWN_INTERSECTION_COLUMN,
    UNKNOWN_REFERENCE_FEATURE,
    UNKNOWN_REFERENCE_GROUP,
)
from core.metrics.inputs import GroupColumn, encode_binary, encode_group_columns
from core.metrics.options import check_bootstrap_options, check_task
from core.metrics.plain import is_whole

__all__ = [
    "GroupTables",
    "check_options",
    "check_references",
    "encode_sensitive",
    "feature_specs",
    "first_column",
    "label_problems",
    "missing_notes",
    "row_counts",
    "single_group_problems",
]

#: Per feature: the labels of its non-empty groups and their totals.
GroupTables = Mapping[str, tuple[list[str], np.ndarray]]


def check_options(
    *, task: Any, n_boot: Any, seed: Any, ci: Any, min_group_size: Any, problems: list[str]
) -> None:
    """Record unusable options: task, bootstrap replicates, seed, confidence, minimum size."""
    check_task(task, problems)
    check_bootstrap_options(n_boot=n_boot, seed=seed, ci=ci, problems=problems)
    if not is_whole(min_group_size) or min_group_size < 1:
        problems.append(BAD_MIN_GROUP_SIZE.format(value=min_group_size))


def label_problems(
    y_true: Any, y_pred: Any, truth: Any, decisions: Any, positive_label: Any
) -> list[str]:
    """Problems of label arrays whose check ``encode_binary`` deferred to counting."""
    problems: list[str] = []
    for name, values, encoded in (("y_true", y_true, truth), ("y_pred", y_pred, decisions)):
        if encoded is not None and encoded.dtype != np.uint8:
            encode_binary(values, name=name, positive_label=positive_label, problems=problems)
    return problems


def first_column(totals: np.ndarray) -> np.ndarray:
    return totals[:, 0]


def row_counts(totals: np.ndarray) -> np.ndarray:
    counts: np.ndarray = totals.sum(axis=1)
    return counts


def encode_sensitive(
    sensitive: Mapping[str, Any], *, n_rows: int | None, problems: list[str]
) -> list[GroupColumn]:
    if not hasattr(sensitive, "items"):
        problems.append(SENSITIVE_NOT_MAPPING.format(kind=type(sensitive).__name__))
        return []
    items = list(sensitive.items())
    if not items:
        problems.append(NO_SENSITIVE)
    return encode_group_columns(
        items, argument="sensitive", bad_name=SENSITIVE_NAME, n_rows=n_rows, problems=problems
    )


def feature_specs(
    names: list[str], intersections: bool | Sequence[Sequence[str]], *, problems: list[str]
) -> dict[str, tuple[int, ...]]:
    """Feature name -> indices of its columns: each column, then the intersections."""
    subsets: list[tuple[int, ...]] = [(i,) for i in range(len(names))]
    if intersections is True:
        subsets += list(itertools.combinations(range(len(names)), 2))
        if len(names) >= 3:
            subsets.append(tuple(range(len(names))))
    elif intersections is not False:
        for entry in intersections:
            unknown = [n for n in entry if n not in names]
            for name in unknown:
                problems.append(UNKNOWN_INTERSECTION_COLUMN.format(name=name, available=names))
            chosen = sorted({names.index(n) for n in entry if n in names})
            if len(set(entry)) < 2:
                problems.append(SHORT_INTERSECTION.format(entry=list(entry)))
            elif not unknown and tuple(chosen) not in subsets:
                subsets.append(tuple(chosen))
    return {" × ".join(names[i] for i in subset): subset for subset in subsets}


def single_group_problems(columns: list[GroupColumn], *, tables: GroupTables | None) -> list[str]:
    problems = []
    for column in columns:
        if tables is not None:
            labels = tables[column.name][0]
        else:
            used = np.flatnonzero(np.bincount(column.codes, minlength=len(column.labels)))
            labels = [column.labels[i] for i in used]
        if len(labels) == 1:
            problems.append(SINGLE_GROUP.format(name=column.name, group=labels[0]))
    return problems


def check_references(
    reference_groups: Mapping[str, Any] | None,
    tables: GroupTables,
    *,
    problems: list[str],
) -> dict[str, str]:
    references: dict[str, str] = {}
    for feature, group in (reference_groups or {}).items():
        if feature not in tables:
            problems.append(UNKNOWN_REFERENCE_FEATURE.format(name=feature, available=list(tables)))
            continue
        labels = tables[feature][0]
        if str(group) not in labels:
            problems.append(
                UNKNOWN_REFERENCE_GROUP.format(feature=feature, group=group, available=labels)
            )
            continue
        references[feature] = str(group)
    return references


def missing_notes(
    columns: list[GroupColumn],
    tables: GroupTables,
    count_of: Any,
) -> list[str]:
    notes = []
    for column in columns:
        if column.missing_code is None:
            continue
        label = column.labels[column.missing_code]
        labels, totals = tables[column.name]
        if label in labels:
            count = int(count_of(totals)[labels.index(label)])
            notes.append(MISSING_NOTE.format(name=column.name, count=count, label=label))
    return notes

"""Sentences of the fairness measurement: refusals of bad input and notes on the result."""

from __future__ import annotations

__all__ = [
    "BAD_MIN_GROUP_SIZE",
    "MISSING_NOTE",
    "NO_SENSITIVE",
    "REFERENCE_CHOSEN",
    "REFERENCE_MOST_FAVOURED",
    "REGRESSION_INTERVAL_NOTE",
    "SENSITIVE_NAME",
    "SENSITIVE_NOT_MAPPING",
    "SHORT_INTERSECTION",
    "SINGLE_GROUP",
    "SMALL_GROUP_REASON",
    "STRATIFIED_NOTE",
    "UNDEFINED_NOTE",
    "UNKNOWN_INTERSECTION_COLUMN",
    "UNKNOWN_REFERENCE_FEATURE",
    "UNKNOWN_REFERENCE_GROUP",
]

NO_SENSITIVE = "sensitive is empty; pass at least one sensitive column, e.g. {'sex': df['sex']}."
SENSITIVE_NOT_MAPPING = (
    "sensitive is a {kind}; pass a mapping of column name to values, e.g. {{'sex': df['sex']}} "
    "or a DataFrame of the sensitive columns."
)
SENSITIVE_NAME = "sensitive has a column named {name!r} ({kind}); name sensitive columns with text."
SINGLE_GROUP = (
    "Sensitive column {name!r} has a single group ({group!r}); fairness needs at least two "
    "groups to compare: pass a column with two or more values, or drop it."
)
BAD_MIN_GROUP_SIZE = "min_group_size is {value!r}; pass a whole number of rows of at least 1."
UNKNOWN_INTERSECTION_COLUMN = (
    "intersections names {name!r}, which is not a sensitive column; use some of {available}."
)
SHORT_INTERSECTION = (
    "intersections entry {entry!r} has fewer than two distinct columns; "
    "an intersection combines at least two sensitive columns."
)
UNKNOWN_REFERENCE_FEATURE = (
    "reference_groups names {name!r}, which is neither a sensitive column nor an "
    "intersection; use one of {available}."
)
UNKNOWN_REFERENCE_GROUP = (
    "reference_groups[{feature!r}] is {group!r}, which is not a group of {feature!r}; "
    "use one of {available}."
)

MISSING_NOTE = (
    "Sensitive column {name!r} has {count:,} missing values; "
    "they are reported as their own group {label!r}."
)
UNDEFINED_NOTE = "{feature} = {group}: {metric} undefined ({reason})."
STRATIFIED_NOTE = (
    "Intervals: {n_boot:,} bootstrap replicates, seed {seed}, resampling each group's rows "
    "(group sizes fixed), percentile {ci:.0%} intervals."
)
REGRESSION_INTERVAL_NOTE = (
    "Intervals: normal approximation to the per-group bootstrap of the means "
    "({n_boot:,} replicates, seed {seed}); groups of one row have none."
)
SMALL_GROUP_REASON = (
    "{count:,} rows, below the minimum group size of {minimum:,}: excluded from pass/fail "
    "and from the between-group summaries, shown for information"
)
REFERENCE_MOST_FAVOURED = "most-favoured group (highest selection rate among eligible groups)"
REFERENCE_CHOSEN = "chosen reference group"

"""Checking a production batch row by row while reading it in chunks, and spilling its columns.

Every problem of a batch is found before anything is stored: columns missing or extra (the
whole batch is refused), and rows with an id missing or repeated, a feature value that is not a
number where the model takes numbers, or an output that is missing, not a number or outside
[0, 1] for a probabilistic model. A batch with bad rows is refused whole, one sentence per kind
of problem, unless the caller asked to quarantine them: then they are left out and counted.

Columns are spilled row-aligned (numbers as float64, categories as int32 codes, ids as 64-bit
hashes, the bad-row mask), so the drift statistics read one column at a time afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import InputProblems
from core.files.batches import ColumnSpill, header, read_chunks

__all__ = [
    "BAD_ROW_SENTENCES",
    "EXTRA_COLUMNS",
    "ID",
    "MISSING_COLUMNS",
    "NO_GOOD_ROWS",
    "NO_ID_COLUMN",
    "SCORE",
    "BatchLayout",
    "BatchScan",
    "category_counts",
    "scan_batch",
]

ID = "__id_hash"
SCORE = "__score"
BAD = "__bad"
LEDGER = "ledger.parquet"

MISSING_COLUMNS = "The batch {name} lacks the feature columns {missing} that the model takes; add them (same names as in the evaluation data)."
EXTRA_COLUMNS = "The batch {name} has columns the model does not take: {extra}; keep only the features, the id column {id_column!r}, the output column {output!r} and the sensitive or segment columns {groups}."
NO_ID_COLUMN = "The batch {name} has no id column {id_column!r}; give each row a record id (or name the column with --id-column) so labels can be joined later."
NO_GOOD_ROWS = "Every row of the batch {name} was quarantined; nothing is left to monitor."
BAD_ROW_SENTENCES: dict[str, str] = {
    "missing_id": "The id column {column!r} is empty in {count:,} rows; every row needs its record id.",
    "duplicate_id": "The id column {column!r} repeats {count:,} rows' ids (e.g. {examples}); each record needs its own id.",
    "not_a_number": "The column {column!r} has {count:,} values that are not numbers (e.g. {examples}); the model takes numbers there.",
    "output_missing": "The output column {column!r} is empty in {count:,} rows; give the model's output for every row, or leave the column out to have the version score the batch.",
    "output_not_a_number": "The output column {column!r} has {count:,} values that are not numbers (e.g. {examples}); outputs are the model's scores.",
    "output_out_of_range": "The output column {column!r} has {count:,} values outside [0, 1] (e.g. {examples}); the model is probabilistic, so its outputs are probabilities.",
}
QUARANTINE_NOTE = "Quarantined {count:,} rows: {reasons}."
_EXAMPLES = 3


@dataclass(frozen=True)
class BatchLayout:
    """What a batch of a version holds: its features (which are numbers), id, output, groups."""

    features: tuple[str, ...]
    numeric: frozenset[str]
    id_column: str
    output_column: str
    groups: tuple[str, ...]
    probabilistic: bool


@dataclass
class BatchScan:
    """A scanned batch: its spilled columns, which rows are good, and what was quarantined."""

    spill: ColumnSpill
    rows: int
    good: np.ndarray
    has_output: bool
    groups: tuple[str, ...]
    categories: dict[str, list[str]] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ledger(self) -> Path:
        """Every row's id, output and groups as text (Parquet), in file order."""
        return self.spill.folder / LEDGER

    @property
    def good_rows(self) -> int:
        return int(self.good.sum())

    def numbers(self, name: str) -> np.ndarray:
        """A spilled number column, good rows only."""
        return np.asarray(self.spill.read(name)[self.good], dtype=float)

    def codes(self, name: str) -> np.ndarray:
        """A spilled category column as codes into ``categories[name]`` (-1: missing)."""
        return np.asarray(self.spill.read(name)[self.good], dtype=np.int64)


@dataclass
class _Problems:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, reason: str, column: str, mask: np.ndarray, values: Any = None) -> None:
        count = int(mask.sum())
        if not count:
            return
        key = (reason, column)
        self.counts[key] = self.counts.get(key, 0) + count
        shown = self.examples.setdefault(key, [])
        if values is not None and len(shown) < _EXAMPLES:
            for value in pd.Series(values)[mask].head(_EXAMPLES - len(shown)):
                shown.append(repr(value.item() if isinstance(value, np.generic) else value))

    def sentences(self) -> list[str]:
        return [
            BAD_ROW_SENTENCES[reason].format(
                column=column,
                count=count,
                examples=", ".join(self.examples.get((reason, column), [])),
            )
            for (reason, column), count in self.counts.items()
        ]


def _column_problems(
    name: str, columns: list[str], layout: BatchLayout, allowed_groups: tuple[str, ...]
) -> list[str]:
    problems = []
    if layout.id_column not in columns:
        problems.append(NO_ID_COLUMN.format(name=name, id_column=layout.id_column))
    if missing := [f for f in layout.features if f not in columns]:
        problems.append(MISSING_COLUMNS.format(name=name, missing=missing))
    known = {*layout.features, layout.id_column, layout.output_column, *allowed_groups}
    if extra := [c for c in columns if c not in known]:
        problems.append(
            EXTRA_COLUMNS.format(
                name=name, extra=extra, id_column=layout.id_column,
                output=layout.output_column, groups=list(allowed_groups),
            )
        )  # fmt: skip
    return problems


def _codes(values: pd.Series, names: list[str]) -> np.ndarray:
    """Codes of the values' text in ``names`` (extended with new categories); -1 when missing."""
    text = values.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    for value in uniques:
        if str(value) not in names:
            names.append(str(value))
    lookup = np.array([names.index(str(v)) for v in uniques] + [-1], dtype=np.int32)
    return np.asarray(lookup[codes])  # code -1 (missing) picks the last entry, -1


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The values as floats and the mask of values that are present but not numbers."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(values), dtype=bool)
    parsed = pd.to_numeric(values, errors="coerce")
    array = parsed.to_numpy(dtype=float, na_value=np.nan)
    return array, np.isnan(array) & values.notna().to_numpy()


def _id_hashes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    text = values.astype("string")
    missing = text.isna().to_numpy() | (text.str.strip() == "").fillna(True).to_numpy()
    hashes = pd.util.hash_pandas_object(text.fillna(""), index=False).to_numpy(dtype=np.uint64)
    return hashes, missing


def scan_batch(
    path: Path,
    layout: BatchLayout,
    *,
    allowed_groups: tuple[str, ...],
    score: Callable[[pd.DataFrame], np.ndarray] | None,
    quarantine: bool,
    spill: ColumnSpill,
    display_name: str | None = None,
) -> BatchScan:
    """Read, check and spill a batch; InputProblems names every problem when it is refused.

    ``score`` turns the good rows' features into the model's outputs when the batch has no
    output column. ``allowed_groups`` are the sensitive and segment columns a batch may carry.
    """
    name = display_name or path.name
    try:
        columns = header(path)
    except ValueError as err:
        raise InputProblems([str(err)]) from err
    problems = _column_problems(name, columns, layout, allowed_groups)
    has_output = layout.output_column in columns
    if problems:
        raise InputProblems(problems)
    groups = tuple(g for g in allowed_groups if g in columns)
    rows = _Problems()
    names: dict[str, list[str]] = {}
    total = 0
    ledger_schema = pa.schema(
        [("id", pa.string()), ("score", pa.float64()), *((g, pa.string()) for g in groups)]
    )
    try:
        with pq.ParquetWriter(spill.folder / LEDGER, ledger_schema) as ledger:
            for chunk in read_chunks(path, text_columns=(layout.id_column,)):
                output = _scan_chunk(chunk, layout, groups, score, has_output, rows, names, spill)
                ledger.write_table(
                    pa.table(
                        {
                            "id": chunk[layout.id_column].astype("string"),
                            "score": output,
                            **{g: chunk[g].astype("string") for g in groups},
                        },
                        schema=ledger_schema,
                    )
                )
                total += len(chunk)
    except ValueError as err:
        raise InputProblems([str(err)]) from err
    hashes = spill.read(ID)

    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    repeated = (counts[inverse] > 1) & ~spill.read(BAD)
    if repeated.any():
        rows.counts[("duplicate_id", layout.id_column)] = int(repeated.sum())
        rows.examples[("duplicate_id", layout.id_column)] = _repeated_examples(
            path, layout.id_column
        )
    if rows.counts and not quarantine:
        raise InputProblems(rows.sentences())
    good = ~(spill.read(BAD) | repeated)
    quarantined = {f"{reason}:{column}": n for (reason, column), n in rows.counts.items()}
    notes = []
    if quarantined:
        reasons = ", ".join(f"{n:,} {k.replace(':', ' in ')}" for k, n in quarantined.items())
        notes.append(QUARANTINE_NOTE.format(count=int((~good).sum()), reasons=reasons))
    if not good.any():
        raise InputProblems([NO_GOOD_ROWS.format(name=name)])
    return BatchScan(
        spill=spill,
        rows=total,
        good=good,
        has_output=has_output,
        groups=groups,
        categories=names,
        quarantined=quarantined,
        notes=notes,
    )


def _scan_chunk(
    chunk: pd.DataFrame,
    layout: BatchLayout,
    groups: tuple[str, ...],
    score: Callable[[pd.DataFrame], np.ndarray] | None,
    has_output: bool,
    rows: _Problems,
    names: dict[str, list[str]],
    spill: ColumnSpill,
) -> np.ndarray:
    """Check and spill one chunk; returns its outputs (NaN where a row cannot be scored)."""
    bad = np.zeros(len(chunk), dtype=bool)
    hashes, missing_id = _id_hashes(chunk[layout.id_column])
    rows.add("missing_id", layout.id_column, missing_id)
    bad |= missing_id
    spill.append(ID, hashes)
    for feature in layout.features:
        if feature in layout.numeric:
            values, wrong = _numbers(chunk[feature])
            rows.add("not_a_number", feature, wrong, chunk[feature])
            bad |= wrong
            spill.append(feature, values)
    for column in sorted({*layout.features, *groups} - layout.numeric):
        known = names.setdefault(column, [])
        spill.append(column, _codes(chunk[column], known))
    if has_output:
        raw = chunk[layout.output_column]
        output, wrong = _numbers(raw)
        absent = np.isnan(output) & ~wrong
        rows.add("output_not_a_number", layout.output_column, wrong, raw)
        rows.add("output_missing", layout.output_column, absent)
        bad |= wrong | absent
        if layout.probabilistic:
            outside = ~np.isnan(output) & ((output < 0) | (output > 1))
            rows.add("output_out_of_range", layout.output_column, outside, raw)
            bad |= outside
    else:
        output = np.full(len(chunk), np.nan)
        if score is not None and (~bad).any():
            features = chunk.loc[~bad, list(layout.features)].copy()
            for feature in layout.numeric & set(layout.features):
                features[feature] = pd.to_numeric(features[feature], errors="coerce")
            output[~bad] = score(features)
    spill.append(SCORE, output)
    spill.append(BAD, bad)
    return output


def _repeated_examples(path: Path, column: str) -> list[str]:
    """A few repeated ids, read again from the file (only when some are repeated)."""
    seen: set[str] = set()
    shown: list[str] = []
    for chunk in read_chunks(path, text_columns=(column,)):
        for value in chunk[column].dropna().astype(str):
            if value in seen and repr(value) not in shown:
                shown.append(repr(value))
                if len(shown) == _EXAMPLES:
                    return shown
            seen.add(value)
    return shown


def category_counts(codes: np.ndarray, names: list[str]) -> tuple[Mapping[str, int], int]:
    """Counts per category name of spilled codes, and the number of missing values."""
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(names))
    return {names[i]: int(c) for i, c in enumerate(counts) if c}, int((codes < 0).sum())

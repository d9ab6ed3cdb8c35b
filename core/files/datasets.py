"""Reading data files (CSV or Parquet, checked by content) and describing their schema."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from core.config import get_settings

__all__ = ["TOO_MANY_COLUMNS", "LoadedData", "max_columns_allowed", "read_data"]

EMPTY = "The file {name} is empty; give a CSV or Parquet file with a header row and data."
NO_ROWS = "The file {name} has a header but no rows; give a file with data."
MISSING = "The file {path} does not exist; check the path."
BAD_EXTENSION = "The file {name} is neither .csv nor .parquet; save the data as CSV or Parquet."
NOT_PARQUET = "The file {name} is not a Parquet file despite its extension; check that it was written as Parquet, or rename it to what it is."
NOT_CSV = "The file {name} is not a text CSV file despite its extension (it looks like {kind}); export it as CSV, or rename it to what it is."
UNREADABLE = "The file {name} could not be read as {fmt}: {error}. Check the file."
TOO_MANY_COLUMNS = "The file {name} has {n:,} columns, more than the {cap:,} Gatehouse accepts; keep the columns the model, its target and fairness need (or raise GATEHOUSE_MAX_DATASET_COLUMNS)."

_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class LoadedData:
    """A data file read into memory, with what the inventory records about it."""

    frame: pd.DataFrame
    format: str
    suffix: str

    @property
    def schema(self) -> list[dict[str, Any]]:
        return [{"name": str(c), "dtype": str(t)} for c, t in self.frame.dtypes.items()]


def _kind(head: bytes) -> str:
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(b"PK"):
        return "a zip archive (e.g. an Excel workbook or a skops file)"
    if head.startswith(b"\x80") or head.startswith(b"\x1f\x8b"):
        return "a binary or compressed file"
    return "binary data"


def max_columns_allowed() -> int:
    """The configured cap on a registered data file's columns (GATEHOUSE_MAX_DATASET_COLUMNS)."""
    return get_settings().max_dataset_columns


def _column_count(path: Path, parquet: bool) -> int:
    """How many columns the file has, read from its header or schema without loading the data."""
    if parquet:
        return len(pq.read_schema(path).names)
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        return len(next(csv.reader(fh), []))


def _refuse_wide(path: Path, n: int, cap: int | None) -> None:
    if cap is not None and n > cap:
        raise ValueError(TOO_MANY_COLUMNS.format(name=path.name, n=n, cap=cap))


def read_data(path: Path, *, max_columns: int | None = None) -> LoadedData:
    """Read a CSV or Parquet file; raises ValueError with one sentence on any problem.

    A file with more than ``max_columns`` columns is refused before its data is read: a
    100,000-column file would otherwise take the process's memory and time. Registration passes
    ``max_columns_allowed()``; files already registered are read whatever the cap is today.
    """
    cap = max_columns
    if not path.is_file():
        raise ValueError(MISSING.format(path=path))
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(BAD_EXTENSION.format(name=path.name))
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise ValueError(EMPTY.format(name=path.name))
    if suffix in (".parquet", ".pq"):
        if not head.startswith(_PARQUET_MAGIC):
            raise ValueError(NOT_PARQUET.format(name=path.name))
        try:
            width = _column_count(path, parquet=True)
        except Exception as err:  # pyarrow raises many types for corrupt files
            raise ValueError(UNREADABLE.format(name=path.name, fmt="Parquet", error=err)) from err
        _refuse_wide(path, width, cap)
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises many types for corrupt files
            raise ValueError(UNREADABLE.format(name=path.name, fmt="Parquet", error=err)) from err
        fmt = "parquet"
    else:
        if b"\x00" in head or head.startswith((_PARQUET_MAGIC, b"PK", b"\x80", b"\x1f\x8b")):
            raise ValueError(NOT_CSV.format(name=path.name, kind=_kind(head)))
        try:
            width = _column_count(path, parquet=False)
        except csv.Error as err:
            raise ValueError(UNREADABLE.format(name=path.name, fmt="CSV", error=err)) from err
        _refuse_wide(path, width, cap)
        try:
            frame = pd.read_csv(path)
        except (
            pd.errors.ParserError,
            UnicodeDecodeError,
            csv.Error,
            io.UnsupportedOperation,
        ) as err:
            raise ValueError(UNREADABLE.format(name=path.name, fmt="CSV", error=err)) from err
        except pd.errors.EmptyDataError as err:
            raise ValueError(EMPTY.format(name=path.name)) from err
        fmt = "csv"
    if len(frame) == 0:
        raise ValueError(NO_ROWS.format(name=path.name))
    return LoadedData(frame=frame, format=fmt, suffix=".parquet" if fmt == "parquet" else ".csv")

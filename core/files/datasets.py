"""Reading data files (CSV or Parquet, checked by content) and describing their schema."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["LoadedData", "read_data"]

EMPTY = "The file {name} is empty; give a CSV or Parquet file with a header row and data."
NO_ROWS = "The file {name} has a header but no rows; give a file with data."
MISSING = "The file {path} does not exist; check the path."
BAD_EXTENSION = "The file {name} is neither .csv nor .parquet; save the data as CSV or Parquet."
NOT_PARQUET = "The file {name} is not a Parquet file despite its extension; check that it was written as Parquet, or rename it to what it is."
NOT_CSV = "The file {name} is not a text CSV file despite its extension (it looks like {kind}); export it as CSV, or rename it to what it is."
UNREADABLE = "The file {name} could not be read as {fmt}: {error}. Check the file."

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


def read_data(path: Path) -> LoadedData:
    """Read a CSV or Parquet file; raises ValueError with one sentence on any problem."""
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
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises many types for corrupt files
            raise ValueError(UNREADABLE.format(name=path.name, fmt="Parquet", error=err)) from err
        fmt = "parquet"
    else:
        if b"\x00" in head or head.startswith((_PARQUET_MAGIC, b"PK", b"\x80", b"\x1f\x8b")):
            raise ValueError(NOT_CSV.format(name=path.name, kind=_kind(head)))
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

"""Reading a large data file in chunks of rows, and spilling columns to disk as numpy arrays.

A production batch can hold a million rows; reading it whole into pandas takes several times
its size in memory. ``read_chunks`` yields DataFrames of at most ``chunk_rows`` rows (CSV through
pandas' chunked reader, Parquet by record batch); ``ColumnSpill`` appends each chunk's columns to
one file per column, so a column is later read back alone (a million float64 values are 8 MB).
The same file checks as ``read_data`` run first, with the same sentences.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.files.datasets import (
    BAD_EXTENSION,
    EMPTY,
    MISSING,
    NO_ROWS,
    NOT_CSV,
    NOT_PARQUET,
    UNREADABLE,
)

__all__ = ["CHUNK_ROWS", "ColumnSpill", "data_format", "header", "read_chunks"]

CHUNK_ROWS = 100_000
_PARQUET_MAGIC = b"PAR1"
_ARROW_TEXT = {
    pa.string(): pd.ArrowDtype(pa.string()),
    pa.large_string(): pd.ArrowDtype(pa.large_string()),
}
_BINARY = (_PARQUET_MAGIC, b"PK", b"\x80", b"\x1f\x8b")


def data_format(path: Path) -> str:
    """ "csv" or "parquet", after checking the file exists, is not empty and is what it says."""
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
        return "parquet"
    if b"\x00" in head or head.startswith(_BINARY):
        raise ValueError(NOT_CSV.format(name=path.name, kind="binary data"))
    return "csv"


def header(path: Path) -> list[str]:
    """The file's column names, read without its data."""
    if data_format(path) == "parquet":
        try:
            # pandas stores a non-default index as a column of its own; it is no data column.
            names = pq.read_schema(path).names
            return [str(n) for n in names if not str(n).startswith("__index_level_")]
        except Exception as err:  # pyarrow raises many types for corrupt files
            raise ValueError(UNREADABLE.format(name=path.name, fmt="Parquet", error=err)) from err
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        try:
            return [str(c) for c in next(csv.reader(fh), [])]
        except csv.Error as err:
            raise ValueError(UNREADABLE.format(name=path.name, fmt="CSV", error=err)) from err


def read_chunks(
    path: Path, *, text_columns: tuple[str, ...] = (), chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The file's rows, at most ``chunk_rows`` at a time; ``text_columns`` are read as text.

    Raises ValueError with one sentence when the file cannot be read or holds no rows.
    """
    fmt = data_format(path)
    rows = 0
    try:
        if fmt == "parquet":
            # No pre-buffering, and text kept in Arrow memory rather than as Python objects:
            # otherwise the peak grows with the file instead of with the chunk.
            parquet = pq.ParquetFile(path, pre_buffer=False)
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                frame = batch.to_pandas(types_mapper=_ARROW_TEXT.get)
                for column in text_columns:
                    if column in frame:
                        frame[column] = frame[column].astype("string")
                rows += len(frame)
                yield frame
        else:
            dtype = dict.fromkeys(text_columns, "string")
            with pd.read_csv(path, chunksize=chunk_rows, dtype=dtype) as reader:
                for frame in reader:
                    rows += len(frame)
                    yield frame
    except pd.errors.EmptyDataError as err:
        raise ValueError(EMPTY.format(name=path.name)) from err
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error, io.UnsupportedOperation) as err:
        raise ValueError(UNREADABLE.format(name=path.name, fmt="CSV", error=err)) from err
    except OSError as err:  # pyarrow's errors for corrupt Parquet files are OSError subclasses
        raise ValueError(UNREADABLE.format(name=path.name, fmt="Parquet", error=err)) from err
    if rows == 0:
        raise ValueError(NO_ROWS.format(name=path.name))


class ColumnSpill:
    """Named columns appended chunk by chunk to files in a temporary folder, read back whole.

    Use as a context manager; the folder is removed on exit.
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="gatehouse-batch-")
        self._columns: dict[str, tuple[Path, np.dtype[Any]]] = {}

    def __enter__(self) -> ColumnSpill:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._dir.cleanup()

    @property
    def folder(self) -> Path:
        """The temporary folder, for other working files of the same batch."""
        return Path(self._dir.name)

    def append(self, name: str, values: np.ndarray) -> None:
        """Append ``values`` to the column ``name`` (its first chunk fixes its dtype)."""
        array = np.ascontiguousarray(values)
        if name not in self._columns:
            path = Path(self._dir.name) / f"{len(self._columns)}.bin"
            self._columns[name] = (path, array.dtype)
        path, dtype = self._columns[name]
        with path.open("ab") as fh:
            array.astype(dtype, copy=False).tofile(fh)

    def read(self, name: str) -> np.ndarray:
        """The whole column (empty float array when never written)."""
        if name not in self._columns:
            return np.empty(0)
        path, dtype = self._columns[name]
        return np.fromfile(path, dtype=dtype)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

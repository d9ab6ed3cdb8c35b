"""Fixture states built once per test process and copied for every later test that builds the
same state from the same start (SQLite only).

A fixture such as "the demo users" or "the demo models with their evidence" goes through the
real services the first time; its database file and data folder are then kept, and a later test
whose database and data folder are byte for byte what the first one started from gets a copy of
the result instead of a second build. Any other start (another fixture wrote first, or the
backend is PostgreSQL) builds as usual, so a test never sees a state its own fixtures did not
lead to.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session

from core.config import get_settings
from core.db import dispose_engines

__all__ = ["built_once"]

T = TypeVar("T")
_KEPT: dict[tuple[str, str], tuple[Path, object]] = {}


def _fingerprint(db: Path, data: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        digest = hashlib.sha256("\n".join(conn.iterdump()).encode())
    for path in sorted(p for p in data.rglob("*") if p.is_file()) if data.exists() else []:
        digest.update(str(path.relative_to(data)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _quiesce(session: Session) -> None:
    # No connection of this process holds a transaction or a stale page cache across the copy.
    session.close()
    dispose_engines()


def _copy(source_db: Path, source_data: Path, db: Path, data: Path) -> None:
    # SQLite's online backup copies what the write-ahead log holds too, and writes into a file
    # whose connections are still open safely, under SQLite's own locks.
    with (
        contextlib.closing(sqlite3.connect(source_db)) as src,
        contextlib.closing(sqlite3.connect(db)) as dst,
    ):
        src.backup(dst)
    shutil.rmtree(data, ignore_errors=True)
    if source_data.exists():
        shutil.copytree(source_data, data)


def built_once(session: Session, name: str, build: Callable[[], T]) -> T:
    """``build()``'s result, built for real the first time a start is seen, copied after.

    ``build`` must commit what it writes and return plain values (ids, names), not rows.
    """
    settings = get_settings()
    url = settings.database_url
    if not url.startswith("sqlite:///"):
        return build()
    db, data = Path(url.removeprefix("sqlite:///")), settings.data_dir
    _quiesce(session)
    key = (name, _fingerprint(db, data))
    if key in _KEPT:
        folder, value = _KEPT[key]
        _copy(folder / "gatehouse.db", folder / "data", db, data)
        return copy.deepcopy(value)  # type: ignore[return-value]
    value = build()
    _quiesce(session)
    folder = Path(tempfile.mkdtemp(prefix=f"gatehouse-{name}-"))
    atexit.register(shutil.rmtree, folder, True)
    _copy(db, data, folder / "gatehouse.db", folder / "data")
    _KEPT[key] = (folder, copy.deepcopy(value))
    return value

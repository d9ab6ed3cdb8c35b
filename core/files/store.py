"""Content-addressed files under the data folder: artifacts and datasets, named by SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from core.config import get_settings

__all__ = ["sha256_file", "store_file", "stored_path"]


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def stored_path(kind: str, sha256: str, suffix: str) -> Path:
    """Where a stored file of that kind and hash lives (``<data>/<kind>/ab/abcdef….suffix``)."""
    return get_settings().data_dir / kind / sha256[:2] / f"{sha256}{suffix}"


def store_file(source: Path, *, kind: str, sha256: str, suffix: str) -> Path:
    """Copy a file into the store once; the same content always lands at the same path.

    Written to a temporary name and renamed, so a reader never sees half a file. Files are
    written before the database commit: a failed commit leaves an unreferenced copy, never a row
    that points at nothing.
    """
    target = stored_path(kind, sha256, suffix)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while block := src.read(1 << 20):
                out.write(block)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

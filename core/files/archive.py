"""The zip container of a skops file, checked before anything inside it is inflated.

A zip archive declares, in its central directory, how many entries it holds, how each is
compressed and how large each becomes once inflated; Python's ``zipfile`` never inflates an
entry past its declared size (it stops and reports a bad CRC). So checking the declarations
bounds what reading can cost: a 3 MB file whose ``schema.json`` would inflate to 3 GB is
refused here, in one sentence, before a byte of it is inflated.

The archive must also start at the file's first byte: ``zipfile`` happily skips data glued in
front of an archive (a pickle, say), and such a file must not be stored as a vetted skops file.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Final

from core.config import get_settings
from core.files.refusals import MalformedArtifact, OversizedArtifact

__all__ = ["ArchiveLimits", "checked_archive", "read_member", "read_schema"]

_ZIP_START: Final = b"PK\x03\x04"
_READABLE_METHODS: Final = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_ENCRYPTED_FLAGS: Final = 0x1 | 0x40  # traditional and strong encryption
_MB: Final = 1024 * 1024
# A small file may always inflate to this much, whatever the ratio (skops archives of tiny
# models are mostly zip headers, so their ratio says little).
_RATIO_FLOOR_BYTES: Final = 16 * _MB

NOT_FROM_FIRST_BYTE: Final = (
    "The file {name} has {count} bytes of other data before its zip archive begins; a skops "
    "file is a zip archive from its first byte, so Gatehouse refuses it. Save the model again "
    "with skops.io.dump(model, 'model.skops') and register that file."
)
ENCRYPTED: Final = (
    "The skops file {name} holds an encrypted entry ({entry}); Gatehouse reads only plain skops "
    "files, so save the model again with skops.io.dump(model, 'model.skops')."
)
UNKNOWN_METHOD: Final = (
    "The skops file {name} compresses {entry} with zip method {method}, which Gatehouse does not "
    "read (only stored and deflate); save the model again with skops.io.dump."
)
TOO_MANY_ENTRIES: Final = (
    "The skops file {name} holds {count} entries, more than the limit of {limit} "
    "(GATEHOUSE_ARTIFACT_MAX_ENTRIES); Gatehouse refuses it unread."
)
TOO_LARGE: Final = (
    "The skops file {name} would inflate to {size:.0f} MB, more than {limit:.0f} MB "
    "({why}); Gatehouse refuses it unread."
)
SCHEMA_TOO_LARGE: Final = (
    "The schema.json of {name} would inflate to {size:.1f} MB, more than the limit of "
    "{limit:.0f} MB (GATEHOUSE_SCHEMA_MAX_MB); Gatehouse refuses it unread."
)
CORRUPT: Final = (
    "The skops file {name} is corrupt ({entry} cannot be inflated: {reason}); save the model "
    "again with skops.io.dump(model, 'model.skops')."
)
SCHEMA_NOT_JSON: Final = "The schema.json of {name} is not valid JSON ({reason}); save the model again with skops.io.dump."
NO_SCHEMA: Final = (
    "The skops file {name} holds no schema.json; save the model again with skops.io.dump."
)


@dataclass(frozen=True)
class ArchiveLimits:
    """What a model file may hold; by default read from the settings (``core.config``)."""

    max_bytes: int
    max_ratio: float
    max_entries: int
    schema_max_bytes: int
    schema_max_depth: int

    @classmethod
    def from_settings(cls) -> ArchiveLimits:
        """The limits configured for this process."""
        s = get_settings()
        return cls(
            max_bytes=int(s.artifact_max_mb * _MB),
            max_ratio=float(s.artifact_max_ratio),
            max_entries=int(s.artifact_max_entries),
            schema_max_bytes=int(s.schema_max_mb * _MB),
            schema_max_depth=int(s.schema_max_depth),
        )


def _size_problem(name: str, total: int, file_size: int, limits: ArchiveLimits) -> str | None:
    by_ratio = max(int(file_size * limits.max_ratio), _RATIO_FLOOR_BYTES)
    if total > limits.max_bytes:
        why = "GATEHOUSE_ARTIFACT_MAX_MB"
        return TOO_LARGE.format(name=name, size=total / _MB, limit=limits.max_bytes / _MB, why=why)
    if total > by_ratio:
        why = f"{limits.max_ratio:g} times the file's size, GATEHOUSE_ARTIFACT_MAX_RATIO"
        return TOO_LARGE.format(name=name, size=total / _MB, limit=by_ratio / _MB, why=why)
    return None


def checked_archive(data: bytes, *, name: str, limits: ArchiveLimits) -> zipfile.ZipFile:
    """The open archive, once its declarations are within ``limits``; else a refusal.

    Raises ``MalformedArtifact`` (data before the archive, encryption, an unknown compression
    method) or ``OversizedArtifact`` (too many entries, too large once inflated).
    """
    archive = zipfile.ZipFile(io.BytesIO(data))  # the caller has checked it opens
    entries = archive.infolist()
    first = min((e.header_offset for e in entries), default=0)
    if not data.startswith(_ZIP_START) or first != 0:
        count = first or max(data.find(_ZIP_START), 1)
        raise MalformedArtifact(NOT_FROM_FIRST_BYTE.format(name=name, count=count))
    if len(entries) > limits.max_entries:
        raise OversizedArtifact(
            TOO_MANY_ENTRIES.format(name=name, count=len(entries), limit=limits.max_entries)
        )
    for entry in entries:
        if entry.flag_bits & _ENCRYPTED_FLAGS:
            raise MalformedArtifact(ENCRYPTED.format(name=name, entry=entry.filename[:80]))
        if entry.compress_type not in _READABLE_METHODS:
            raise MalformedArtifact(
                UNKNOWN_METHOD.format(
                    name=name, entry=entry.filename[:80], method=entry.compress_type
                )
            )
    total = sum(e.file_size for e in entries)
    if problem := _size_problem(name, total, len(data), limits):
        raise OversizedArtifact(problem)
    schema = next((e for e in entries if e.filename == "schema.json"), None)
    if schema is not None and schema.file_size > limits.schema_max_bytes:
        raise OversizedArtifact(
            SCHEMA_TOO_LARGE.format(
                name=name, size=schema.file_size / _MB, limit=limits.schema_max_bytes / _MB
            )
        )
    return archive


def read_member(archive: zipfile.ZipFile, entry: str, *, name: str, size: int = -1) -> bytes:
    """An entry's bytes (at most ``size``), or one sentence when it cannot be inflated."""
    try:
        with archive.open(entry) as member:
            return member.read(size)
    except KeyError as err:
        raise MalformedArtifact(NO_SCHEMA.format(name=name)) from err
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise MalformedArtifact(
            CORRUPT.format(name=name, entry=entry[:80], reason=reason.rstrip("."))
        ) from err


def read_schema(archive: zipfile.ZipFile, *, name: str) -> Any:
    """The parsed schema.json (its size already checked by ``checked_archive``)."""
    raw = read_member(archive, "schema.json", name=name)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:120]
        raise MalformedArtifact(SCHEMA_NOT_JSON.format(name=name, reason=reason)) from err

"""The seal of a report PDF: a signed JSON attachment that covers every other byte of the file.

The PDF is written once with a fixed-size placeholder as its attachment (an uncompressed
stream, so its bytes sit in the file as written). The SHA-256 of that file is the document
hash; the seal (manifest, document hash, signature) then replaces the placeholder byte for byte,
so no offset moves. A verifier finds the seal, puts the placeholder back, and hashes again: one
changed byte anywhere, a removed page or an edited attachment no longer gives the signed hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydyf

from core.services.audit import canonical_json

__all__ = [
    "SEAL_FILE",
    "SEAL_KIND",
    "OpenedSeal",
    "add_placeholder",
    "apply_seal",
    "open_seal",
    "seal_region",
    "seal_size",
]

SEAL_KIND = "gatehouse.report-seal/1"
SEAL_FILE = "gatehouse-report-seal.json"
PREFIX = b'{"kind":"' + SEAL_KIND.encode() + b'","size":"'
_DIGITS = 10
#: Room left in the placeholder beyond the seal's computed size.
_SLACK = 64


def _text(seal: Mapping[str, Any] | None, size: int) -> bytes:
    head = PREFIX + f"{size:0{_DIGITS}d}".encode() + b'","seal":'
    return head + (canonical_json(seal) if seal is not None else "null").encode() + b"}"


def seal_region(seal: Mapping[str, Any] | None, size: int) -> bytes:
    """The attachment's bytes: a JSON object naming its own size, the seal, then spaces."""
    text = _text(seal, size)
    if len(text) > size:
        raise ValueError(f"The seal needs {len(text)} bytes but only {size} were reserved.")
    return text + b" " * (size - len(text))


def seal_size(example: Mapping[str, Any]) -> int:
    """The placeholder size for a seal shaped like ``example`` (same field lengths)."""
    # The size is written with a fixed number of digits, so the text's length does not depend on it.
    return len(_text(example, 0)) + _SLACK


def add_placeholder(size: int, created: datetime) -> Callable[[Any, pydyf.PDF], None]:
    """A WeasyPrint finisher that embeds the placeholder as a PDF/A-3 associated file."""
    when = pydyf.String(created.strftime("D:%Y%m%d%H%M%SZ"))

    def finisher(document: Any, pdf: pydyf.PDF) -> None:
        del document
        stream = pydyf.Stream(
            [seal_region(None, size)],
            extra={
                "Type": "/EmbeddedFile",
                "Subtype": "/application#2fjson",
                "Params": pydyf.Dictionary({"Size": size, "ModDate": when}),
            },
            compress=False,
        )
        pdf.add_object(stream)
        name = pydyf.String(SEAL_FILE)
        spec = pydyf.Dictionary(
            {
                "Type": "/Filespec",
                "F": name,
                "UF": name,
                "Desc": pydyf.String("Signed manifest of this report (gatehouse report verify)"),
                "EF": pydyf.Dictionary({"F": stream.reference, "UF": stream.reference}),
                "AFRelationship": "/Data",
            }
        )
        pdf.add_object(spec)
        tree = pydyf.Dictionary({"Names": pydyf.Array([name, spec.reference])})
        pdf.add_object(tree)
        names = pdf.catalog.get("Names")
        if not isinstance(names, pydyf.Dictionary):
            names = pydyf.Dictionary()
        names["EmbeddedFiles"] = tree.reference
        pdf.catalog["Names"] = names
        associated = pdf.catalog.get("AF")
        pdf.catalog["AF"] = pydyf.Array([*(associated or []), spec.reference])

    return finisher


def apply_seal(pdf: bytes, size: int, make_seal: Callable[[str], Mapping[str, Any]]) -> bytes:
    """Hash the placeholder-bearing PDF, build the seal for that hash, write it in place."""
    start = pdf.rfind(PREFIX)
    if start < 0 or pdf[start : start + size] != seal_region(None, size):
        raise ValueError("The rendered PDF does not hold the seal placeholder.")
    digest = hashlib.sha256(pdf).hexdigest()
    return pdf[:start] + seal_region(make_seal(digest), size) + pdf[start + size :]


@dataclass(frozen=True)
class OpenedSeal:
    """What a file's seal says, and the hash the file's bytes give with the seal set aside."""

    seal: dict[str, Any] | None
    document_sha256: str | None
    problems: tuple[str, ...]


NO_SEAL = "The file holds no Gatehouse seal: it is not a Gatehouse report, or the seal was removed."
BAD_SEAL = "The file's seal is damaged: its bytes were changed after it was written."


def open_seal(pdf: bytes) -> OpenedSeal:
    """Find the seal, check it is exactly as written, and hash the file without it."""
    start = pdf.rfind(PREFIX)
    if start < 0:
        return OpenedSeal(None, None, (NO_SEAL,))
    digits = pdf[start + len(PREFIX) : start + len(PREFIX) + _DIGITS]
    if not digits.isdigit():
        return OpenedSeal(None, None, (BAD_SEAL,))
    size = int(digits)
    region = pdf[start : start + size]
    try:
        seal = json.loads(region.decode("utf-8"))["seal"]
        if not isinstance(seal, dict) or seal_region(seal, size) != region:
            raise ValueError("altered")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return OpenedSeal(None, None, (BAD_SEAL,))
    blanked = pdf[:start] + seal_region(None, size) + pdf[start + size :]
    return OpenedSeal(seal, hashlib.sha256(blanked).hexdigest(), ())

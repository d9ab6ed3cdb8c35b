"""Builders of hostile model files: skops archives written by hand, byte for byte when needed."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import skops.io
from sklearn.linear_model import LogisticRegression

PROTOCOL = json.loads(zipfile.ZipFile(io.BytesIO(skops.io.dumps([1]))).read("schema.json"))[
    "protocol"
]


def json_node(value: Any) -> dict[str, Any]:
    """A skops node for a JSON value (how skops stores str, int, float, bool, None)."""
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def tuple_node(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": list(items),
    }


def list_node(*items: dict[str, Any], cls: str = "builtins.list") -> dict[str, Any]:
    module, _, name = cls.rpartition(".")
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ListNode",
        "content": list(items),
    }


def constructor_node(type_name: str, *args: dict[str, Any]) -> dict[str, Any]:
    """``type_name(*args)`` at load time: skops' ConstructorFromReduceNode."""
    module, _, name = type_name.rpartition(".")
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": tuple_node(*args),
    }


def with_protocol(node: dict[str, Any]) -> dict[str, Any]:
    return {**node, "protocol": PROTOCOL, "_skops_version": skops.__version__}


def write_skops(
    path: Path,
    schema: Any,
    entries: dict[str, bytes] | None = None,
    *,
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    """A skops-shaped archive holding ``schema`` as schema.json plus ``entries``."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr(
            "schema.json", json.dumps(schema) if not isinstance(schema, bytes) else schema
        )
        for name, data in (entries or {}).items():
            archive.writestr(name, data)
    return path


def real_model_file(path: Path) -> Path:
    """A genuine, small skops model."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    skops.io.dump(model, path)
    return path


def model_with_attribute(path: Path, attribute: str, node: dict[str, Any]) -> Path:
    """A real LogisticRegression file whose fitted ``attribute`` is replaced by ``node``."""
    source = real_model_file(path.with_suffix(".source.skops"))
    with zipfile.ZipFile(source) as archive:
        schema = json.loads(archive.read("schema.json"))
        entries = {n: archive.read(n) for n in archive.namelist() if n != "schema.json"}
    schema["content"]["content"][attribute] = node
    return write_skops(path, schema, entries)


def patch_central_directory(data: bytes, entry: str, **fields: int) -> bytes:
    """Change declared fields of one entry in both its local header and the central directory.

    Fields: ``flags``, ``method``, ``size`` (uncompressed).
    """
    out = bytearray(data)
    name = entry.encode()
    # Local header: signature, version, flags (6), method (8), ..., usize (22), name length (26).
    local = out.find(b"PK\x03\x04" + b"", 0)
    while local != -1:
        (name_len,) = struct.unpack_from("<H", out, local + 26)
        if bytes(out[local + 30 : local + 30 + name_len]) == name:
            _patch(out, local, fields, flags=6, method=8, size=22)
        local = out.find(b"PK\x03\x04", local + 4)
    # Central directory: flags (8), method (10), usize (24), name length (28), name at 46.
    central = out.find(b"PK\x01\x02")
    while central != -1:
        (name_len,) = struct.unpack_from("<H", out, central + 28)
        if bytes(out[central + 46 : central + 46 + name_len]) == name:
            _patch(out, central, fields, flags=8, method=10, size=24)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def _patch(out: bytearray, base: int, fields: dict[str, int], **offsets: int) -> None:
    for key, value in fields.items():
        fmt = "<I" if key == "size" else "<H"
        struct.pack_into(fmt, out, base + offsets[key], value)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()

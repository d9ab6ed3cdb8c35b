"""What a skops schema may ask for, judged on the JSON before skops builds anything.

A skops file describes its object tree in ``schema.json``: each node names a loader (how it is
rebuilt) and a type (``__module__`` and ``__class__``). A type check alone is not enough,
because several loaders *call* the type they name: ``ConstructorFromReduceNode`` calls it with
arguments from the file (``numpy.ndarray([1, 2])`` is a 1 x 2 array of uninitialised heap
memory, ``builtins.bytes(6e9)`` allocates 6 GB), ``ListNode`` calls it with the list
(``numpy.ndarray([100000, 100000])`` is 80 GB), ``LossNode`` with its arguments, and
``NdArrayNode`` with the array. So each loader may build only the types it builds for real
files, and constructor calls are limited to a reviewed list whose arguments are small scalars.

Arrays stored as ``.npy`` entries must hold exactly the bytes their header's shape and dtype
promise: numpy allocates the promised array before reading, so a header promising 2**40
elements would allocate first and fail later.

Types on the denylist (``core.files.denylist``) are reported apart: nothing makes them loadable.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
from numpy.lib import format as npy_format

from core.files.archive import read_member
from core.files.denylist import is_denied
from core.files.refusals import OversizedArtifact

__all__ = ["schema_problems"]

# numpy scalars are stored as 0-d arrays and rebuilt by calling their type on the array.
_NUMPY_SCALARS: Final = (
    "bool",
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
)
# Per loader, the types it may build; None: any type (the type check decides). A loader not
# listed here is refused: skops would build something Gatehouse has not reviewed.
_LOADER_TYPES: Final[dict[str, frozenset[str] | None]] = {
    "JsonNode": None,  # json.loads of its content; the type is a label only
    "DictNode": frozenset({"builtins.dict", "collections.OrderedDict"}),
    "DefaultDictNode": frozenset({"collections.defaultdict"}),
    "ListNode": frozenset({"builtins.list"}),
    "SetNode": frozenset({"builtins.set"}),
    "TupleNode": frozenset({"builtins.tuple"}),
    "SliceNode": frozenset({"builtins.slice"}),
    "BytesNode": frozenset({"builtins.bytes"}),
    "BytearrayNode": frozenset({"builtins.bytearray"}),
    "NdArrayNode": frozenset({"numpy.ndarray", *(f"numpy.{t}" for t in _NUMPY_SCALARS)}),
    "MaskedArrayNode": frozenset({"numpy.ma.core.MaskedArray"}),
    "DTypeNode": None,
    "RandomStateNode": frozenset({"numpy.random.mtrand.RandomState"}),
    "RandomGeneratorNode": frozenset({"numpy.random._generator.Generator"}),
    "TreeNode": frozenset({"sklearn.tree._tree.Tree"}),
    "LossNode": None,  # checked below: a Cy* loss of sklearn._loss._loss, scalar arguments
    "ObjectNode": None,  # cls.__new__(cls), then its state: no arguments from the file
    "ConstructorFromReduceNode": None,  # checked below against the reviewed constructors
    "FunctionNode": None,  # the function itself, not a call
    "TypeNode": None,  # the type itself, not a call
    "MethodNode": None,
    "PartialNode": None,
    "OperatorFuncNode": None,
    "SparseMatrixNode": None,
    "CachedNode": None,
    "_DictWithDeprecatedKeysNode": None,
}
# Constructors a file may call, each with at most this many small scalar arguments.
_REVIEWED_CONSTRUCTORS: Final[dict[str, int]] = {
    "builtins.int": 1,
    "builtins.float": 1,
    "builtins.complex": 2,
    "builtins.bool": 1,
}
_LOSS_MODULE: Final = "sklearn._loss._loss"
_MAX_SCALAR_TEXT: Final = 64  # characters of a JSON scalar used as a constructor argument
_TREE_MAX_FEATURES: Final = 10_000_000
_TREE_MAX_OUTPUTS: Final = 100_000

DENIED: Final = (
    "The artifact {name} names {types}, which can reach the operating system or the "
    "interpreter; Gatehouse never loads such files."
)
UNKNOWN_LOADER: Final = (
    "The artifact {name} asks skops to build {type} with the loader {loader!r}, which "
    "Gatehouse does not accept for that type; the file is crafted or corrupt."
)
CONSTRUCTOR_REFUSED: Final = (
    "The artifact {name} calls {type} as a constructor with arguments from the file "
    "({detail}); Gatehouse refuses constructor calls outside a short reviewed list of "
    "small scalars."
)
BAD_ARRAY: Final = (
    "The artifact {name} holds an array ({entry}) that {detail}; the file is crafted or corrupt."
)
TOO_DEEP: Final = (
    "The schema.json of {name} nests deeper than {limit} levels (GATEHOUSE_SCHEMA_MAX_DEPTH); "
    "Gatehouse refuses it."
)


def _nodes(schema: Any, limit: int, name: str) -> Iterator[dict[str, Any]]:
    """Every dict of the schema, depth-first; refuses nesting deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(schema, 0)] if isinstance(schema, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise OversizedArtifact(TOO_DEEP.format(name=name, limit=limit))
        values = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict):
            yield item
        stack.extend((v, depth + 1) for v in values if isinstance(v, dict | list))


def _type_of(node: dict[str, Any]) -> str | None:
    module, cls = node.get("__module__"), node.get("__class__")
    return f"{module}.{cls}" if isinstance(module, str) and isinstance(cls, str) else None


def _scalar_args(node: dict[str, Any], most: int) -> str | None:
    """None when the node's arguments are at most ``most`` short JSON scalars; else why not."""
    content = node.get("content")
    if not (isinstance(content, dict) and content.get("__loader__") == "TupleNode"):
        return "the arguments are not a tuple"
    items = content.get("content")
    if not isinstance(items, list) or len(items) > most:
        return f"more than {most} argument(s)"
    for item in items:
        text = item.get("content") if isinstance(item, dict) else None
        if not (item.get("__loader__") == "JsonNode" and isinstance(text, str)):
            return "an argument is not a plain value"
        if len(text) > _MAX_SCALAR_TEXT or not isinstance(json.loads(text), int | float | bool):
            return "an argument is not a small number"
    return None


def _reduce_args(node: dict[str, Any]) -> list[Any] | None:
    reduce = node.get("__reduce__")
    args = reduce.get("args") if isinstance(reduce, dict) else None
    if isinstance(args, dict) and args.get("__loader__") == "TupleNode":
        items = args.get("content")
        return items if isinstance(items, list) else None
    return None


def _json_int(node: Any, low: int, high: int) -> int | None:
    if not (isinstance(node, dict) and node.get("__loader__") == "JsonNode"):
        return None
    text = node.get("content")
    if not isinstance(text, str) or len(text) > _MAX_SCALAR_TEXT:
        return None
    value = json.loads(text)
    return value if isinstance(value, int) and low <= value <= high else None


def _constructor_problem(node: dict[str, Any], loader: str, type_name: str) -> str | None:
    if loader == "ConstructorFromReduceNode":
        if type_name not in _REVIEWED_CONSTRUCTORS:
            return "not on the reviewed list"
        node = {"content": node.get("content")}
        return _scalar_args(node, _REVIEWED_CONSTRUCTORS[type_name])
    if loader == "LossNode":
        if not type_name.startswith(_LOSS_MODULE + ".Cy"):
            return "not a scikit-learn loss"
        args = _reduce_args(node)
        wrapped = {"content": {"__loader__": "TupleNode", "content": args}}
        return "the arguments are not a tuple" if args is None else _scalar_args(wrapped, 2)
    if loader == "TreeNode":
        # Tree(n_features, n_classes, n_outputs) copies n_outputs entries of n_classes unchecked.
        args = _reduce_args(node)
        if args is None or len(args) != 3:
            return "Tree takes n_features, n_classes and n_outputs"
        if _json_int(args[0], 1, _TREE_MAX_FEATURES) is None:
            return "n_features is not a positive integer of reasonable size"
        outputs = _json_int(args[2], 1, _TREE_MAX_OUTPUTS)
        classes = args[1] if isinstance(args[1], dict) else {}
        if outputs is None or classes.get("__loader__") != "NdArrayNode":
            return "n_outputs or n_classes is not what a tree stores"
    return None


# The header numpy writes: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
_NPY_HEADER: Final = re.compile(
    r"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), "
    r"'shape': \(((?:\d+, ?)*\d*)\), \}\s*"
)


def _npy_header(head: bytes) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """Shape, dtype and data offset of a .npy entry; a fast path for numpy's own layout."""
    if head[:6] != b"\x93NUMPY" or len(head) < 10:
        raise ValueError("not a .npy header")
    size_bytes = 2 if head[6] == 1 else 4
    length = int.from_bytes(head[8 : 8 + size_bytes], "little")
    offset = 8 + size_bytes + length
    match = _NPY_HEADER.fullmatch(head[8 + size_bytes : offset].decode("latin1"))
    if match is None:  # an unusual but possibly valid header: numpy's parser decides
        buffer = io.BytesIO(head)
        version = npy_format.read_magic(buffer)
        reader = (
            npy_format.read_array_header_1_0
            if version == (1, 0)
            else npy_format.read_array_header_2_0
        )
        shape, _, dtype = reader(buffer, max_header_size=65_536)
        return tuple(shape), dtype, buffer.tell()
    shape = tuple(int(n) for n in match.group(3).replace(" ", "").split(",") if n)
    return shape, np.dtype(match.group(1)), offset


def _array_problem(
    archive: zipfile.ZipFile, node: dict[str, Any], name: str, expect: int | None
) -> tuple[str, str] | None:
    entry = node.get("file")
    if not isinstance(entry, str):
        return None if node.get("type") == "json" else ("?", "does not name its data")
    try:
        info = archive.getinfo(entry)
    except KeyError:
        return entry, "is missing from the archive"
    head = read_member(archive, entry, name=name, size=65_536 + 16)
    try:
        shape, dtype, offset = _npy_header(head)
    except (ValueError, SyntaxError, TypeError, OverflowError) as err:
        return entry, f"has no readable numpy header ({str(err)[:80]})"
    if dtype.hasobject:
        return entry, "holds Python objects"
    count = int(np.prod(shape, dtype=object))
    if count * dtype.itemsize != info.file_size - offset:
        return entry, f"promises shape {tuple(shape)} of {dtype} but stores a different size"
    if expect is not None and shape != (expect,):
        return entry, f"gives n_classes for {shape} outputs, not {expect}"
    return None


def schema_problems(
    schema: Any, archive: zipfile.ZipFile, *, name: str, max_depth: int
) -> tuple[set[str], set[str], list[str]]:
    """Every type the schema names, the denied ones, and every other problem it asks for.

    Other problems: a loader building a type it does not build for real files, an unreviewed
    constructor call, an array whose header does not match its data. At most ten are listed.
    """
    types: set[str] = set()
    denied: set[str] = set()
    problems: list[str] = []
    tree_outputs: dict[int, int] = {}
    for node in _nodes(schema, max_depth, name):
        type_name = _type_of(node)
        if type_name is None:
            continue
        types.add(type_name)
        if is_denied(type_name):
            denied.add(type_name)
            continue
        loader = node.get("__loader__")
        if not isinstance(loader, str):
            continue  # not a node skops builds (it refuses such files itself)
        allowed = _LOADER_TYPES.get(loader, frozenset())
        if allowed is not None and type_name not in allowed:
            problems.append(UNKNOWN_LOADER.format(name=name, type=type_name, loader=loader))
            continue
        try:
            detail = _constructor_problem(node, loader, type_name)
        except (ValueError, AttributeError, TypeError) as err:
            detail = f"unreadable arguments ({type(err).__name__})"
        if detail is not None:
            problems.append(CONSTRUCTOR_REFUSED.format(name=name, type=type_name, detail=detail))
        elif loader == "TreeNode":
            args = _reduce_args(node) or [None, None]
            tree_outputs[id(args[1])] = json.loads(args[2]["content"])
        if loader == "NdArrayNode" and node.get("type") != "json":
            found = _array_problem(archive, node, name, tree_outputs.get(id(node)))
            if found is not None:
                problems.append(BAD_ARRAY.format(name=name, entry=found[0][:80], detail=found[1]))
    if len(problems) > 10:
        problems = [*problems[:10], f"... and {len(problems) - 10} more problems of these kinds."]
    return types, denied, problems

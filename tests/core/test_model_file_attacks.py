"""Hostile model files, each generated here: refused in sentences, nothing run, nothing exhausted.

Every file that would run code is built to create a marker file; the marker must never appear.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session, select

from core.config import get_settings, reset_settings
from core.errors import GatehouseError, InputProblems
from core.files.archive import (
    ENCRYPTED,
    NOT_FROM_FIRST_BYTE,
    SCHEMA_TOO_LARGE,
    TOO_MANY_ENTRIES,
    UNKNOWN_METHOD,
)
from core.files.artifacts import (
    DeniedArtifact,
    MalformedArtifact,
    OversizedArtifact,
    UnsafeArtifact,
    load_artifact,
)
from core.files.denylist import DENIED_TYPES, is_denied
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.tables import AuditEvent, ModelVersion
from tests.core.hostile_files import (
    constructor_node,
    json_node,
    list_node,
    model_with_attribute,
    npy_bytes,
    patch_central_directory,
    real_model_file,
    tuple_node,
    with_protocol,
    write_skops,
)


def refusal(path: Path, kind: type[GatehouseError] = GatehouseError, **kw: Any) -> list[str]:
    """The problems of refusing ``path``: sentences on one line each, no path, no traceback."""
    with pytest.raises(kind) as caught:
        load_artifact(path, **kw)
    problems = caught.value.problems
    assert problems and all(isinstance(p, str) and p.strip() for p in problems)
    for problem in problems:
        assert "\n" not in problem and "Traceback" not in problem
        assert str(path.parent) not in problem, problem
    return problems


def never_suggests_trust(problems: list[str]) -> None:
    text = " ".join(problems)
    assert "trust-type add" not in text and "--trusted" not in text


# --- Self-trust was remote code execution ------------------------------------------------


COMMAND_RUNNERS = [
    "posix.system",
    "os.system",
    "nt.system",
    "subprocess.Popen",
    "subprocess.check_output",
    "builtins.eval",
    "builtins.exec",
    "builtins.compile",
    "builtins.open",
    "builtins.__import__",
    "builtins.getattr",
    "builtins.setattr",
    "importlib.import_module",
    "sys.modules",
    "shutil.rmtree",
    "socket.socket",
    "ctypes.CDLL",
    "pickle.loads",
    "marshal.loads",
    "runpy.run_path",
    "code.InteractiveInterpreter",
    "multiprocessing.Process",
    "threading.Thread",
    "io.open",
    "pathlib.Path",
    "numpy.load",
    "builtins.object.__subclasses__",
]


@pytest.mark.parametrize("callable_name", COMMAND_RUNNERS)
def test_a_denied_callable_is_refused_even_when_the_caller_trusts_it(
    tmp_path: Path, callable_name: str
) -> None:
    marker = tmp_path / "ran.marker"
    schema = with_protocol(constructor_node(callable_name, json_node(f"touch {marker}")))
    path = write_skops(tmp_path / "model.skops", schema)
    problems = refusal(path, DeniedArtifact, extra_trusted=[callable_name])
    assert callable_name in problems[0]
    never_suggests_trust(problems)
    assert not marker.exists()


@pytest.mark.parametrize("loader", ["FunctionNode", "TypeNode", "ObjectNode", "NdArrayNode"])
def test_a_denied_type_is_refused_whichever_loader_names_it(tmp_path: Path, loader: str) -> None:
    node = {"__class__": "system", "__module__": "posix", "__loader__": loader, "content": {}}
    path = write_skops(tmp_path / "model.skops", with_protocol(list_node(node)))
    never_suggests_trust(refusal(path, DeniedArtifact, extra_trusted=["posix.system"]))


def test_the_denylist_covers_the_interpreter_and_the_system() -> None:
    for name in COMMAND_RUNNERS:
        assert is_denied(name), name
    for name in ("numpy.ndarray", "sklearn.pipeline.Pipeline", "builtins.dict", "osmium.x"):
        assert not is_denied(name), name
    assert "os" in DENIED_TYPES and "subprocess" in DENIED_TYPES


# --- Trusted names used as constructors ----------------------------------------------------


@pytest.mark.parametrize(
    "node",
    [
        constructor_node("numpy.ndarray", list_node(json_node(1), json_node(2))),
        constructor_node("builtins.bytes", json_node(6e9)),
        constructor_node("builtins.bytearray", json_node(6e9)),
        constructor_node("numpy.ndarray", tuple_node(json_node(2**31))),
        list_node(json_node(100_000), json_node(100_000), cls="numpy.ndarray"),
        {
            "__class__": "bytes",
            "__module__": "builtins",
            "__loader__": "LossNode",
            "__reduce__": {"args": tuple_node(json_node(6_000_000_000))},
            "content": {
                "__class__": "dict",
                "__module__": "builtins",
                "__loader__": "DictNode",
                "content": {},
                "key_types": list_node(),
            },
        },
    ],
    ids=[
        "ndarray-heap",
        "bytes-6e9",
        "bytearray-6e9",
        "ndarray-2**31",
        "list-as-ndarray",
        "loss-as-bytes",
    ],
)
def test_trusted_types_called_as_constructors_are_refused(
    tmp_path: Path, node: dict[str, Any]
) -> None:
    path = model_with_attribute(tmp_path / "model.skops", "coef_", node)
    problems = refusal(path, MalformedArtifact)
    assert any("constructor" in p or "loader" in p for p in problems), problems


def test_reviewed_constructors_with_small_scalars_still_load(tmp_path: Path) -> None:
    node = constructor_node("builtins.int", json_node(5))
    path = model_with_attribute(tmp_path / "model.skops", "max_iter", node)
    model = load_artifact(path)
    assert model.max_iter == 5  # type: ignore[attr-defined]
    too_many = constructor_node("builtins.int", json_node(5), json_node(6))
    refusal(model_with_attribute(tmp_path / "two.skops", "max_iter", too_many), MalformedArtifact)


def test_an_array_header_promising_more_than_its_data_is_refused(tmp_path: Path) -> None:
    path = real_model_file(tmp_path / "model.skops")
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        entries = {n: archive.read(n) for n in archive.namelist() if n != "schema.json"}
    entry = schema["content"]["content"]["coef_"]["file"]
    header = npy_bytes(np.zeros(3))
    entries[entry] = header.replace(b"(3,)", b"(1099511627776,)".ljust(4)[:16])
    # Keep the header well formed: rewrite it through numpy with a huge shape and no data.
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    )
    entries[entry] = buffer.getvalue()
    hostile = write_skops(tmp_path / "hostile.skops", schema, entries)
    problems = refusal(hostile, MalformedArtifact)
    assert any("promises shape (1099511627776,)" in p for p in problems)


# --- Decompression and size limits ---------------------------------------------------------


def test_a_schema_that_would_inflate_to_3_gb_is_refused_unread(tmp_path: Path) -> None:
    path = real_model_file(tmp_path / "model.skops")
    data = patch_central_directory(path.read_bytes(), "schema.json", size=3 * 2**30)
    path.write_bytes(data)
    assert path.stat().st_size < 3 * 2**20
    problems = refusal(path, OversizedArtifact)
    assert len(problems) == 1 and "would inflate to" in problems[0]


def test_a_real_deflate_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    path = tmp_path / "bomb.skops"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("schema.json", "w") as member,
    ):
        for _ in range(300):  # 300 MB of spaces, written in 1 MB pieces
            member.write(b" " * (1 << 20))
    assert path.stat().st_size < 1 << 20
    (problem,) = refusal(path, OversizedArtifact)
    assert "times the file's size" in problem


def test_the_limits_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = real_model_file(tmp_path / "model.skops")
    monkeypatch.setenv("GATEHOUSE_ARTIFACT_MAX_ENTRIES", "2")
    reset_settings()
    try:
        (problem,) = refusal(path, OversizedArtifact)
        count = len(zipfile.ZipFile(path).namelist())
        assert problem == TOO_MANY_ENTRIES.format(name="model.skops", count=count, limit=2)
        monkeypatch.setenv("GATEHOUSE_ARTIFACT_MAX_ENTRIES", "100")
        monkeypatch.setenv("GATEHOUSE_SCHEMA_MAX_MB", "0.001")
        reset_settings()
        size = zipfile.ZipFile(path).getinfo("schema.json").file_size
        (problem,) = refusal(path, OversizedArtifact)
        assert problem == SCHEMA_TOO_LARGE.format(
            name="model.skops", size=size / 2**20, limit=0.001
        )
    finally:
        monkeypatch.undo()
        reset_settings()


@pytest.mark.parametrize("depth", [300, 200_000])
def test_deeply_nested_schemas_are_refused(tmp_path: Path, depth: int) -> None:
    schema = "[" * depth + "]" * depth
    path = write_skops(tmp_path / "deep.skops", schema.encode())
    problems = refusal(path, MalformedArtifact)
    assert any("nests deeper than" in p or "nested too deeply" in p for p in problems)


# --- Malformed archives --------------------------------------------------------------------


def test_a_corrupt_deflate_stream_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    noise = np.random.default_rng(0).integers(0, 16, 20_000)
    write_skops(path, {"x": "".join(map("{:x}".format, noise))}, compression=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    start = 30 + len("schema.json")
    data[start + 5 : start + 40] = b"\xff" * 35
    path.write_bytes(bytes(data))
    (problem,) = refusal(path, MalformedArtifact)
    assert problem.startswith(
        "The skops file model.skops is corrupt (schema.json cannot be inflated"
    )


def test_a_lying_size_is_caught_when_inflating(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    write_skops(path, {"x": "y" * 50_000}, compression=zipfile.ZIP_DEFLATED)
    path.write_bytes(patch_central_directory(path.read_bytes(), "schema.json", size=100))
    refusal(path, MalformedArtifact)


def test_an_unknown_compression_method_is_one_sentence(tmp_path: Path) -> None:
    path = real_model_file(tmp_path / "model.skops")
    path.write_bytes(patch_central_directory(path.read_bytes(), "schema.json", method=99))
    assert refusal(path, MalformedArtifact) == [
        UNKNOWN_METHOD.format(name="model.skops", entry="schema.json", method=99)
    ]


def test_the_encrypted_flag_is_one_sentence(tmp_path: Path) -> None:
    path = real_model_file(tmp_path / "model.skops")
    path.write_bytes(patch_central_directory(path.read_bytes(), "schema.json", flags=1))
    assert refusal(path, MalformedArtifact) == [
        ENCRYPTED.format(name="model.skops", entry="schema.json")
    ]


class Touch:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Path]]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_a_pickle_glued_in_front_of_a_valid_zip_is_refused(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "unpickled.marker"
    payload = pickle.dumps(Touch(marker), protocol=protocol)
    zip_bytes = real_model_file(tmp_path / "real.skops").read_bytes()
    path = tmp_path / "model.skops"
    path.write_bytes(payload + zip_bytes)
    assert zipfile.ZipFile(path).testzip() is None  # zipfile itself skips the prefix
    problems = refusal(path, MalformedArtifact if protocol < 2 else UnsafeArtifact)
    if protocol < 2:
        assert problems == [NOT_FROM_FIRST_BYTE.format(name="model.skops", count=len(payload))]
    assert not marker.exists()


# --- Refusals at registration are audited, and nothing is stored -------------------------


def test_every_malformed_file_is_refused_at_registration_with_an_audit_event(
    session: Session, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled.marker"
    real = real_model_file(tmp_path / "real.skops").read_bytes()
    hostile = {
        "glued.skops": pickle.dumps(Touch(marker), protocol=0) + real,
        "encrypted.skops": patch_central_directory(real, "schema.json", flags=1),
        "method.skops": patch_central_directory(real, "schema.json", method=12),
        "bomb.skops": patch_central_directory(real, "schema.json", size=3 * 2**30),
    }
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(50, 3)), columns=["x0", "x1", "x2"])
    frame["y"] = (frame["x0"] > 0).astype(int)
    frame.to_csv(tmp_path / "eval.csv", index=False)
    for name, data in hostile.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputProblems) as caught:
            register_version(
                session=session, actor=OPERATOR, name="hostile", artifact=tmp_path / name,
                eval_data=tmp_path / "eval.csv", target="y",
            )  # fmt: skip
        (problem,) = caught.value.problems
        assert name in problem and str(tmp_path) not in problem
        event = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
        assert event is not None and event.action == "registration_refused"
        assert json.loads(event.details)["problems"] == [problem]
    assert session.exec(select(ModelVersion)).first() is None
    assert not list((get_settings().data_dir / "artifacts").glob("**/*.skops"))
    assert not marker.exists()

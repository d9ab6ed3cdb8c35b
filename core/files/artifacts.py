"""Safe loading of model artifacts: skops files checked against a reviewed list of types.

Loading a pickle or joblib file can run any code its author chose, so Gatehouse never
unpickles anything. Models are registered as skops files (``skops.io.dump``): a zip archive
holding a JSON description of the object tree plus numpy arrays. Before anything is built from
such a file, in this order:

1. the format is judged by content (magic bytes, not the extension): pickles are refused;
2. the zip container is checked unread (``core.files.archive``): a zip from its first byte,
   no encryption, only stored or deflate entries, entry count and inflated size within the
   configured limits, relative to the file's size too;
3. the schema is checked (``core.files.skops_schema``): nesting depth, no type on the
   denylist (``core.files.denylist``, which nothing overrides), loaders building only the
   types they build for real files, constructor calls only from a reviewed list with small
   scalar arguments, arrays holding exactly the bytes their headers promise;
4. every type it names must be in ``TRUSTED_TYPES`` or on the allowlist an admin maintains
   (``core.services.trusted_types``; the caller passes it as ``extra_trusted``). The person
   registering a model never decides what is safe;
5. after loading, the trees inside are checked structurally (``core.files.tree_checks``).

Loading runs in a child process with memory and CPU-time limits (``core.files.sandbox``), so a
file that slips past the checks above still cannot take the calling process down.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import skops.io

from core.files.archive import ArchiveLimits, checked_archive, read_schema
from core.files.denylist import DENIED_TYPES, is_denied
from core.files.refusals import (
    ArtifactRefused,
    DeniedArtifact,
    MalformedArtifact,
    ModelLimitExceeded,
    OversizedArtifact,
    UnsafeArtifact,
    UntrustedArtifact,
)
from core.files.sandbox import run_limited
from core.files.skops_schema import schema_problems
from core.files.tree_checks import structure_problems

__all__ = [
    "DENIED_TYPES",
    "TRUSTED_TYPES",
    "ArtifactRefused",
    "DeniedArtifact",
    "MalformedArtifact",
    "ModelLimitExceeded",
    "OversizedArtifact",
    "UnsafeArtifact",
    "UntrustedArtifact",
    "check_artifact_file",
    "is_denied",
    "load_artifact",
]

TRUSTED_TYPES: Final[tuple[str, ...]] = (
    # Python containers and primitives (skops stores JSON values as builtins.str).
    "builtins.bool",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.set",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    # numpy arrays (read with allow_pickle=False), dtypes, scalars and random states.
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.bool",  # numpy >= 2
    "numpy.bool_",  # numpy 1.x
    "numpy.int8",
    "numpy.int16",
    "numpy.int32",
    "numpy.int64",
    "numpy.uint8",
    "numpy.uint16",
    "numpy.uint32",
    "numpy.uint64",
    "numpy.float16",
    "numpy.float32",
    "numpy.float64",
    "numpy.random._generator.Generator",
    "numpy.random.mtrand.RandomState",
    # Composition.
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    # Preprocessing and imputation. Not FunctionTransformer: it calls any function it holds
    # (ColumnTransformer stores "passthrough" as one, so such pipelines need the admin's
    # allowlist).
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._base.SimpleImputer",
    # Linear models.
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._ridge.RidgeClassifier",
    # Trees, forests and boosting; the Dummy* models are gradient boosting's initial guess.
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.dummy.DummyClassifier",
    "sklearn.dummy.DummyRegressor",
    # Tree internals: trusted only with the structural check in this module (see docstring).
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    # Loss and link objects of (hist) gradient boosting: parameters only.
    "sklearn._loss.link.HalfLogitLink",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.ExponentialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfGammaLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HuberLoss",
    "sklearn._loss.loss.PinballLoss",
    "sklearn._loss._loss.CyAbsoluteError",
    "sklearn._loss._loss.CyExponentialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfGammaLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfPoissonLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.CyHuberLoss",
    "sklearn._loss._loss.CyPinballLoss",
)

# Why some types people meet often are not trusted; added to the refusal as a hint.
_WHY_NOT_TRUSTED: Final = {
    "sklearn.preprocessing._function_transformer.FunctionTransformer": (
        "FunctionTransformer calls whatever function it holds; a ColumnTransformer with "
        '"passthrough" stores an identity FunctionTransformer, which is harmless.'
    ),
    "functools.partial": "functools.partial wraps a function with arguments and calls it.",
}

EMPTY_FILE: Final = (
    "The file {name} is empty; register the file the model was saved to with skops "
    "(skops.io.dump(model, 'model.skops'))."
)
NOT_A_FILE: Final = "The artifact {path} does not exist or is not a file."
PICKLE_REFUSED: Final = (
    "The artifact {name} is a pickle/joblib file; loading it can run arbitrary code, so "
    "Gatehouse refuses it. Save the model with skops (skops.io.dump(model, 'model.skops')) "
    "and register that file."
)
NOT_SKOPS_DESPITE_EXTENSION: Final = (
    "The file {name} is not a skops file despite its extension: it is not a zip archive "
    "containing schema.json. Save the model with skops.io.dump(model, 'model.skops') and "
    "register that file."
)
UNKNOWN_FORMAT: Final = (
    "The file {name} is not a format Gatehouse loads: only skops files (zip archives "
    "containing schema.json) are accepted. Save the model with "
    "skops.io.dump(model, 'model.skops') and register that file."
)
UNREADABLE_SKOPS: Final = "The skops file {name} cannot be read: {error}."
UNTRUSTED_TYPES: Final = (
    "The artifact contains types Gatehouse does not trust: {types}; an admin who has reviewed "
    "them can add them to the allowlist (gatehouse admin trust-type add TYPE), or save the "
    "model without them."
)
MALFORMED_TREE: Final = (
    "The artifact {name} is malformed at {where}: {detail}; scikit-learn could access "
    "memory out of bounds when using it, so Gatehouse refuses it."
)

# zlib (joblib's default compression), gzip, bz2, xz, legacy lzma, lz4, and joblib < 0.10.
_COMPRESSED_PREFIXES: Final = (
    b"x\x01",
    b"x\x5e",
    b"x\x9c",
    b"x\xda",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"]\x00\x00",
    b"\x04\x22\x4d\x18",
    b"ZF",
)
# Opcodes a protocol 0/1 pickle can start with (MARK, GLOBAL, EMPTY_LIST/DICT/TUPLE).
_TEXT_PICKLE_STARTS: Final = frozenset(b"(c]})")


def _is_pickle(data: bytes) -> bool:
    if data[:1] == b"\x80" or data.startswith(_COMPRESSED_PREFIXES):
        return True
    # Protocol 0/1 pickles are text-like: they start with an opcode and end with STOP (".").
    return data[0] in _TEXT_PICKLE_STARTS and data.endswith(b".")


def _is_skops(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "schema.json" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return False


def _checked_bytes(path: Path) -> bytes:
    # Reads the file once, so what is checked is exactly what gets loaded.
    if not path.is_file():
        raise ArtifactRefused(NOT_A_FILE.format(path=path))
    data = path.read_bytes()
    if not data:
        raise ArtifactRefused(EMPTY_FILE.format(name=path.name))
    if _is_pickle(data):
        raise UnsafeArtifact(PICKLE_REFUSED.format(name=path.name))
    if not _is_skops(data):
        template = (
            NOT_SKOPS_DESPITE_EXTENSION if path.suffix.lower() == ".skops" else UNKNOWN_FORMAT
        )
        raise ArtifactRefused(template.format(name=path.name))
    return data


def check_artifact_file(path: Path) -> str:
    """The artifact's format, judged by content: ``"skops"``, or a refusal.

    Pickle and joblib files (plain or compressed) raise ``UnsafeArtifact``; empty files,
    files that are not skops archives (whatever their extension) raise ``ArtifactRefused``.
    Nothing is ever unpickled.
    """
    _checked_bytes(Path(path))
    return "skops"


def _error_text(err: BaseException) -> str:
    # One line, no traceback; skops reads from memory here, so no server path appears.
    text = " ".join(str(err).split())[:200].rstrip(".")
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _load_checked(
    data: bytes, *, name: str, extra_trusted: Sequence[str], limits: ArchiveLimits
) -> object:
    archive = checked_archive(data, name=name, limits=limits)
    schema = read_schema(archive, name=name)
    named, denied, problems = schema_problems(
        schema, archive, name=name, max_depth=limits.schema_max_depth
    )
    if denied:
        raise DeniedArtifact(
            [DENIED_TYPES_FOUND.format(name=name, types=sorted(denied)), *problems]
        )
    if problems:
        raise MalformedArtifact(problems)
    try:
        reported = skops.io.get_untrusted_types(data=data)
    except MemoryError:
        raise  # the sandbox reports it with the limit that was hit
    except Exception as err:  # any failure on a hostile file is a refusal
        raise MalformedArtifact(UNREADABLE_SKOPS.format(name=name, error=_error_text(err))) from err
    present = named | set(reported)
    if hidden := sorted(t for t in present if is_denied(t)):  # named by skops' audit only
        raise DeniedArtifact(DENIED_TYPES_FOUND.format(name=name, types=hidden))
    allowed = set(TRUSTED_TYPES) | {t for t in extra_trusted if not is_denied(t)}
    if untrusted := sorted(present - allowed):
        hints = [_WHY_NOT_TRUSTED[t] for t in untrusted if t in _WHY_NOT_TRUSTED]
        raise UntrustedArtifact([UNTRUSTED_TYPES.format(types=untrusted), *hints])
    try:
        model = skops.io.loads(data, trusted=sorted(present))
    except MemoryError:
        raise  # the sandbox reports it with the limit that was hit
    except Exception as err:  # any failure on a hostile file is a refusal
        raise MalformedArtifact(UNREADABLE_SKOPS.format(name=name, error=_error_text(err))) from err
    if inconsistent := structure_problems(model):
        raise MalformedArtifact(
            [
                MALFORMED_TREE.format(name=name, where=where, detail=detail)
                for where, detail in inconsistent
            ]
        )
    return model


DENIED_TYPES_FOUND: Final = (
    "The artifact {name} names {types}, which can reach the operating system or the "
    "interpreter; Gatehouse never loads such files, whoever asks."
)


def _load_file(path: Path, extra_trusted: Sequence[str], limits: ArchiveLimits) -> object:
    """In the child process: read, check and load (see the module docstring)."""
    data = _checked_bytes(path)  # the check of check_artifact_file, on the bytes we load
    return _load_checked(data, name=path.name, extra_trusted=extra_trusted, limits=limits)


def load_artifact(path: Path, *, extra_trusted: Sequence[str] = ()) -> object:
    """Check a model file and load it as skops, in a limited child process; the one door.

    Parameters
    ----------
    path
        The skops file.
    extra_trusted
        The allowlist an admin maintains (``core.services.trusted_types``). Types on the
        denylist are never trusted, whatever this holds.

    Raises
    ------
    ArtifactRefused
        One of its subclasses, each problem one sentence: ``UnsafeArtifact`` (pickle),
        ``DeniedArtifact``, ``UntrustedArtifact``, ``MalformedArtifact`` (unreadable, crafted,
        ``OversizedArtifact``), ``ModelLimitExceeded`` (memory or CPU time ran out).
    """
    path = Path(path)
    limits = ArchiveLimits.from_settings()  # read here: the child may see other settings
    return run_limited(
        _load_file, path, tuple(extra_trusted), limits, what=f"the model file {path.name}"
    )

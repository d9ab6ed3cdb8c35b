"""Settings from the environment, read through a cached function so tests can change them."""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["EMPTY_KEY", "Settings", "get_settings", "reset_settings"]

ROOT = Path(__file__).resolve().parent.parent

EMPTY_KEY = (
    "The cookie-signing key file {path} is empty; delete it and start Gatehouse again to create a "
    "new one (everyone signs in again), or set GATEHOUSE_SECRET_KEY."
)


@dataclass(frozen=True)
class Settings:
    """Everything Gatehouse reads from its environment.

    GATEHOUSE_DATA_DIR       folder for the SQLite file, artifacts, datasets, reports (./data)
    GATEHOUSE_DATABASE_URL   SQLAlchemy URL; default a SQLite file in the data folder
    GATEHOUSE_SECRET_KEY     signs session cookies; default a random key kept in the data folder
    GATEHOUSE_ADDRESS/PORT   where `gatehouse serve` listens (127.0.0.1:8501)
    GATEHOUSE_SESSION_HOURS  how long a sign-in lasts (12)
    GATEHOUSE_LOCKOUT_THRESHOLD / GATEHOUSE_LOCKOUT_MINUTES  failed sign-ins before a lock, and its length
    GATEHOUSE_POLICY_FILE    governance policy pack (YAML) to load
    GATEHOUSE_MAX_DATASET_COLUMNS  columns a registered data file may have at most (10,000)
    GATEHOUSE_ARTIFACT_MAX_MB        largest uncompressed content of a model file (2048)
    GATEHOUSE_ARTIFACT_MAX_RATIO     most its content may exceed the file's size, as a factor (200)
    GATEHOUSE_ARTIFACT_MAX_ENTRIES   most files inside a model file (100000)
    GATEHOUSE_SCHEMA_MAX_MB / GATEHOUSE_SCHEMA_MAX_DEPTH  size (64) and nesting (200) of schema.json
    GATEHOUSE_MODEL_MEMORY_MB        memory a model may use while loaded and run (4096)
    GATEHOUSE_MODEL_CPU_SECONDS      CPU time a model may use per load or run (600)
    GATEHOUSE_PASSWORD_HASHING       argon2id parameters for new password hashes: rfc9106 (RFC 9106's
                                     low-memory profile, 64 MiB, the default) or owasp (OWASP's
                                     minimum, 19 MiB, for small machines; about 5x cheaper)
    """

    data_dir: Path
    database_url: str
    address: str
    port: int
    session_hours: float
    lockout_threshold: int
    lockout_minutes: float
    policy_file: Path | None
    max_dataset_columns: int = 10_000
    artifact_max_mb: float = 2048
    artifact_max_ratio: float = 200
    artifact_max_entries: int = 100_000
    schema_max_mb: float = 64
    schema_max_depth: int = 200
    model_memory_mb: int = 4096
    model_cpu_seconds: int = 600
    password_hashing: str = "rfc9106"  # noqa: S105 (a profile name, not a password)

    @property
    def secret_key(self) -> str:
        """The cookie-signing key: from the environment, else created once in the data folder."""
        if key := os.environ.get("GATEHOUSE_SECRET_KEY"):
            return key
        path = self.data_dir / "secret.key"
        if not path.exists():
            _create_key(path)
        key = path.read_text().strip()
        if not key:
            raise ValueError(EMPTY_KEY.format(path=path))
        return key


def _create_key(path: Path) -> None:
    """Write a new key to a temporary file, then link it into place.

    The link appears with its whole content or not at all, and fails if another process linked
    its key first, so processes starting together on a fresh data folder all read one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret.key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process won; its key is complete
    finally:
        os.unlink(tmp)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ValueError(
            f"{name}={raw!r} is not a number; set it to a number such as {default}."
        ) from err


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    """The variable's value when it is one of ``allowed`` (the first is the default)."""
    raw = os.environ.get(name) or allowed[0]
    if raw not in allowed:
        raise ValueError(f"{name}={raw!r} is not one of {', '.join(allowed)}; set one of them.")
    return raw


@cache
def get_settings() -> Settings:
    """Read the settings once per process (``reset_settings`` forgets them, for tests)."""
    data_dir = Path(os.environ.get("GATEHOUSE_DATA_DIR") or ROOT / "data").resolve()
    database_url = (
        os.environ.get("GATEHOUSE_DATABASE_URL") or f"sqlite:///{data_dir / 'gatehouse.db'}"
    )
    policy = os.environ.get("GATEHOUSE_POLICY_FILE")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        address=os.environ.get("GATEHOUSE_ADDRESS", "127.0.0.1"),
        port=int(_number("GATEHOUSE_PORT", 8501)),
        session_hours=_number("GATEHOUSE_SESSION_HOURS", 12),
        lockout_threshold=int(_number("GATEHOUSE_LOCKOUT_THRESHOLD", 5)),
        lockout_minutes=_number("GATEHOUSE_LOCKOUT_MINUTES", 15),
        policy_file=Path(policy) if policy else None,
        max_dataset_columns=int(_number("GATEHOUSE_MAX_DATASET_COLUMNS", 10_000)),
        artifact_max_mb=_number("GATEHOUSE_ARTIFACT_MAX_MB", 2048),
        artifact_max_ratio=_number("GATEHOUSE_ARTIFACT_MAX_RATIO", 200),
        artifact_max_entries=int(_number("GATEHOUSE_ARTIFACT_MAX_ENTRIES", 100_000)),
        schema_max_mb=_number("GATEHOUSE_SCHEMA_MAX_MB", 64),
        schema_max_depth=int(_number("GATEHOUSE_SCHEMA_MAX_DEPTH", 200)),
        model_memory_mb=int(_number("GATEHOUSE_MODEL_MEMORY_MB", 4096)),
        model_cpu_seconds=int(_number("GATEHOUSE_MODEL_CPU_SECONDS", 600)),
        password_hashing=_choice("GATEHOUSE_PASSWORD_HASHING", ("rfc9106", "owasp")),
    )


def reset_settings() -> None:
    """Forget cached settings so the next read sees the current environment."""
    get_settings.cache_clear()

"""Why a model file is refused: one error class per kind of refusal, each carrying sentences."""

from __future__ import annotations

from core.errors import GatehouseError

__all__ = [
    "ArtifactRefused",
    "DeniedArtifact",
    "MalformedArtifact",
    "ModelLimitExceeded",
    "OversizedArtifact",
    "UnsafeArtifact",
    "UntrustedArtifact",
]


class ArtifactRefused(GatehouseError, ValueError):
    """A model artifact Gatehouse will not load; ``problems`` says why and what to do."""


class UnsafeArtifact(ArtifactRefused):
    """The artifact is a pickle or joblib file, which can run arbitrary code when loaded."""


class UntrustedArtifact(ArtifactRefused):
    """The skops file names types outside the reviewed list and the admin's allowlist."""


class DeniedArtifact(UntrustedArtifact):
    """The skops file names a callable that reaches the operating system or the interpreter."""


class MalformedArtifact(ArtifactRefused):
    """The skops file cannot be read, or its structure is inconsistent or crafted."""


class OversizedArtifact(MalformedArtifact):
    """The file would inflate beyond the configured limits (size, entries, nesting, arrays)."""


class ModelLimitExceeded(ArtifactRefused):
    """Loading or running the model went past its memory or CPU-time limit, or crashed."""

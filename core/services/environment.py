"""The software a version was registered with or evidence was computed in, for the record."""

from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["environment"]


def environment(*packages: str, with_platform: bool = False) -> dict[str, str]:
    """Python's version and each installed package's version (absent packages are left out)."""
    env = {"python": platform.python_version()}
    if with_platform:
        env["platform"] = platform.platform()
    for name in packages:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return env

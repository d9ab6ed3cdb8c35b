"""A scratch PostgreSQL database: created for a test or a benchmark, dropped (forcibly) after."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["scratch_postgres"]


@contextlib.contextmanager
def scratch_postgres(server_url: str, prefix: str = "gatehouse_test") -> Iterator[str]:
    """Create an empty database on the server at ``server_url``; yield its URL; drop it."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from core.db import dispose_engines

        dispose_engines()  # close this process's connections before the drop
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

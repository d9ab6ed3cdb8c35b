"""A scratch PostgreSQL database: created for a test or a benchmark, dropped (forcibly) after."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["scratch_postgres"]


@contextlib.contextmanager
def scratch_postgres(
    server_url: str, prefix: str = "gatehouse_test", template: str | None = None
) -> Iterator[str]:
    """Create a database on the server at ``server_url``, empty or a copy of the database at
    ``template`` (which must have no open connections); yield its URL; drop it."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with admin.connect() as conn:
        for attempt in range(50):
            try:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
                break
            except sa.exc.OperationalError as err:
                # Another process's CREATE ... TEMPLATE holds the template for a moment.
                if "is being accessed by other users" not in str(err) or attempt == 49:
                    raise
                time.sleep(0.1)
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from core.db import dispose_engines

        dispose_engines()  # close this process's connections before the drop
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""The inventory's gate status column: kept in step with the gates of each model's current version.

Every service that moves a gate (a signing act, a stale approval, gates opening) and every new
version calls ``refresh_gate_status`` in its own transaction, so the inventory and the model page
read one stored column instead of rolling up the gates of every model on every read.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.rules.gates import rollup_status
from core.services.model_snapshots import record_snapshot
from core.tables import Gate, ModelEntry, ModelVersion

__all__ = ["refresh_gate_status"]


def refresh_gate_status(session: Session, version_id: int) -> None:
    """Store the roll-up of the version's gates on its model, when it is the current version;
    a change is a new inventory snapshot like any other column's."""
    version = session.get(ModelVersion, version_id)
    model = session.get(ModelEntry, version.model_id) if version is not None else None
    if model is None or model.current_version_id != version_id:
        return
    session.flush()
    states = session.exec(
        select(Gate.state).where(Gate.version_id == version_id).order_by(col(Gate.position))
    ).all()
    status = rollup_status(list(states))
    if model.gate_status != status:
        model.gate_status = status
        record_snapshot(session, model)

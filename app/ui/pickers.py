"""Picking what a page shows: the model, its version, and the stored evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st
from sqlmodel import Session

from app.ui.actions import attempt
from app.ui.text import status_word
from core.services.evidence import (
    StoredEvidence,
    evidence_for_version,
    get_evidence,
)
from core.services.focus import default_focus, default_version_of
from core.services.inventory import (
    current_card,
    get_model,
    list_versions,
    model_choices,
    version_summary,
)
from core.services.vocabulary import Vocabulary

__all__ = [
    "PickedVersion",
    "choose_evidence",
    "pick_version",
]

_CONTINUOUS = ("float", "double", "decimal")


# --- Picking what to show ----------------------------------------------------------------------


@dataclass(frozen=True)
class PickedVersion:
    """The model version a page shows, with its model's other versions."""

    model_id: int
    model_name: str
    production_version_id: int | None
    version: dict[str, Any]
    versions: list[dict[str, Any]]
    vocabulary: Vocabulary

    @property
    def version_id(self) -> int:
        return int(self.version["version_id"])

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version['version']}"

    def number(self, version_id: int) -> int | None:
        """The version number of another version of the model."""
        return next((v["version"] for v in self.versions if v["version_id"] == version_id), None)

    @property
    def group_columns(self) -> list[str]:
        """Evaluation-data columns that make groups: everything but the target and decimals."""
        schema = (self.version.get("eval_dataset") or {}).get("schema") or []
        return [
            str(c["name"])
            for c in schema
            if c["name"] != self.version["target"]
            and not str(c.get("dtype", "")).lower().startswith(_CONTINUOUS)
        ]


MODEL_IN_VIEW = "gatehouse.model_in_view"
VERSION_IN_VIEW = "gatehouse.version_in_view"


def _query_int(name: str) -> int | None:
    value = st.query_params.get(name)
    return int(value) if value is not None and str(value).isdigit() else None


def _remember(model_id: int, version_id: int | None) -> None:
    """Keep the choice for every page of this tab, and in the URL for links people share."""
    st.session_state[MODEL_IN_VIEW] = model_id
    st.query_params["model"] = str(model_id)
    if version_id is None:
        st.session_state.pop(VERSION_IN_VIEW, None)
        st.query_params.pop("version", None)
    else:
        st.session_state[VERSION_IN_VIEW] = version_id
        st.query_params["version"] = str(version_id)


def _model_changed(key: str, ids: Mapping[str, int]) -> None:
    st.session_state.pop(VERSION_IN_VIEW, None)
    st.query_params.pop("evidence", None)
    _remember(ids[st.session_state[key]], None)


def _version_changed(key: str, model_id: int, ids: Mapping[str, int]) -> None:
    st.query_params.pop("evidence", None)
    _remember(model_id, ids[st.session_state[key]])


def pick_model(key: str, *, container: Any = None) -> int:
    """The model picker: the URL's ``?model=``, else this tab's last choice on any page, else
    the model that matters most (``core.services.focus``). Stops the page when there is none."""
    choices = attempt(lambda s: model_choices(session=s)) or []
    if not choices:
        st.info("The inventory is empty; register a model first.")
        st.stop()
    names = {i: name for i, name in choices}
    wanted = _query_int("model")
    if wanted not in names:
        wanted = st.session_state.get(MODEL_IN_VIEW)
    if wanted not in names:
        focus = attempt(lambda s: default_focus(session=s))
        wanted = focus[0] if focus else choices[0][0]
    ids = {name: i for i, name in choices}
    st.session_state[MODEL_IN_VIEW] = wanted
    st.query_params["model"] = str(wanted)
    # The widget shows the choice, whichever page made it (widget state is per page).
    st.session_state[key] = names[wanted]
    (container or st).selectbox(
        "Model", list(ids), key=key, on_change=_model_changed, args=(key, ids)
    )
    return int(wanted)


def pick_version(prefix: str) -> PickedVersion:
    """Model and version pickers; the choice follows the person across pages and into the URL
    (``?model=&version=``). With nothing chosen: the production version, else the newest."""
    left, right = st.columns(2)
    model_id = pick_model(f"{prefix}_model", container=left)

    def load(s: Session) -> tuple[Any, list[dict[str, Any]], int | None, dict[str, Any]]:
        model = get_model(session=s, model_id=model_id)
        versions = list_versions(session=s, model_id=model_id)
        default = default_version_of(session=s, model_id=model_id)
        card = current_card(session=s, model_id=model_id)
        return (
            model,
            [version_summary(session=s, version=v).to_dict() for v in versions],
            default,
            card,
        )

    loaded = attempt(load)
    if loaded is None or not loaded[1]:
        st.stop()
    model, versions, default, card = loaded
    by_id = {int(v["version_id"]): v for v in versions}
    wanted = _query_int("version")
    if wanted not in by_id:
        wanted = st.session_state.get(VERSION_IN_VIEW)
    if wanted not in by_id:
        wanted = default if default in by_id else int(versions[0]["version_id"])
    labels = {f"v{v['version']} · {v['stage']}": int(v["version_id"]) for v in versions}
    key = f"{prefix}_version"
    st.session_state[key] = next(label for label, i in labels.items() if i == wanted)
    right.selectbox(
        "Version", list(labels), key=key, on_change=_version_changed, args=(key, model_id, labels)
    )
    _remember(model_id, wanted)
    return PickedVersion(
        model_id=model_id,
        model_name=model.name,
        production_version_id=model.production_version_id,
        version=by_id[wanted],
        versions=versions,
        vocabulary=Vocabulary.from_card(
            card, target=by_id[wanted]["target"], positive=by_id[wanted]["positive_label"]
        ),
    )


def _evidence_label(row: Mapping[str, Any]) -> str:
    when = row["computed_at"]
    when = f"{when:%Y-%m-%d %H:%M:%S}" if hasattr(when, "strftime") else str(when)
    return f"#{row['evidence_id']} · {when} UTC · {status_word(row['status'])}"


def choose_evidence(
    *, key: str, version_id: int, kind: str, select: int | None = None
) -> StoredEvidence | None:
    """A picker of the version's stored evidence of one kind (newest first), and the chosen one.

    ``select`` shows that evidence, e.g. the one just computed: a computation that reproduces
    older evidence returns the older row, which is then not the newest.
    """
    rows = attempt(lambda s: evidence_for_version(session=s, version_id=version_id)) or []
    rows = [r for r in rows if r["kind"] == kind]
    if not rows:
        return None
    labels = [_evidence_label(r) for r in rows]
    by_id = {int(r["evidence_id"]): label for label, r in zip(labels, rows, strict=True)}
    # What was just computed, else what the URL names (a shared link), else the newest.
    wanted = select if select in by_id else _query_int("evidence")
    if wanted in by_id:
        st.session_state[key] = by_id[wanted]
    elif st.session_state.get(key) not in labels:
        st.session_state[key] = labels[0]

    def changed() -> None:
        st.query_params["evidence"] = str(rows[labels.index(st.session_state[key])]["evidence_id"])

    label = st.selectbox(
        "Evidence shown",
        labels,
        key=key,
        on_change=changed,
        help="Every computation is kept, newest first; nothing is ever overwritten.",
    )
    chosen = rows[labels.index(label)]
    st.query_params["evidence"] = str(chosen["evidence_id"])
    if chosen is not rows[0]:
        st.caption(f"Newer {kind} evidence exists: {labels[0]}.")
    return attempt(lambda s: get_evidence(session=s, evidence_id=chosen["evidence_id"]))

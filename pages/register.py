"""Register a model version by upload: the same checks and transaction as `gatehouse model register`."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app import session as user_session
from app.navigation import page_path
from app.ui import attempt
from core.services.inventory import register_version

user = user_session.signed_in_user()
st.title("Register a model version")
st.caption(
    "Upload the model as a skops file (skops.io.dump) with its evaluation data. Pickle and joblib "
    "files are refused: loading them can run arbitrary code. Types beyond the built-in list "
    "must be on the allowlist an admin maintains."
)

with st.form("register", clear_on_submit=False):
    name = st.text_input("Model name (new or existing)", key="reg_name")
    artifact = st.file_uploader("Model artifact (.skops)", key="reg_artifact")
    evaluation = st.file_uploader("Evaluation data (.csv or .parquet)", key="reg_eval")
    training = st.file_uploader("Training data (optional)", key="reg_train")
    c1, c2, c3 = st.columns(3)
    target = c1.text_input("Target column", key="reg_target")
    positive = c2.text_input("Positive label (optional)", key="reg_positive")
    task = c3.selectbox("Task", ["from the model", "classification", "regression"], key="reg_task")
    sensitive = st.text_input(
        "Sensitive columns, comma-separated (e.g. sex, age_band)", key="reg_sensitive"
    )
    provenance = st.text_area("Provenance of the data", key="reg_provenance")
    submitted = st.form_submit_button("Register", type="primary")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


if submitted:
    missing = [
        label
        for label, value in (
            ("a model name", name),
            ("an artifact", artifact),
            ("evaluation data", evaluation),
            ("the target column", target),
        )
        if not value
    ]
    if missing:
        st.error(f"Registration needs {', '.join(missing)}; fill them in and register again.")
        st.stop()
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for key, upload in (("artifact", artifact), ("eval", evaluation), ("train", training)):
            if upload is not None:
                path = Path(folder) / Path(upload.name).name
                path.write_bytes(upload.getvalue())
                paths[key] = path
        result = attempt(
            lambda s: register_version(
                session=s,
                actor=user_session.actor(s),
                name=name,
                artifact=paths["artifact"],
                eval_data=paths["eval"],
                train_data=paths.get("train"),
                target=target.strip(),
                sensitive=_split(sensitive),
                positive_label=positive.strip() or None,
                task=None if task == "from the model" else task,
                provenance=provenance,
            )
        )
    if result is not None:
        verb = "Registered" if result.created else "Already registered:"
        st.success(
            f"{verb} {name} version {result.version} (artifact {result.artifact_sha256[:12]})."
        )
        st.page_link(
            page_path("model.py"), label="Open the model", query_params={"model": result.model_id}
        )
        st.dataframe(pd.DataFrame([result.to_dict()]), hide_index=True)

"""The Compare versions tab of the model page: what changed from one version to another.

In the order a reviewer asks: what the model is now (final estimator, steps, settings), what
it reads (features added or removed), what it learnt from and was tested on (data hashes), and
whether it got better (each metric with its interval and a verdict). Business names come from
the model card; the technical names stay in an expander.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from app.ui import DASH, attempt, escape_markdown, plain_text
from app.ui.text import format_estimate, sentence_case
from core.services.inventory import VersionSummary
from core.services.version_comparison import compare_versions
from core.services.version_comparison_results import (
    ComparedVersion,
    DatasetChange,
    EstimatorStructure,
    HyperValue,
    MetricVerdict,
    SettingChange,
    VersionComparison,
)

__all__ = ["class_words", "render_compare_tab", "setting_text"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_VERDICT_STYLE = {
    MetricVerdict.better.value: "color: #1a7837; font-weight: 600",
    MetricVerdict.worse.value: "color: #b2182b; font-weight: 600",
}
VERDICT_COLUMN = "Verdict"
CHANGED_COLUMN = "Changed"


def class_words(name: str) -> str:
    """A class name as words: ``GradientBoostingClassifier`` → "Gradient boosting classifier"."""
    short = name.rsplit(".", 1)[-1]
    if not short:
        return DASH
    words = _CAMEL.sub(" ", short).split()
    return " ".join([words[0], *(w if w.isupper() else w.lower() for w in words[1:])])


def setting_text(value: HyperValue, present: bool = True) -> str:
    """A hyperparameter as a person reads it: 0.1, 2000, lbfgs, yes, a dash for nothing."""
    if not present or value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _steps_text(structure: EstimatorStructure) -> str:
    return " → ".join(f"{name}: {class_words(cls)}" for name, cls in structure.steps) or DASH


def _yes(changed: bool) -> str:
    return "yes" if changed else "no"


def _summary(c: VersionComparison) -> list[str]:
    """One line per kind of change, in words."""
    lines = []
    if c.estimator_changed:
        lines.append(
            f"The final estimator changed from {class_words(c.before.structure.final)} "
            f"to {class_words(c.after.structure.final)}."
        )
    elif c.before.structure.final:
        lines.append(f"Same final estimator: {class_words(c.after.structure.final)}.")
    if changed := c.changed_hyperparameters:
        names = ", ".join(h.name for h in changed)
        lines.append(f"{len(changed)} hyperparameter(s) changed: {names}.")
    moved = [
        f"{len(names)} feature(s) {word}"
        for names, word in ((c.features_added, "added"), (c.features_removed, "removed"))
        if names
    ]
    lines.append(("; ".join(moved) if moved else "The same features") + ".")
    if data := [d.role for d in c.data if d.changed]:
        lines.append(f"{sentence_case(' and '.join(data))} data changed.")
    else:
        lines.append("The same training and evaluation data.")
    if c.metrics:
        counts = ", ".join(f"{n} {verdict.value}" for verdict, n in c.verdicts().items())
        lines.append(f"Metrics: {counts}.")
    return lines


def _model_frame(c: VersionComparison, before: str, after: str) -> pd.DataFrame:
    a, b = c.before.structure, c.after.structure
    return pd.DataFrame(
        [
            {
                "What": "Final estimator",
                before: class_words(a.final),
                after: class_words(b.final),
                CHANGED_COLUMN: _yes(c.estimator_changed),
            },
            {
                "What": "Pipeline steps",
                before: _steps_text(a),
                after: _steps_text(b),
                CHANGED_COLUMN: _yes(c.steps_changed),
            },
        ]
    )


def _settings_frame(
    settings: Sequence[SettingChange], before: str, after: str, *, first: str
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                first: s.name,
                before: setting_text(s.before, s.present[0]),
                after: setting_text(s.after, s.present[1]),
                CHANGED_COLUMN: _yes(s.changed),
            }
            for s in settings
        ],
        columns=[first, before, after, CHANGED_COLUMN],
    )


def _dataset_text(change: DatasetChange, side: int) -> str:
    sha, name, rows = (
        (change.before_sha256, change.before_name, change.before_rows)
        if side == 0
        else (change.after_sha256, change.after_name, change.after_rows)
    )
    if sha is None:
        return DASH
    return f"{name} · {rows:,} rows · SHA-256 {sha[:16]}"


def _data_frame(c: VersionComparison, before: str, after: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Data": sentence_case(d.role),
                before: _dataset_text(d, 0),
                after: _dataset_text(d, 1),
                CHANGED_COLUMN: _yes(d.changed),
            }
            for d in c.data
        ]
    )


def _metrics_frame(c: VersionComparison, before: str, after: str) -> pd.DataFrame:
    rows = []
    for m in c.metrics:
        change = m.change
        rows.append(
            {
                "Metric": sentence_case(m.label),
                before: format_estimate(m.before) if c.before.evidence_sha256 else "no evidence",
                after: format_estimate(m.after) if c.after.evidence_sha256 else "no evidence",
                "Change": DASH if change is None else f"{change:+.3f}",
                VERDICT_COLUMN: m.verdict.value,
            }
        )
    return pd.DataFrame(rows, columns=["Metric", before, after, "Change", VERDICT_COLUMN])


def _table(frame: pd.DataFrame, *, only_changed: bool = False) -> None:
    if only_changed and CHANGED_COLUMN in frame:
        frame = frame[frame[CHANGED_COLUMN] == "yes"]
    frame = frame.map(plain_text)  # a dash for nothing, never "None"
    styled = (
        frame.style.map(lambda v: _VERDICT_STYLE.get(v, ""), subset=[VERDICT_COLUMN])
        if VERDICT_COLUMN in frame
        else frame
    )
    st.dataframe(styled, hide_index=True, width="stretch")


def _features(c: VersionComparison) -> None:
    words = c.vocabulary.feature
    for label, names in (
        ("Features added", c.features_added),
        ("Features removed", c.features_removed),
    ):
        shown = ", ".join(words(n) for n in names)
        st.markdown(f"**{label}:** {escape_markdown(shown) if shown else DASH}")
    st.caption(f"{len(c.features_kept)} feature(s) in both versions.")


def _technical(c: VersionComparison) -> None:
    with st.expander("Technical details", icon=":material/code:"):
        for side in (c.before, c.after):
            st.markdown(
                f"**{escape_markdown(side.label)}**: "
                f"`{escape_markdown(side.structure.final or DASH)}`; performance evidence "
                f"{escape_markdown(side.evidence_sha256[:16] if side.evidence_sha256 else DASH)}"
            )
        moved = [
            f"{word} {', '.join(names)}"
            for word, names in (("added", c.features_added), ("removed", c.features_removed))
            if names
        ]
        st.markdown(
            "Feature columns " + escape_markdown("; ".join(moved) if moved else "unchanged")
        )


def _pick(versions: Sequence[VersionSummary]) -> tuple[int, int]:
    numbers = [v.version for v in versions]
    c1, c2 = st.columns(2)
    label = {v.version: f"v{v.version} ({v.stage})" for v in versions}
    before = c1.selectbox(
        "Compare version", numbers, index=1, key="cmp_left", format_func=label.__getitem__
    )
    after = c2.selectbox(
        "with version", numbers, index=0, key="cmp_right", format_func=label.__getitem__
    )
    by_number = {v.version: v.version_id for v in versions}
    return by_number[before], by_number[after]


def _show(c: VersionComparison, before: ComparedVersion, after: ComparedVersion) -> None:
    a, b = f"v{before.version}", f"v{after.version}"
    st.markdown("\n".join(f"- {escape_markdown(line)}" for line in _summary(c)))
    for note in c.notes:
        st.warning(escape_markdown(note), icon=":material/compare_arrows:")
    only = st.toggle("Only what changed", key="cmp_only")
    st.subheader("Model")
    _table(_model_frame(c, a, b), only_changed=only)
    final = escape_markdown(class_words(after.structure.final))
    st.markdown(f"**Hyperparameters of the final estimator** ({final})")
    _table(_settings_frame(c.hyperparameters, a, b, first="Setting"), only_changed=only)
    st.subheader("Features")
    _features(c)
    st.subheader("Data")
    _table(_data_frame(c, a, b), only_changed=only)
    st.subheader("Performance")
    _table(_metrics_frame(c, a, b))
    st.caption(
        f"Each version's newest performance evidence; change = {b} minus {a}. Better or worse "
        "only where the two 95% intervals do not overlap; overlapping intervals are no clear "
        "change."
    )
    with st.expander("Library versions", icon=":material/inventory:"):
        _table(_settings_frame(c.environment, a, b, first="Library"), only_changed=only)
    _technical(c)


def render_compare_tab(versions: Sequence[VersionSummary]) -> None:
    """The tab's content for a model's versions (newest first)."""
    if len(versions) < 2:
        st.info("Only one version so far; a comparison needs two.")
        return
    before_id, after_id = _pick(versions)
    if before_id == after_id:
        st.info("Pick two different versions to see what changed.")
        return
    comparison = attempt(
        lambda s: compare_versions(session=s, before_id=before_id, after_id=after_id)
    )
    if comparison is not None:
        _show(comparison, comparison.before, comparison.after)

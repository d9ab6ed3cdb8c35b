"""Explanation evidence of a model version: SHAP values and partial dependence, stored once.

``compute_explanation`` reads the version's model (through its adapter, so the explanation is
about the registered positive class), evaluation and training data (each checked against the
hash recorded at registration), explains the model on a seeded, label-stratified sample
(:func:`core.metrics.explain.explain_model`), adds partial dependence and ICE curves for the
top features (:func:`core.metrics.pdp.partial_dependence_curves`), and stores ONE evidence row
of kind "explanation" holding everything the Explanations page and reports show. Nothing is
stored when additivity fails. It is slow for big forests, so pages and the CLI run it as a
background job (``submit_explanation``, then a worker calls ``run_explanation_job``).
"""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import Session

from core.db import session_scope
from core.errors import InputProblems
from core.files.sandbox import preload, run_limited
from core.metrics.explain import (
    ExplainInputError,
    ExplanationResult,
    Progress,
    explain_model,
)
from core.metrics.pdp import partial_dependence_curves
from core.services.evidence.explanation_inputs import (
    ExplanationInputs,
    input_rows,
    load_inputs,
    read_inputs,
)
from core.services.evidence.inputs import UNKNOWN_VERSION
from core.services.evidence.store import StoredEvidence, store_evidence
from core.services.jobs import JobContext, submit_job
from core.services.permissions import EVIDENCE_ROLES, Actor, require_role
from core.tables import Job, ModelVersion

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_ROWS",
    "EXPLANATION",
    "TOP_FEATURES",
    "ExplanationInputs",
    "compute_explanation",
    "explanation_summary",
    "load_inputs",
    "parameter_problems",
    "run_explanation_job",
    "submit_explanation",
]

EXPLANATION = "explanation"
DEFAULT_ROWS = 2000
DEFAULT_BACKGROUND = 100
#: Features with dependence plots, partial dependence curves and a stability rank check.
TOP_FEATURES = 6
# Fixed settings of the computation, stored with the evidence (they change the numbers).
_SETTINGS = {
    "top_k": TOP_FEATURES,
    "n_boot": 200,
    "max_points": 1000,
    "stability_rows": 200,
    "rank_tolerance": 2,
    "max_evals": 500,
    "pdp_grid_resolution": 20,
    "pdp_ice_rows": 50,
    "pdp_max_rows": 1000,
}

BAD_PARAMETER = "{name} must be {expected}; got {value!r}."
UNKNOWN_PARAMETERS = "Unknown explanation job parameters {names}; use rows, seed and background."
NOT_STORED = (
    "No explanation evidence was stored for version {version}: the SHAP values do not add up "
    "to the model's output, so they cannot be trusted."
)
PDP_FAILED = "No partial dependence curve for {feature!r}: {problem}"


def parameter_problems(**values: Any) -> list[str]:
    """Rows (at least 2), seed (at least 0) and background (at least 1) must be integers."""
    minimum = {"rows": 2, "seed": 0, "background": 1}
    return [
        BAD_PARAMETER.format(
            name=name.capitalize(),
            expected=f"a whole number of at least {minimum[name]}",
            value=value,
        )
        for name, value in values.items()
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum[name])
    ]


def _within(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A progress callback that maps [0, 1] onto [start, end] of ``progress``."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (end - start) * fraction, message)


def _partial_dependence(
    data: ExplanationInputs, features: tuple[str, ...], seed: int, progress: Progress | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Curves for each feature; a feature whose curve fails gets a note, not a refusal."""
    X, X_train = data.X, data.X_train
    curves, notes = [], []
    for i, feature in enumerate(features):
        if progress is not None:
            progress(i / max(len(features), 1), f"Partial dependence of {feature}")
        try:
            (curve,) = partial_dependence_curves(
                model=data.adapter,
                X=X,
                features=[feature],
                X_train=X_train,
                grid_resolution=_SETTINGS["pdp_grid_resolution"],
                ice_rows=_SETTINGS["pdp_ice_rows"],
                max_rows=_SETTINGS["pdp_max_rows"],
                seed=seed,
            )
        except ExplainInputError as err:
            notes += [PDP_FAILED.format(feature=feature, problem=p) for p in err.problems]
            continue
        curves.append(curve.to_dict())
    return curves, notes


def _status(result: ExplanationResult) -> str:
    return "warning" if result.stability.unstable_features else "pass"


def compute_explanation(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    background: int = DEFAULT_BACKGROUND,
    progress: Progress | None = None,
) -> StoredEvidence:
    """Explain a version and store the result as one "explanation" evidence row.

    Parameters
    ----------
    actor
        Who computes (needs one of ``EVIDENCE_ROLES``), or OPERATOR.
    rows
        Evaluation rows explained at most: a sample stratified by the label, drawn with ``seed``.
    background
        Background rows for the linear and permutation explainers (TreeSHAP needs none).
    progress
        ``progress(fraction, message)``; only called while no transaction of ``session`` is
        open, so a callback may write in its own transaction even on SQLite (one writer).

    The session's transaction is committed once after the database rows are read and before
    the files are read, the model loaded and explained, to release SQLite's only write lock (the one named exception to "services
    flush, the edge commits"); the evidence row is then flushed, and the caller commits.

    Returns
    -------
    StoredEvidence
        Status "pass", or "warning" when a top feature's rank is unstable. The same inputs,
        settings and seed in the same environment give the same numbers, hence the same row
        (``reproduced`` is then True). Raises InputProblems, and stores nothing, when the
        SHAP values fail the additivity check.

    The results hold the explanation (importances with intervals, beeswarm points for at most
    1,000 rows, dependence data, stability, provenance, notes: see
    :class:`core.metrics.explain.ExplanationResult`) and ``partial_dependence``: PD and ICE
    curves of the top features with the training range marked.
    """
    require_role(session, actor, "compute evidence", *EVIDENCE_ROLES)
    if problems := parameter_problems(rows=rows, seed=seed, background=background):
        raise InputProblems(problems)
    records = input_rows(session, version_id)
    what = f"the model of version {version_id}"
    # Commit before the slow part (hashing files, loading the model in the sandbox, explaining
    # it): on SQLite an open transaction holds the only write lock, which the progress callback,
    # the health check and every other user would otherwise wait for.
    session.commit()
    data = read_inputs(records)
    started = time.perf_counter()
    if progress is not None:
        progress(0.02, "Model and data loaded")
    result = run_limited(
        explain_model,
        what=what,
        model=data.adapter,
        X=data.X,
        y=data.y,
        X_train=data.X_train,
        max_rows=rows,
        background_size=background,
        seed=seed,
        top_k=_SETTINGS["top_k"],
        n_boot=_SETTINGS["n_boot"],
        max_points=_SETTINGS["max_points"],
        stability_rows=_SETTINGS["stability_rows"],
        rank_tolerance=_SETTINGS["rank_tolerance"],
        max_evals=_SETTINGS["max_evals"],
        progress=_within(progress, 0.02, 0.85),
    )
    if result.failures:
        raise InputProblems([NOT_STORED.format(version=data.version.id), *result.failures])
    curves, pdp_notes = run_limited(
        _partial_dependence,
        data,
        result.top_features,
        seed,
        what=what,
        progress=_within(progress, 0.85, 0.98),
    )
    results = result.to_dict()
    results["notes"] = [*data.notes, *results["notes"], *pdp_notes]
    results["partial_dependence"] = curves
    seconds = time.perf_counter() - started
    if progress is not None:
        progress(0.99, "Storing the evidence")
    stored = store_evidence(
        session=session,
        actor=actor,
        version=data.version,
        kind=EXPLANATION,
        inputs=data.inputs,
        config={"rows": rows, "seed": seed, "background": background, **_SETTINGS},
        results=results,
        status=_status(result),
        seconds=seconds,
    )
    return stored


def submit_explanation(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    background: int = DEFAULT_BACKGROUND,
) -> Job:
    """Queue an explanation job for a version (or return the identical one already waiting).

    Checks the version and parameters now, so mistakes are reported to the person asking, not
    later in the job. Flushes in the caller's transaction; a worker runs the job.
    """
    require_role(session, actor, "compute evidence", *EVIDENCE_ROLES)
    problems = parameter_problems(rows=rows, seed=seed, background=background)
    if session.get(ModelVersion, version_id) is None:
        problems.insert(0, UNKNOWN_VERSION.format(version_id=version_id))
    if problems:
        raise InputProblems(problems)
    return submit_job(
        session=session,
        actor=actor,
        kind=EXPLANATION,
        version_id=version_id,
        params={"rows": rows, "seed": seed, "background": background},
    )


def run_explanation_job(ctx: JobContext) -> int:
    """Job handler for kind "explanation": compute and store, return the evidence id.

    ``ctx.params`` may set rows, seed and background; progress goes to the job row.
    """
    params = dict(ctx.params)
    if unknown := sorted(set(params) - {"rows", "seed", "background"}):
        raise InputProblems([UNKNOWN_PARAMETERS.format(names=unknown)])
    if ctx.version_id is None:
        raise InputProblems(["An explanation job needs a model version."])
    with session_scope() as session:
        actor = ctx.actor(session)
        stored = compute_explanation(
            session=session,
            actor=actor,
            version_id=ctx.version_id,
            rows=params.get("rows", DEFAULT_ROWS),
            seed=params.get("seed", 0),
            background=params.get("background", DEFAULT_BACKGROUND),
            progress=ctx.progress,
        )
    return stored.id


def explanation_summary(stored: StoredEvidence) -> dict[str, Any]:
    """What the CLI prints: identity, explainer, additivity, stability and global importance."""
    results = stored.results
    provenance = results["provenance"]
    stability = results["stability"]
    return {
        "evidence_id": stored.id,
        "version_id": stored.version_id,
        "sha256": stored.sha256,
        "status": stored.status,
        "reproduced": stored.reproduced,
        "explainer": provenance["explainer"],
        "explainer_class": provenance["explainer_class"],
        "feature_perturbation": provenance["feature_perturbation"],
        "output_space": results["output_space"],
        "output_label": results["output_label"],
        "rows_explained": provenance["sample_size"],
        "rows_available": provenance["rows_available"],
        "background_size": provenance["background_size"],
        "seed": provenance["seed"],
        "sample_sha256": provenance["sample_sha256"],
        "additivity_max_error": results["additivity_max_error"],
        "additivity_tolerance": results["additivity_tolerance"],
        "global_importance": [
            {k: item[k] for k in ("feature", "rank", "mean_abs_shap", "ci_low", "ci_high")}
            for item in results["global_importance"]
        ],
        "stability": {
            k: stability[k] for k in ("method", "top_features", "kendall_tau", "min_kendall_tau")
        }
        | {"unstable_features": stability["unstable_features"]},
        "notes": results["notes"],
    }


preload(__name__)  # children run explanations from this module

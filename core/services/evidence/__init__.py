"""Evidence about a model version: performance, fairness and explanations, stored immutably.

A computation reads the version's artifact and evaluation data (both checked against the content
hashes recorded at registration), reads the model through its adapter
(:mod:`core.files.adapter`: features, THE positive class, output space), computes, and stores
one ``Evidence`` row whose SHA-256 covers inputs, configuration (seed included), environment
and results. Pages and reports read stored evidence; nobody recomputes to show it.

Modules: ``inputs`` (reading and checking a version's inputs, who may compute or read them),
``store`` (storing and reading evidence), ``evaluate`` (performance and fairness),
``explanations`` (SHAP and partial dependence, as a job), ``decisions`` (applicant-level
reads: row search and one decision explained), ``overview`` (the portfolio at a glance).
Services here flush; the edge commits. The one named exception: ``compute_explanation``
commits once before its long computation, to release SQLite's only write lock.
"""

from core.services.evidence.decisions import explain_decision, search_rows
from core.services.evidence.evaluate import (
    Evaluation,
    evaluate_version,
    performance_checks,
    roc_points,
)
from core.services.evidence.explanations import (
    DEFAULT_BACKGROUND,
    DEFAULT_ROWS,
    EXPLANATION,
    TOP_FEATURES,
    compute_explanation,
    explanation_summary,
    run_explanation_job,
    submit_explanation,
)
from core.services.evidence.inputs import (
    APPLICANT_DATA_ROLES,
    EVIDENCE_ROLES,
    UNKNOWN_VERSION,
    checked_file,
    feature_frame,
    get_version,
    load_evaluation_data,
    load_version_model,
    predictions,
    require_applicant_access,
    version_adapter,
)
from core.services.evidence.overview import EVIDENCE_KINDS, evidence_overview
from core.services.evidence.store import (
    StoredEvidence,
    evidence_for_version,
    evidence_hash,
    get_evidence,
    latest_evidence,
    store_evidence,
    verify_evidence,
)

__all__ = [
    "APPLICANT_DATA_ROLES",
    "DEFAULT_BACKGROUND",
    "DEFAULT_ROWS",
    "EVIDENCE_KINDS",
    "EVIDENCE_ROLES",
    "EXPLANATION",
    "TOP_FEATURES",
    "UNKNOWN_VERSION",
    "Evaluation",
    "StoredEvidence",
    "checked_file",
    "compute_explanation",
    "evaluate_version",
    "evidence_for_version",
    "evidence_hash",
    "evidence_overview",
    "explain_decision",
    "explanation_summary",
    "feature_frame",
    "get_evidence",
    "get_version",
    "latest_evidence",
    "load_evaluation_data",
    "load_version_model",
    "performance_checks",
    "predictions",
    "require_applicant_access",
    "roc_points",
    "run_explanation_job",
    "search_rows",
    "store_evidence",
    "submit_explanation",
    "verify_evidence",
    "version_adapter",
]

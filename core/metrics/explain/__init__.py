"""SHAP explanations of a fitted model: global importance, summary, dependence, one decision.

A fitted model (or a model view with its positive class decided, such as
``core.files.adapter.ModelAdapter``) and DataFrames in, frozen result dataclasses out; no
database, no files.

The explainer follows the model, and the result records which one produced every number:

- tree models (scikit-learn decision trees, random forests, extra trees, gradient boosting,
  histogram gradient boosting; LightGBM and XGBoost when installed) use exact TreeSHAP,
  ``shap.TreeExplainer(feature_perturbation="tree_path_dependent")``. It weighs the trees by
  the training cover stored in them, so it needs no background sample, is deterministic and is
  as fast as shap itself (the interventional variant is slower by the background size);
- linear models (alone or at the end of a ``Pipeline``) use exact interventional linear SHAP,
  ``coef * (z - mean(background z))`` in the model's transformed feature space, which is what
  ``shap.LinearExplainer`` computes, without its overhead;
- anything else, and any model the exact explainers cannot handle, uses shap's permutation
  explainer with a small seeded background sample. The kernel explainer is never used.

Pipelines are explained in their ORIGINAL input columns: the SHAP values of the transformed
features (for instance the outputs of a ``OneHotEncoder``) are summed back to the input column
they came from, which keeps additivity and is what a subject matter expert can read.

Every number is about the positive class: ``classes_[1]`` of a bare binary classifier, or the
model view's ``positive_index`` (margins are negated when that is ``classes_[0]``).

SHAP values show association with the model's output, not causation. A what-if row outside
the training range is explained, but flagged as unreliable.

Modules: ``model`` (explain_model, compute_shap_values), ``decision`` (explain_row),
``results`` (result types), ``messages`` (every sentence), ``plan`` (explainer and output
space), ``explainers``, ``columns`` (pipeline column maps), ``checks``, ``summaries``,
``common``.
"""

from core.metrics.explain.common import (
    ADDITIVITY_TOLERANCE,
    LOG_ODDS,
    PROBABILITY,
    RAW,
    ExplainInputError,
    ModelView,
    Progress,
)
from core.metrics.explain.decision import explain_row
from core.metrics.explain.messages import (
    ALL_MISSING,
    BAD_PARAMETER,
    CONSTANT_NOTE,
    EXTRA_COLUMNS_NOTE,
    FALLBACK_NOTE,
    MISSING_COLUMNS,
    MODEL_FAILED,
    MULTICLASS,
    OUTSIDE_RANGE,
    ROW_MISSING,
    ROW_NOT_A_NUMBER,
    ROW_UNKNOWN,
    TEXT_COLUMN,
    UNMAPPED_NOTE,
    UNSEEN_CATEGORY,
)
from core.metrics.explain.model import compute_shap_values, explain_model
from core.metrics.explain.results import (
    Contribution,
    DecisionExplanation,
    DependenceData,
    ExplanationResult,
    FeatureImportance,
    FeaturePoints,
    OperatingRange,
    Provenance,
    ShapValues,
    StabilityReport,
    operating_range,
)

__all__ = [
    "ADDITIVITY_TOLERANCE",
    "ALL_MISSING",
    "BAD_PARAMETER",
    "CONSTANT_NOTE",
    "EXTRA_COLUMNS_NOTE",
    "FALLBACK_NOTE",
    "LOG_ODDS",
    "MISSING_COLUMNS",
    "MODEL_FAILED",
    "MULTICLASS",
    "OUTSIDE_RANGE",
    "PROBABILITY",
    "RAW",
    "ROW_MISSING",
    "ROW_NOT_A_NUMBER",
    "ROW_UNKNOWN",
    "TEXT_COLUMN",
    "UNMAPPED_NOTE",
    "UNSEEN_CATEGORY",
    "Contribution",
    "DecisionExplanation",
    "DependenceData",
    "ExplainInputError",
    "ExplanationResult",
    "FeatureImportance",
    "FeaturePoints",
    "ModelView",
    "OperatingRange",
    "Progress",
    "Provenance",
    "ShapValues",
    "StabilityReport",
    "compute_shap_values",
    "explain_model",
    "explain_row",
    "operating_range",
]

"""Every sentence of the explanations: problems (ExplainInputError) and notes recorded in results."""

from __future__ import annotations

NOT_A_DATAFRAME = (
    "{name} is a {kind}, not a pandas DataFrame; pass the feature columns as a DataFrame "
    "with the column names used in training."
)


NO_ROWS = "{name} has no rows; pass at least one row."


MISSING_COLUMNS = (
    "Feature columns the model was trained on are missing from {name}: {missing}; "
    "add them with the names used in training."
)


WRONG_COLUMN_COUNT = (
    "{name} has {found} columns but the model expects {expected}; "
    "pass exactly the training features, in training order."
)


ALL_MISSING = (
    "Feature column {column!r} in {name} has no values (all {n} missing); SHAP needs observed "
    "values, so fill the column or retrain the model without it."
)


TEXT_COLUMN = (
    "Feature column {column!r} in {name} holds text (e.g. {example!r}) that the model cannot "
    "take (the model said: {error}); encode it inside the model's pipeline (e.g. with a "
    "OneHotEncoder) or leave it out of the model."
)


MODEL_FAILED = (
    "The model failed on the background data ({rows} rows of {source}); the model said: "
    "{error}. Check that the data has the columns and types the model was trained on."
)


MODEL_FAILED_ON_ROWS = (
    "The model failed on {name} ({rows} rows); the model said: {error}. Check that the data "
    "has the columns and types the model was trained on."
)


NOT_FITTED = "The model is not fitted ({error}); fit it before asking for explanations."


NOT_A_MODEL = (
    "The model is a {kind} without predict(); pass a fitted scikit-learn style estimator "
    "or Pipeline."
)


MULTICLASS = (
    "The model has {n} classes ({classes}); explanations cover binary classifiers and "
    "regressors, so explain one class against the rest with a binary model."
)


Y_LENGTH = "The labels y have {ny} values but X has {nx} rows; pass one label per row of X."


BAD_PARAMETER = "Parameter {name} must be {expected}; got {value!r}."


ROW_MISSING = "The row has no value for feature columns {missing}; give a value for every one."


ROW_UNKNOWN = "The row has values for columns the model does not use: {extra}; remove them."


ROW_NOT_A_NUMBER = "Feature {column!r} of the row needs a number; got {value!r}."


ROW_NOT_A_ROW = "The row is a {kind}; pass a mapping of column to value or a pandas Series."


CONSTANT_NOTE = (
    "Feature {column!r} has a single value ({value}) in the evaluation data: it cannot explain "
    "differences between these rows, and its SHAP values are 0 wherever the background "
    "shares that value."
)


EXTRA_COLUMNS_NOTE = "Columns not used by the model were left out: {extra}."


DROPPED_COLUMN_NOTE = (
    "Feature {column!r} is dropped by the model's preprocessing; its SHAP values are 0."
)


FALLBACK_NOTE = (
    "SHAP's {kind} explainer cannot handle this {model} ({error}); used the permutation "
    "explainer instead (sampled, exact in additivity but not in the individual values)."
)


UNMAPPED_NOTE = (
    "The preprocessing step {step} cannot be traced back to the input columns; used the "
    "permutation explainer on the whole pipeline so that SHAP values refer to input columns."
)


AGNOSTIC_NOTE = (
    "No exact SHAP explainer for {model}; used the model-agnostic permutation explainer "
    "({max_evals} model evaluations per row, background of {background} rows)."
)


LOG_LINK_NOTE = (
    "{model} with loss {loss!r} predicts through a log link that TreeSHAP does not "
    "reproduce; used the permutation explainer on predict() instead."
)


NO_BACKGROUND_VARIATION_NOTE = (
    "The background pool has only {rows} rows (background size {size}), so every background "
    "sample is the same; stability was measured on bootstrap resamples of the explained rows."
)


ADDITIVITY_FAILURE = (
    "Additivity check failed: base value + sum of SHAP values differs from the model output "
    "by up to {error:.3g} ({space}), above the tolerance {tolerance:g}; do not use these SHAP "
    "values as evidence."
)


NOT_STRATIFIED_NOTE = (
    "The evaluation data has {rows} rows, above max_rows={max_rows}; a random sample was "
    "explained (no labels were given to stratify by)."
)


OUTSIDE_RANGE = (
    "{label} {value} is outside the training range ({low} to {high}); the explanation is "
    "unreliable there."
)


UNSEEN_CATEGORY = "{label} {value} was not seen in training; the explanation is unreliable there."


RANGE_FROM_BACKGROUND_NOTE = (
    "No training data was given; the operating boundaries come from {source}."
)


DRIVER = "{label} {value} {verb} the {outcome} {rank}."


DRIVER_RANKS = ("the most", "the second most", "the third most")


STABILITY_BOOTSTRAP = (
    "Path-dependent TreeSHAP does not use a background sample, so stability varies the "
    "explained rows instead: global importance recomputed on {runs} seeded bootstrap "
    "resamples of the explained rows."
)


STABILITY_BACKGROUND = (
    "Global importance recomputed with {runs} background samples drawn with other seeds, "
    "on {rows} of the explained rows."
)


STABILITY_BOOTSTRAP_FALLBACK = (
    "Global importance recomputed on {runs} seeded bootstrap resamples of the explained rows."
)

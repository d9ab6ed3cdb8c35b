"""The model card's fields, in the words regulators use; kept apart so that the policy service
can name them without importing the inventory services."""

from __future__ import annotations

__all__ = ["CARD_DATE_FIELDS", "CARD_FIELDS"]

# The model card, in the words regulators use (SR 11-7 / SR 26-2, PRA SS1/23, EU AI Act Annex IV,
# Model Cards). Order is the order shown.
CARD_FIELDS: dict[str, str] = {
    "purpose": "Purpose",
    "business_unit": "Business unit",
    "tags": "Tags",
    "intended_use": "Intended use",
    "out_of_scope_uses": "Out-of-scope uses",
    "restrictions": "Restrictions on use",
    "users_and_consumers": "Users and consuming systems",
    "business_objective": "Business objective",
    "kpis": "KPIs",
    "baseline": "Baseline it is compared against (the rule, manual process or previous model it replaces)",
    "kpi_targets": "KPI targets (how each is measured, which way is better, baseline value, hurdle)",
    "assumptions_limitations": "Assumptions and limitations",
    "inputs": "Inputs (name, type, source)",
    "outputs": "Outputs and their use",
    "upstream_models": "Upstream models it depends on",
    "downstream_models": "Downstream models it feeds",
    "owner": "Owner",
    "developer": "Developer",
    "validator": "Validator",
    "validation_done": "Validation done (date)",
    "validation_planned": "Validation planned (date)",
    "validity_horizon": "Expected validity horizon",
    "exceptions_to_policy": "Exceptions to policy",
    "vocabulary": "Business language (display names and descriptions)",
}
#: Card fields that hold a day, stored as ``YYYY-MM-DD`` text (the editor offers a date picker).
CARD_DATE_FIELDS: tuple[str, ...] = ("validation_done", "validation_planned", "validity_horizon")

"""The demo's wider portfolio: twelve more models across business units, tiers and stages.

A risk manager's dashboard means something only over a portfolio: models in production and
retired, reviews waiting, gates submitted, rejected and approved, teams that pass first time
and teams that do not. These models are small logistic regressions on the demo's synthetic
applications, standing in for each team's model (their cards say so); every one goes through
the real services: registration, evidence, the risk questionnaire, signed gate acts and
promotion, so nothing on the dashboard could have been reached by skipping a step.
Deterministic: the same demo files give the same portfolio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sqlmodel import Session, select

from core.demo.data import FEATURES, SENSITIVE, TARGET, DemoFiles, preprocessor
from core.demo.gates import DemoAct, sign_demo_act
from core.demo.risk import DEMO_ANSWERS
from core.rules.gates import Act
from core.services.evidence import evaluate_version
from core.services.inventory import promote_version, register_version
from core.services.permissions import OPERATOR
from core.services.risk import assess_model, find_model
from core.tables import User, utcnow

__all__ = ["PORTFOLIO", "PortfolioModel", "seed_portfolio", "write_portfolio_models"]

# The questionnaire answers that give each tier under the shipped method.
_CRITICAL = DEMO_ANSWERS["credit-gbm"][0] | {
    "consumers": "public",
    "deployment_context": "public_web",
    "decisions_about_people": "direct",
    "impact": "personal_harm",
    "impact_size": "severe",
    "exposure": "over_1b",
    "availability": "real_time",
    "method_complexity": "deep",
    "interpretability": "opaque",
    "data_complexity": "unstructured",
}
ANSWERS: dict[str, dict[str, str]] = {
    # Low, but an internal batch system rather than a self-service analysis: it has a
    # deployment gate to sign before production.
    "low": DEMO_ANSWERS["credit-forest"][0]
    | {"deployment_context": "internal_system", "availability": "batch"},
    "medium": DEMO_ANSWERS["credit-logit"][0],
    "high": DEMO_ANSWERS["credit-gbm"][0],
    "critical": _CRITICAL,
}
STAND_IN = (
    "Demo stand-in: a logistic regression on Gatehouse's synthetic credit applications, "
    "registered to show a portfolio; its card describes the team's real use."
)

# Acts that take a low-tier model through to production (or part of the way).
_LOW_TO_QA = (
    ("business_scoping", Act.submit, "sam", "The team asked for it."),
    ("business_scoping", Act.approve, "olivia", "Worth building."),
    ("development", Act.submit, "devi", "Performance evidence computed."),
    ("development", Act.approve, "olivia", "Fit for a trial."),
)
_LOW_TO_PRODUCTION = (
    *_LOW_TO_QA,
    ("deployment", Act.submit, "milo", "Batch job scheduled, rollback tested."),
    ("deployment", Act.approve, "olivia", "Go live."),
)
_SCOPING_SUBMITTED = (("business_scoping", Act.submit, "sam", "Scope agreed with the team."),)
_SCOPING_APPROVED = (
    *_SCOPING_SUBMITTED,
    ("business_scoping", Act.approve, "olivia", "Scope is sound."),
)


@dataclass(frozen=True)
class PortfolioModel:
    """One portfolio model: its team, card, tier, the acts signed on it and its stages."""

    name: str
    unit: str
    purpose: str
    intended_use: str
    objective: str
    tier: str
    stages: tuple[str, ...] = ()
    acts: tuple[tuple[str, Act, str, str], ...] = ()
    #: Days since the owner answered the risk questionnaire (a long time: review overdue).
    assessed_days_ago: int = 30
    regularisation: float = 1.0

    @property
    def needs_evidence(self) -> bool:
        return any(gate == "development" for gate, *_ in self.acts)


PORTFOLIO: tuple[PortfolioModel, ...] = (
    PortfolioModel(
        "card-fraud-rules", "Fraud", "Flag card transactions for a fraud analyst's review.",
        "Queue suspicious transactions for analysts; never blocks a card by itself.",
        "Catch more fraud with the same analyst hours.", "low",
        stages=("qa", "production"), acts=_LOW_TO_PRODUCTION, regularisation=0.5,
    ),
    PortfolioModel(
        "fraud-screen", "Fraud", "Score online applications for identity fraud in real time.",
        "Decline or refer applications at the point of sale.",
        "Cut identity-fraud losses on the public web channel.", "critical",
        acts=_SCOPING_SUBMITTED, regularisation=0.8,
    ),
    PortfolioModel(
        "churn-propensity", "Marketing", "Rank customers by their chance of leaving next quarter.",
        "Choose whom the retention team calls first.",
        "Keep more customers for the same retention budget.", "low",
        stages=("qa", "production"), acts=_LOW_TO_PRODUCTION, regularisation=2.0,
    ),
    PortfolioModel(
        "marketing-response", "Marketing", "Predict who answers a card offer mailing.",
        "Pick the mailing list of a campaign.", "Raise response per letter sent.", "low",
        stages=("qa",), acts=_LOW_TO_QA, regularisation=0.3,
    ),
    PortfolioModel(
        "collections-priority", "Collections", "Order overdue accounts for the first call.",
        "Sort the collectors' call list each morning.",
        "Recover more in the first 30 days past due.", "medium",
        acts=_SCOPING_APPROVED, regularisation=1.5,
    ),
    PortfolioModel(
        "early-arrears", "Collections", "Warn of accounts likely to miss the next payment.",
        "Offer help to customers before they fall behind.",
        "Fewer accounts reaching 30 days past due.", "medium",
        acts=(
            *_SCOPING_SUBMITTED,
            ("business_scoping", Act.reject, "olivia", "State the KPIs and the baseline first."),
            ("business_scoping", Act.submit, "sam", "KPIs and the manual baseline now stated."),
            ("business_scoping", Act.approve, "olivia", "Clear now."),
        ),
        regularisation=0.7,
    ),
    PortfolioModel(
        "claims-triage", "Insurance", "Route motor claims to fast-track or investigation.",
        "Suggest a route to the claims handler, who decides.",
        "Settle simple claims within a week.", "high",
        acts=_SCOPING_SUBMITTED, assessed_days_ago=420, regularisation=1.2,
    ),
    PortfolioModel(
        "pricing-elasticity", "Insurance", "Estimate how renewals respond to a price change.",
        "Inform the annual pricing review.", "Price renewals without losing good risks.",
        "medium", stages=("retired",), regularisation=0.9,
    ),
    PortfolioModel(
        "liquidity-forecast", "Treasury", "Forecast the next day's net cash outflow band.",
        "Size the liquidity buffer held overnight.", "Hold no more buffer than needed.",
        "high", regularisation=3.0,
    ),
    PortfolioModel(
        "staff-attrition", "HR analytics", "Estimate which teams risk losing staff this year.",
        "Plan hiring and retention budgets per team; never about one person.",
        "Fewer unplanned vacancies.", "medium",
        acts=(
            *_SCOPING_SUBMITTED,
            ("business_scoping", Act.reject, "olivia", "Show how no one person is ever scored."),
        ),
        regularisation=0.6,
    ),
    PortfolioModel(
        "mortgage-affordability", "Consumer lending",
        "Assess whether a mortgage stays affordable under rate rises.",
        "Give underwriters a stress-tested affordability verdict.",
        "Lend only what customers can repay when rates rise.", "critical",
        acts=(
            *_SCOPING_SUBMITTED,
            ("business_scoping", Act.opinion, "carla", "Affordability rules apply; cite them."),
        ),
        regularisation=1.1,
    ),
    PortfolioModel(
        "branch-footfall", "Operations", "Forecast visitors per branch and hour.",
        "Staff branch counters.", "Shorter queues with the same staff.", "low",
        stages=("qa", "production", "retired"), acts=_LOW_TO_PRODUCTION, regularisation=0.4,
    ),
)  # fmt: skip


def write_portfolio_models(files: DemoFiles, folder: Path) -> dict[str, Path]:
    """Fit and write one skops file per portfolio model (deterministic for the demo files)."""
    folder.mkdir(parents=True, exist_ok=True)
    train = pd.read_csv(files.train_csv)
    X, y = train[list(FEATURES)], train[TARGET].to_numpy()
    paths = {}
    for spec in PORTFOLIO:
        estimator = LogisticRegression(C=spec.regularisation, max_iter=2_000)
        model = Pipeline([("prepare", preprocessor()), ("model", estimator)]).fit(X, y)
        paths[spec.name] = folder / f"{spec.name}.skops"
        skops.io.dump(model, paths[spec.name])
    return paths


def _card(spec: PortfolioModel) -> dict[str, Any]:
    return {
        "purpose": spec.purpose,
        "business_unit": spec.unit,
        "intended_use": spec.intended_use,
        "business_objective": spec.objective,
        "kpis": spec.objective,
        "assumptions_limitations": STAND_IN,
        "owner": "olivia",
        "developer": "devi",
        "tags": ["portfolio", spec.unit.lower()],
    }


def seed_portfolio(
    session: Session, files: DemoFiles, folder: Path, *, n_boot: int = 200
) -> list[dict[str, Any]]:
    """Register, assess, sign and promote the portfolio; commits after each model."""
    users: Mapping[str, User] = {u.username: u for u in session.exec(select(User)).all()}
    paths = write_portfolio_models(files, folder)
    out = []
    for spec in PORTFOLIO:
        result = register_version(
            session=session,
            actor=OPERATOR,
            name=spec.name,
            artifact=paths[spec.name],
            eval_data=files.eval_csv,
            train_data=files.train_csv,
            target=TARGET,
            sensitive=SENSITIVE,
            card=_card(spec),
            provenance=STAND_IN,
        )
        if spec.needs_evidence:
            evaluate_version(
                session=session, actor=OPERATOR, version_id=result.version_id, n_boot=n_boot
            )
        assess_model(
            session=session,
            actor=users["olivia"],
            model_id=find_model(session, spec.name).id or 0,
            answers=ANSWERS[spec.tier],
            at=utcnow() - timedelta(days=spec.assessed_days_ago),
        )
        session.commit()
        for gate, act, who, comment in spec.acts:
            # The portfolio's opinions are concerns: the note a reviewer would follow up.
            opinion = "concern" if act is Act.opinion else None
            sign_demo_act(session, users, DemoAct(spec.name, gate, act, who, comment, opinion))
        for stage in spec.stages:
            promote_version(
                session=session,
                actor=users["milo"],
                version_id=result.version_id,
                stage=stage,
                reason="signed off" if stage != "retired" else "replaced by the team's new tool",
            )
        session.commit()
        stage = (spec.stages or ("development",))[-1]
        out.append({"name": spec.name, "version_id": result.version_id, "stage": stage})
    return out

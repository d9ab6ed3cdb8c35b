"""The demo: one user per role, a synthetic credit data set and models, seeded once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from core.config import get_settings
from core.db import downgrade, migrate, safe_url, session_scope
from core.demo.data import (
    DEFAULT_SEED,
    INJECTED_BIAS,
    SENSITIVE,
    TARGET,
    DemoFiles,
    write_demo_files,
)
from core.demo.findings import seed_findings
from core.demo.gates import seed_gates
from core.demo.monitoring import seed_monitoring
from core.demo.portfolio import seed_portfolio
from core.demo.risk import seed_risk
from core.errors import InputProblems
from core.services.evidence import DEFAULT_ROWS, compute_explanation, evaluate_version
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.policy import ensure_shipped_pack
from core.services.users import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, add_user
from core.tables import ModelEntry, User

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "DEMO_VOCABULARY",
    "DemoResult",
    "check_database_for_demo",
    "demo_email",
    "foreign_users",
    "register_demo_models",
    "seed_demo",
]

REAL_USERS = (
    "The database at {url} holds {users} the demo did not create ({names}); the demo would add "
    "accounts with the published password {password!r}, an admin among them, so point "
    "GATEHOUSE_DATABASE_URL at an empty database, or pass --force to seed it anyway."
)
REAL_USERS_RESET = (
    "The database at {url} holds {users} the demo did not create ({names}); --reset would drop "
    "them with everything else, so pass --force as well to reset it anyway."
)
FORCED_RESET = (
    "Dropped a database with {users} the demo did not create ({names}) to rebuild the demo; "
    "its accounts sign in with the published password {password!r}."
)
FORCED = (
    "Seeding the demo into a database with {users} it did not create ({names}): its accounts "
    "sign in with the published password {password!r}; deactivate them before real use."
)
# username, display name, role: one user per role, and a second risk manager
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("ada", "Ada Admin", "admin"),
    ("olivia", "Olivia Owner", "model_owner"),
    ("devi", "Devi Developer", "developer"),
    ("victor", "Victor Validator", "validator"),
    ("rita", "Rita Risk", "risk_manager"),
    ("sam", "Sam Subject-Expert", "sme"),
    ("carla", "Carla Compliance", "compliance"),
    ("milo", "Milo ML-Engineer", "ml_engineer"),
    ("audrey", "Audrey Auditor", "auditor"),
    # Critical models need two risk managers' approvals at validation and deployment.
    ("reza", "Reza Risk-Reviewer", "risk_manager"),
)


@dataclass(frozen=True)
class DemoResult:
    """What seeding did: whether it was already there, the logins, and any warning."""

    already_seeded: bool
    users: list[dict[str, str]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "already_seeded": self.already_seeded,
            "users": self.users,
            "models": self.models,
            "warnings": self.warnings,
        }

    def describe(self) -> str:
        head = "Demo content was already there." if self.already_seeded else "Demo content seeded."
        logins = "\n".join(f"  {u['username']:<8} {u['role']:<13} {u['name']}" for u in self.users)
        models = "\n".join(f"  {m['name']} ({m['stage']})" for m in self.models)
        return f"{head}\nDemo logins (password for all: {DEMO_PASSWORD}):\n{logins}" + (
            f"\nDemo models:\n{models}" if models else ""
        )


def _logins() -> list[dict[str, str]]:
    return [{"username": u, "name": n, "role": r} for u, n, r in DEMO_USERS]


# The demo's business language: what the columns and outcomes are called in lending.
DEMO_VOCABULARY: dict[str, Any] = {
    "target": {"name": "Loan decision", "description": "Whether the application was approved."},
    "outcomes": {"1": "approved", "0": "declined"},
    "features": {
        "income": {"name": "Annual income", "description": "Gross yearly income, from the form."},
        "debt_ratio": {
            "name": "Debt-to-income ratio",
            "description": "Monthly debt payments over monthly income, from the bureau.",
        },
        "age": {"name": "Age", "description": "Applicant's age in years."},
        "years_employed": {"name": "Years employed", "description": "Years in current work."},
        "employment": {"name": "Employment status", "description": "From the application."},
        "region": {"name": "Region", "description": "From the applicant's address."},
        "sex": {"name": "Sex", "description": "Recorded for fairness analysis only."},
        "age_band": {"name": "Age band", "description": "Recorded for fairness analysis only."},
    },
    "values": {
        "employment": {
            "employed": "Employed",
            "self_employed": "Self-employed",
            "unemployed": "Unemployed",
            "retired": "Retired",
        },
    },
}

# Each demo model: who owns, builds and validates it, its card, and the stages it is promoted
# through once its gates are signed off (core/demo/gates.py).
DEMO_MODELS: dict[str, dict[str, Any]] = {
    "credit-gbm": {
        "stages": ["qa", "preproduction", "production"],
        "card": {
            "business_unit": "Consumer lending",
            "tags": ["credit", "consumer", "champion"],
            "intended_use": "Rank consumer loan applications for approval by an underwriter.",
            "out_of_scope_uses": "Business loans; mortgages; any fully automated decline.",
            "restrictions": "A human underwriter reviews every decline.",
            "users_and_consumers": "Underwriting team; loan origination system.",
            "business_objective": "Cut default losses without lowering approvals of good applicants.",
            "kpis": "Default rate of approved loans; approval rate; time to decision.",
            "assumptions_limitations": "Trained on synthetic history with a known age bias (see the data set notes).",
            "inputs": "income (float, application form); debt_ratio (float, bureau); age (int, application); employment (category, application); years_employed (float, application); region (category, address)",
            "outputs": "Probability the applicant repays; underwriters see it as a score.",
            "owner": "olivia",
            "developer": "devi",
            "validator": "victor",
            "validity_horizon": "12 months",
        },
    },
    "credit-logit": {
        "stages": ["qa"],
        "card": {
            "business_unit": "Consumer lending",
            "tags": ["credit", "challenger", "interpretable"],
            "intended_use": "Interpretable challenger to the champion scorecard.",
            "out_of_scope_uses": "Automated decisions.",
            "business_objective": "Match the champion's default rate with a model people can read.",
            "kpis": "Default rate of approved loans; approval rate.",
            "owner": "olivia",
            "developer": "devi",
            "validator": "victor",
            "validity_horizon": "12 months",
        },
    },
    "credit-forest": {
        "stages": ["qa", "preproduction"],
        # TreeSHAP on its deep trees costs about 40 ms a row: a smaller sample keeps seeding quick.
        "explain_rows": 300,
        "card": {
            "business_unit": "Collections",
            "tags": ["credit", "experiment"],
            "intended_use": "Prioritise collection calls (exploratory).",
            "business_objective": "Reach the accounts most likely to pay first.",
            "owner": "milo",
            "developer": "devi",
        },
    },
}


def register_demo_models(
    session: Session, files: DemoFiles, *, n_boot: int = 1000, explain_rows: int | None = None
) -> list[dict[str, Any]]:
    """Register each demo model with its card and compute its evidence; the caller commits.

    ``n_boot`` and ``explain_rows`` let tests seed smaller evidence the same way.
    """
    out: list[dict[str, Any]] = []
    for name in files.model_names:
        spec = DEMO_MODELS.get(name, {"stages": [], "card": {}})
        card = {
            "purpose": files.purposes[name],
            "vocabulary": DEMO_VOCABULARY,
            **spec["card"],
        }
        result = register_version(
            session=session,
            actor=OPERATOR,
            name=name,
            artifact=files.model_paths[name],
            eval_data=files.eval_csv,
            train_data=files.train_csv,
            target=TARGET,
            sensitive=SENSITIVE,
            card=card,
            provenance=(
                "Synthetic credit applications generated by Gatehouse's demo (seed "
                f"{DEFAULT_SEED}); the label carries a deliberately injected bias: "
                f"{INJECTED_BIAS['mechanism']}"
            ),
        )
        evaluate_version(
            session=session,
            actor=OPERATOR,
            version_id=result.version_id,
            segments=["region"],
            n_boot=n_boot,
        )
        compute_explanation(
            session=session,
            actor=OPERATOR,
            version_id=result.version_id,
            rows=explain_rows or spec.get("explain_rows", DEFAULT_ROWS),
        )
        out.append(
            {
                "name": name,
                "version_id": result.version_id,
                "stage": (spec["stages"] or ["development"])[-1],
            }
        )
    return out


def demo_email(username: str) -> str:
    """The e-mail address that marks an account as made by the demo."""
    return f"{username}@{DEMO_EMAIL_DOMAIN}"


def foreign_users() -> list[str]:
    """Usernames in the configured database that the demo did not create, by name."""
    demo = {(username, demo_email(username)) for username, _, _ in DEMO_USERS}
    with session_scope() as session:
        rows = session.exec(select(User.username, User.email).order_by(User.username)).all()
    return [username for username, email in rows if (username, email) not in demo]


def check_database_for_demo(*, force: bool, reset: bool) -> list[str]:
    """Refuse (InputProblems) or, forced, warn when the database holds users the demo did not
    create: seeding would give it accounts with the published password, resetting would drop
    them. Returns the warnings."""
    others = foreign_users()
    if not others:
        return []
    settings = get_settings()
    names = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    users = f"{len(others)} user" + ("s" if len(others) != 1 else "")
    fields = {"users": users, "names": names, "password": DEMO_PASSWORD}
    if not force:
        refusal = REAL_USERS_RESET if reset else REAL_USERS
        raise InputProblems([refusal.format(url=safe_url(settings.database_url), **fields)])
    return [(FORCED_RESET if reset else FORCED).format(**fields)]


def _already_seeded() -> bool:
    with session_scope() as session:
        found = session.exec(select(ModelEntry.id).where(ModelEntry.name == "credit-gbm")).first()
    return found is not None


def seed_demo(*, reset: bool = False, force: bool = False) -> DemoResult:
    """Seed the demo once; with ``reset``, drop every table and the data folder's files first.

    A database that holds users the demo did not create is refused (its accounts would sign in
    with the published password), unless ``force``: then the result carries a warning.
    """
    settings = get_settings()
    if not reset and _already_seeded():
        return DemoResult(already_seeded=True, users=_logins())
    warnings = check_database_for_demo(force=force, reset=reset)
    if reset:
        downgrade(settings.database_url, "base")
        for sub in ("artifacts", "datasets", "demo"):
            shutil.rmtree(settings.data_dir / sub, ignore_errors=True)
        migrate(settings.database_url)
    with session_scope() as session:
        existing = set(session.exec(select(User.username)).all())
        for username, name, role in DEMO_USERS:
            if username in existing:
                continue
            add_user(
                session=session,
                actor=OPERATOR,
                username=username,
                password=DEMO_PASSWORD,
                roles=[role],
                display_name=name,
                email=demo_email(username),
            )
    with session_scope() as session:
        ensure_shipped_pack(session)
    files = write_demo_files(settings.data_dir / "demo")
    with session_scope() as session:
        models = register_demo_models(session, files)
    with session_scope() as session:
        seed_risk(session)
    with session_scope() as session:
        seed_gates(session, {name: spec["stages"] for name, spec in DEMO_MODELS.items()})
    with session_scope() as session:
        seed_monitoring(session, settings.data_dir / "demo" / "batches")
    with session_scope() as session:
        seed_findings(session)
    with session_scope() as session:
        models += seed_portfolio(session, files, settings.data_dir / "demo" / "portfolio")
    return DemoResult(already_seeded=False, users=_logins(), models=models, warnings=warnings)

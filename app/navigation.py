"""The pages, their sections, and which roles see them."""

from pathlib import Path

from core.services.permissions import (
    AUDIT_ROLES,
    REGISTER_ROLES,
    USER_LIST_ROLES,
    Role,
)

# (file, title, icon, roles that see it; None = everyone signed in)
NAVIGATION: dict[str, list[tuple[str, str, str, tuple[Role, ...] | None]]] = {
    "Portfolio": [
        ("dashboard.py", "Dashboard", ":material/dashboard:", None),
        ("inventory.py", "Inventory", ":material/inventory_2:", None),
        ("model.py", "Model", ":material/model_training:", None),
    ],
    # Stored evidence about a version; everyone signed in reads it, EVIDENCE_ROLES compute it.
    "Evidence": [
        ("performance.py", "Performance", ":material/speed:", None),
        ("fairness.py", "Fairness", ":material/balance:", None),
        ("explanations.py", "Explanations", ":material/insights:", None),
        ("monitoring.py", "Monitoring", ":material/monitor_heart:", None),
    ],
    "Work": [
        ("reviews.py", "My reviews", ":material/inbox:", None),
        ("gate.py", "Gate sign-off", ":material/approval:", None),
        ("findings.py", "Findings", ":material/flag:", None),
        ("register.py", "Register a model", ":material/upload:", REGISTER_ROLES),
    ],
    "Governance": [
        ("policy.py", "Policy", ":material/policy:", None),
    ],
    "Administration": [
        ("admin.py", "Users", ":material/manage_accounts:", USER_LIST_ROLES),
        ("audit.py", "Audit trail", ":material/history:", AUDIT_ROLES),
    ],
}


PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


def page_path(file: str) -> str:
    """The absolute path st.Page was given for a page file, for st.page_link and switch_page."""
    return str(PAGES_DIR / file)


MISSING_ROLE = (
    "The {page} page needs the role {needed}; you have {have}. Ask an admin to add the role "
    "on the Users page if your work needs it."
)


def missing_role_sentence(page: str, needed: tuple[str, ...], have: frozenset[str]) -> str:
    """What a signed-in person reads when they open a page their roles do not include."""
    return MISSING_ROLE.format(
        page=page,
        needed=" or ".join(needed),
        have=", ".join(sorted(have)) or "no role",
    )

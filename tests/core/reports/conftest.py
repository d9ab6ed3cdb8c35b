"""A governed demo version for report tests: evidence of every kind, a risk tier, signatures,
and card text that is hostile (markup) and written in several scripts."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session

from core.config import reset_settings
from core.db import dispose_engines, get_engine
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.risk import DEMO_ANSWERS
from core.demo.seed import DEMO_MODELS, DEMO_PASSWORD, DEMO_USERS, DEMO_VOCABULARY
from core.reports import GeneratedReport, generate_report
from core.rules.gates import Act
from core.services.evidence import compute_explanation, evaluate_version
from core.services.findings import raise_finding
from core.services.gate_status import gate_status
from core.services.gates import sign_gate
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.policy import ensure_shipped_pack
from core.services.risk import assess_model
from core.services.signing import public_key_pem
from core.services.users import get_user
from core.tables import User
from tests.demo_people import add_demo_users

#: Markup that must print as text: HTML, a closing cell, a script.
FINDING = "Declines of self-employed applicants look high to underwriting."
HOSTILE = '<script>alert("x")</script> </td></tr> <b>bold</b> & {{ jinja }}'
#: Names in other scripts: accents, Chinese, Arabic.
NON_LATIN = "Zoë Ångström 张伟 محمد"


@dataclass(frozen=True)
class Governed:
    """The version under report and who is who."""

    version_id: int
    model_id: int
    users: dict[str, User]


def pdftotext(pdf: bytes, tmp_path: Path, *, layout: bool = False) -> str:
    """The text poppler extracts from a PDF, as a reader copying it would get it."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def sign(
    session: Session, governed: Governed, gate: str, act: Act, role: str, meaning: str
) -> None:
    """One signing act by the demo user holding ``role``, committed as the page would."""
    sign_gate(
        session=session,
        actor=governed.users[role],
        version_id=governed.version_id,
        gate_id=gate,
        act=act,
        password=DEMO_PASSWORD,
        meaning=meaning,
        comment=f"Reviewed. {HOSTILE}",
    )
    session.commit()


def roles_of_gate(session: Session, version_id: int, gate: str) -> tuple[str, str]:
    """The first Responsible role and the Accountable role of a gate."""
    view = next(
        g for g in gate_status(session=session, version_id=version_id).gates if g.gate_id == gate
    )
    return view.spec.responsible[0], view.spec.accountable


@pytest.fixture
def governed(session: Session, demo_files: DemoFiles) -> Governed:
    return build_governed(session, demo_files)


def build_governed(session: Session, demo_files: DemoFiles) -> Governed:
    """Register, evaluate, explain, assess, sign and raise a finding, as the fixtures' version."""
    ensure_shipped_pack(session)
    users = {}
    add_demo_users(
        session,
        lambda name, role: f"{name} {NON_LATIN}" if role in ("model_owner", "sme") else name,
    )
    for username, _, role in DEMO_USERS:
        user = get_user(session=session, username=username)
        assert user is not None
        users[role] = user
    result = register_version(
        session=session,
        actor=users["developer"],
        name="crédit-gbm",
        artifact=demo_files.model_paths["credit-gbm"],
        eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
        card={
            **DEMO_MODELS["credit-gbm"]["card"],
            "purpose": f"Score loan applications for {NON_LATIN}. {HOSTILE}",
            "assumptions_limitations": f"Synthetic history with an age bias. {HOSTILE}",
            "vocabulary": DEMO_VOCABULARY,
        },
        provenance=f"Synthetic demo data from {NON_LATIN}; {HOSTILE}",
    )
    session.commit()
    evaluate_version(
        session=session,
        actor=OPERATOR,
        version_id=result.version_id,
        segments=["region"],
        n_boot=200,
    )
    session.commit()
    compute_explanation(
        session=session, actor=OPERATOR, version_id=result.version_id, rows=200, background=50
    )
    session.commit()
    answers, _, _ = DEMO_ANSWERS["credit-gbm"]
    assess_model(session=session, actor=OPERATOR, model_id=result.model_id, answers=answers)
    session.commit()
    out = Governed(result.version_id, result.model_id, users)
    responsible, accountable = roles_of_gate(session, result.version_id, "business_scoping")
    sign(session, out, "business_scoping", Act.submit, responsible, "I submit the business case")
    sign(session, out, "business_scoping", Act.approve, accountable, "I approve the business case")
    raise_finding(
        session=session,
        actor=users["sme"],
        version_id=result.version_id,
        type="business",
        severity="medium",
        description=f"{FINDING} {HOSTILE}",
        evidence_links=["record 17"],
    )
    session.commit()
    return out


@pytest.fixture
def report(session: Session, governed: Governed) -> GeneratedReport:
    """The version's report, generated by the auditor and committed as the page would."""
    made = generate_report(
        session=session, actor=governed.users["auditor"], version_id=governed.version_id
    )
    session.commit()
    return made


@dataclass(frozen=True)
class Sealed:
    """A report built once per test process, and the public key of the installation that sealed
    it, for the tests that only read the file (its text, fonts, seal and tampering)."""

    report: GeneratedReport
    public_key: str
    data_dir: Path  # holds the installation's private key, for a test playing an insider


@pytest.fixture(scope="session")
def sealed(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path, demo_files: DemoFiles
) -> Sealed:
    folder = tmp_path_factory.mktemp("sealed-report")
    url = f"sqlite:///{folder / 'gatehouse.db'}"
    shutil.copyfile(migrated_sqlite, folder / "gatehouse.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATEHOUSE_DATABASE_URL", url)
        mp.setenv("GATEHOUSE_DATA_DIR", str(folder / "data"))
        reset_settings()
        try:
            with Session(get_engine(url), expire_on_commit=False) as session:
                governed = build_governed(session, demo_files)
                made = generate_report(
                    session=session, actor=governed.users["auditor"], version_id=governed.version_id
                )
                session.commit()
            return Sealed(made, public_key_pem(), folder / "data")
        finally:
            dispose_engines()
            reset_settings()

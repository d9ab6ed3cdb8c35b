"""The audit PDF holds every section, the key numbers, names and signature meanings, prints
hostile and non-Latin text as text, is PDF/A-3b with embedded fonts, and is deterministic."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlmodel import Session, select

from core.reports import generate_report, list_reports, report_pdf
from core.services.evidence import latest_evidence
from core.services.gate_status import gate_status
from core.tables import AuditEvent, ReportArchive
from tests.core.reports.conftest import (
    FINDING,
    HOSTILE,
    NON_LATIN,
    Governed,
    Sealed,
    pdftotext,
)

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-results"
SECTIONS = (
    "1. Executive summary",
    "2. Model card",
    "3. Risk assessment",
    "4. Data",
    "5. Performance",
    "6. Fairness",
    "7. Explanations",
    "8. Gates and signatures",
    "9. Findings",
    "10. Audit trail",
    "11. Regulatory mapping",
    "Appendix A. Fairness group tables",
    "Appendix B. Audit events",
    "Appendix C. Verifying this report",
)


def _flat(text: str) -> str:
    # pdftotext marks right-to-left runs (Arabic) with bidi embedding controls; a reader copying
    # the text sees the letters alone.
    return re.sub(r"\s+", " ", re.sub("[\u202a-\u202e\u2066-\u2069]", "", text))


def test_every_section_key_number_name_and_meaning_is_in_the_text(
    session: Session, governed: Governed, report, tmp_path: Path
) -> None:
    text = _flat(pdftotext(report.pdf, tmp_path))
    for heading in SECTIONS:
        assert text.count(heading) >= 2, heading  # in the contents and as the section itself
    performance = latest_evidence(
        session=session, version_id=governed.version_id, kind="performance"
    )
    fairness = latest_evidence(session=session, version_id=governed.version_id, kind="fairness")
    assert performance is not None and fairness is not None
    auc = performance.results["overall"]["metrics"]["roc_auc"]
    assert f"{auc['value']:.3f} ({auc['lower']:.3f}–{auc['upper']:.3f})" in text
    ratio = next(
        c for c in fairness.results["features"][1]["checks"] if c["name"] == "selection_rate_ratio"
    )
    assert f"{ratio['value']['value']:.3f}" in text
    assert performance.sha256 in text and fairness.sha256 in text
    for meaning in ("I submit the business case", "I approve the business case"):
        assert meaning in text
    approver = next(
        s for g in gate_status(session=session, version_id=governed.version_id).gates
        for s in g.signatures if s.act == "approve"
    )  # fmt: skip
    assert approver.printed_name in text and NON_LATIN in approver.printed_name
    assert "association, not causation" in text
    # Sensitive columns by their display names, the technical name beside them.
    assert "Age band (age_band)" in text and "Sex × Age band (sex × age_band)" in text
    # The findings register's entry, with who raised it; open, and medium, so it blocks nothing.
    assert FINDING in text and "1 open finding(s)." in text
    assert "raised by Sam Subject-Expert" in text
    assert re.search(r"page 1 of \d+", text)
    assert "no harmonised standards recorded" in text
    assert re.search(r"EU AI Act Annex IV: \d of 9 recorded \(\d+% complete\)", text)


def test_hostile_and_non_latin_text_prints_as_text(sealed: Sealed, tmp_path: Path) -> None:
    text = _flat(pdftotext(sealed.report.pdf, tmp_path))
    assert _flat(HOSTILE) in text
    assert NON_LATIN in text
    assert "crédit-gbm" in text
    # Autoescaping kept the markup out of the layout: no cell was closed early, no script ran.
    assert "&lt;" not in text and "&amp;" not in text


def test_pdf_a3b_is_declared_and_every_font_is_embedded(sealed: Sealed, tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(sealed.report.pdf)
    meta = subprocess.run(
        ["pdfinfo", "-meta", str(path)], check=True, capture_output=True, text=True
    )
    assert 'pdfaid:part="3"' in meta.stdout and 'pdfaid:conformance="B"' in meta.stdout
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows and all(" yes yes yes " in row for row in rows), fonts.stdout
    assert any("WenQuanYi" in row or "wqy" in row.lower() for row in rows)  # the Chinese name
    attached = subprocess.run(
        ["pdfdetach", "-list", str(path)], check=True, capture_output=True, text=True
    )
    assert "gatehouse-report-seal.json" in attached.stdout


def test_the_same_state_gives_the_same_report_but_for_the_generation(
    session: Session, governed: Governed, report, tmp_path: Path
) -> None:
    again = generate_report(
        session=session, actor=governed.users["sme"], version_id=governed.version_id
    )
    session.commit()
    assert again.content_sha256 == report.content_sha256

    def stable(pdf: bytes) -> list[str]:
        generated = ("Generated ", "Chain verified at generation", "page ")
        return [
            line
            for line in pdftotext(pdf, tmp_path, layout=True).splitlines()
            if not any(marker in line for marker in generated)
        ]

    assert stable(again.pdf) == stable(report.pdf)
    assert again.sha256 != report.sha256  # a different generator and time: a different file


def test_every_report_is_archived_audited_and_downloadable(
    session: Session, governed: Governed, report, tmp_path: Path
) -> None:
    row = session.exec(select(ReportArchive).where(ReportArchive.id == report.report_id)).one()
    assert row.sha256 == report.sha256 and row.generated_by_name == "audrey"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "report_generated")).one()
    assert event.actor == "audrey" and report.sha256 in event.details
    listed = list_reports(session=session, actor=governed.users["sme"], model_id=governed.model_id)
    assert [r.report_id for r in listed] == [report.report_id]
    assert (
        report_pdf(session=session, actor=governed.users["sme"], report_id=report.report_id)
        == report.pdf
    )
    session.rollback()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report.pdf").write_bytes(report.pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
         str(ARTIFACTS / "report.pdf"), str(ARTIFACTS / "report-first-page")],
        check=True,
    )  # fmt: skip
    assert (ARTIFACTS / "report-first-page.png").stat().st_size > 10_000

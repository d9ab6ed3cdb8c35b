"""A report proves itself: offline with the public key alone, and against the database, which
also says what happened since. One changed byte, a removed page or a forged event fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from core.cli import main
from core.config import reset_settings
from core.reports import verify_offline, verify_report
from core.reports.manifest import make_seal
from core.reports.seal import open_seal, seal_region
from core.reports.verify import BAD_SIGNATURE, BYTES_CHANGED, EVENT_NOT_PROVEN
from core.rules.gates import Act
from core.services.audit import event_hash
from tests.core.reports.conftest import Governed, Sealed, roles_of_gate, sign


def _reseal(pdf: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    """The file with its manifest edited and sealed again by the installation key (an insider
    who holds the key but not the audit trail), every other byte unchanged."""
    opened = open_seal(pdf)
    assert opened.seal is not None and opened.document_sha256 is not None
    manifest = json.loads(json.dumps(opened.seal["manifest"]))
    edit(manifest)
    start = pdf.rfind(b'{"kind":"gatehouse.report-seal/1"')
    size = int(pdf[start + 42 : start + 52])
    seal = make_seal(manifest, opened.document_sha256, opened.seal["pages"])
    return pdf[:start] + seal_region(seal, size) + pdf[start + size :]


def test_a_good_file_verifies_offline(sealed: Sealed) -> None:
    result = verify_offline(sealed.report.pdf, sealed.public_key)
    assert result.valid, result.problems
    assert result.content_sha256 == sealed.report.content_sha256
    assert result.pages == sealed.report.pages and result.events_proven > 0
    assert result.signatures_proven == 2  # the submit and the approval, each found in the trail


def test_one_changed_byte_anywhere_fails(sealed: Sealed) -> None:
    pdf = sealed.report.pdf
    for where in (len(pdf) // 5, len(pdf) // 2, len(pdf) - 40):
        bad = pdf[:where] + bytes([pdf[where] ^ 0x01]) + pdf[where + 1 :]
        result = verify_offline(bad, sealed.public_key)
        assert not result.valid and result.problems, where


def test_a_removed_page_fails_even_with_the_seal_carried_over(
    sealed: Sealed, tmp_path: Path
) -> None:
    source = tmp_path / "r.pdf"
    source.write_bytes(sealed.report.pdf)
    quiet = {"check": True, "capture_output": True}
    subprocess.run(["pdfseparate", str(source), str(tmp_path / "p-%d.pdf")], **quiet)  # type: ignore[call-overload]
    pages = [str(tmp_path / f"p-{i}.pdf") for i in range(1, sealed.report.pages + 1)]
    del pages[1]
    subprocess.run(["pdfunite", *pages, str(tmp_path / "cut.pdf")], **quiet)  # type: ignore[call-overload]
    cut = (tmp_path / "cut.pdf").read_bytes()
    # poppler carries the attachment, seal and all, into the shorter file.
    assert cut.rfind(b'{"kind":"gatehouse.report-seal/1"') > 0
    result = verify_offline(cut, sealed.public_key)
    assert not result.valid and BYTES_CHANGED in result.problems


def test_an_edited_event_breaks_the_signature(sealed: Sealed) -> None:
    pdf = sealed.report.pdf
    start = pdf.rfind(b'{"kind":"gatehouse.report-seal/1"')
    target = pdf.find(b"I approve the business case", start)
    bad = pdf[:target] + b"I approve the business vase" + pdf[target + 27 :]
    result = verify_offline(bad, sealed.public_key)
    assert not result.valid and BAD_SIGNATURE in result.problems


def test_a_forged_event_signed_with_the_key_is_not_in_the_trail(
    sealed: Sealed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forge(manifest) -> None:  # type: ignore[no-untyped-def]
        event = next(
            e for e in manifest["content"]["events"] if e["body"]["action"] == "gate_approve"
        )
        event["body"]["details"]["comment"] = "Approved without reading it."
        event["hash"] = event_hash(event["prev_hash"], event["body"])

    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(sealed.data_dir))  # the installation's key
    reset_settings()
    try:
        forged = _reseal(sealed.report.pdf, forge)
    finally:
        monkeypatch.undo()
        reset_settings()
    result = verify_offline(forged, sealed.public_key)
    assert not result.valid
    assert any(
        p.startswith("Event ") and EVENT_NOT_PROVEN.split("{sequence}")[1] in p
        for p in result.problems
    )
    assert any("approve of the business_scoping gate" in p for p in result.problems)


def test_another_key_is_refused(sealed: Sealed) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    result = verify_offline(sealed.report.pdf, other)
    assert not result.valid and "not by the key given" in result.problems[0]


def test_online_verification_lists_a_later_signature(
    session: Session, governed: Governed, report
) -> None:
    responsible, _ = roles_of_gate(session, governed.version_id, "ideation")
    sign(session, governed, "ideation", Act.submit, responsible, "I submit the data sources")
    result = verify_report(session=session, actor=governed.users["auditor"], pdf=report.pdf)
    session.rollback()
    assert result.valid, result.problems
    later = result.since["new_signatures"]
    assert [(s["gate"], s["act"], s["meaning"]) for s in later] == [
        ("ideation", "submit", "I submit the data sources")
    ]
    assert result.since["archived_report_id"] == report.report_id
    assert any(
        e["description"].endswith("v1") or "submit" in e["description"]
        for e in result.since["new_events"]
    )


def test_the_command_line_generates_and_verifies(
    session: Session, governed: Governed, tmp_path: Path
) -> None:
    session.rollback()
    runner = CliRunner()
    out = tmp_path / "report.pdf"
    made = runner.invoke(main, ["report", str(governed.version_id), "--out", str(out), "--json"])
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout)["pages"] > 10
    key = tmp_path / "key.pem"
    key.write_text(runner.invoke(main, ["audit", "key"]).stdout)
    offline = runner.invoke(
        main, ["report", "verify", str(out), "--offline", "--public-key", str(key), "--json"]
    )
    assert offline.exit_code == 0 and json.loads(offline.stdout)["valid"] is True
    online = runner.invoke(main, ["report", "verify", str(out), "--json"])
    assert online.exit_code == 0 and json.loads(online.stdout)["since"]["new_signatures"] == []
    data = out.read_bytes()
    middle = len(data) // 2
    out.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    broken = runner.invoke(
        main, ["report", "verify", str(out), "--offline", "--public-key", str(key)]
    )
    assert broken.exit_code == 1 and "NOT valid" in broken.stdout
    missing = runner.invoke(main, ["report", "verify", str(out), "--offline"])
    assert missing.exit_code != 0 and "--public-key" in missing.stderr

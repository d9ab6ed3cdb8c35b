"""Audit reports: one complete, archival, self-verifying PDF per model version.

``gather`` reads what the report prints through the services; ``figures`` and ``charts`` draw
core.charts data with matplotlib; ``render`` fills the Jinja2 templates of the top-level
``reports/`` folder and writes a PDF/A-3b with WeasyPrint; ``manifest`` and ``seal`` sign what
it holds; ``verify`` checks a PDF offline; ``archive`` is the service the edges call.
"""

from core.reports.archive import (
    GeneratedReport,
    ReportEntry,
    generate_report,
    list_reports,
    report_pdf,
    verify_report,
)
from core.reports.verify import ReportVerification, verify_offline

__all__ = [
    "GeneratedReport",
    "ReportEntry",
    "ReportVerification",
    "generate_report",
    "list_reports",
    "report_pdf",
    "verify_offline",
    "verify_report",
]

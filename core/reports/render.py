"""Jinja2 templates and CSS (top-level ``reports/``) to a sealed PDF/A-3b with WeasyPrint.

Autoescaping is on for every template, so user text (a model named ``</td>``) prints as text.
``GATEHOUSE_REPORT_TEMPLATES`` names a folder of an organisation's own templates and CSS; a
file found there wins over the shipped one of the same name.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import HTML

from core.reports.figures import report_figures
from core.reports.format import FILTERS
from core.reports.gather import ReportData
from core.reports.manifest import Manifest, make_seal, seal_example
from core.reports.regulatory import regulatory_mapping
from core.reports.seal import add_placeholder, apply_seal, seal_size
from core.reports.summary import executive_summary
from core.services.audit import canonical_json

__all__ = ["PDF_VARIANT", "RenderedReport", "render_report", "template_folders"]

PDF_VARIANT = "pdf/a-3b"
SHIPPED = Path(__file__).resolve().parents[2] / "reports"
MISSING_TEMPLATES = (
    "GATEHOUSE_REPORT_TEMPLATES names {path}, which is not a folder; point it at a copy of "
    "the reports/ folder or unset it."
)


@dataclass(frozen=True)
class RenderedReport:
    """A sealed report PDF and how long each step took (seconds)."""

    pdf: bytes
    pages: int
    seal: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def template_folders() -> list[Path]:
    """Where templates are looked up: the organisation's folder first, then the shipped one."""
    own = os.environ.get("GATEHOUSE_REPORT_TEMPLATES")
    folders = []
    if own:
        path = Path(own)
        if not path.is_dir():
            raise ValueError(MISSING_TEMPLATES.format(path=path))
        folders.append(path)
    return [*folders, SHIPPED]


def _environment(folders: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def _stylesheet(folders: list[Path]) -> str:
    for folder in folders:
        if (folder / "report.css").is_file():
            return str(folder / "report.css")
    raise ValueError("No report.css in the report template folders.")


def render_report(data: ReportData, manifest: Manifest, *, charts: bool = True) -> RenderedReport:
    """Lay the report out, write the PDF/A-3b with a placeholder seal, then seal it."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    figures = (
        report_figures(data) if charts else {"performance": {}, "fairness": {}, "explanation": {}}
    )
    timings["charts"] = time.perf_counter() - start
    folders = template_folders()
    env = _environment(folders)
    # The manifest as it reads back from JSON: what is signed is exactly what a verifier parses.
    plain: dict[str, Any] = json.loads(canonical_json(manifest.data))
    context: Mapping[str, Any] = {
        "d": data,
        "s": executive_summary(data),
        "figures": figures,
        "regimes": regulatory_mapping(data),
        "manifest": plain,
        "content_sha256": manifest.content_sha256,
        "checkpoint": manifest.checkpoint.statement,
        "charts": charts,
    }
    start = time.perf_counter()
    html = env.get_template("report.html.j2").render(**context)
    document = HTML(string=html, base_url=str(folders[-1])).render(
        stylesheets=[_stylesheet(folders)], pdf_variant=PDF_VARIANT
    )
    pages = len(document.pages)
    timings["layout"] = time.perf_counter() - start
    start = time.perf_counter()
    size = seal_size(seal_example(plain, pages))
    created: datetime = data.generated_at
    body = document.write_pdf(
        pdf_variant=PDF_VARIANT,
        finisher=add_placeholder(size, created),
        custom_metadata=False,
    )
    seal: dict[str, Any] = {}

    def sealed(digest: str) -> dict[str, Any]:
        seal.update(make_seal(plain, digest, pages))
        return seal

    pdf = apply_seal(body, size, sealed)
    timings["writing"] = time.perf_counter() - start
    return RenderedReport(pdf=pdf, pages=pages, seal=seal, timings=timings)

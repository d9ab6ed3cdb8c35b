"""`gatehouse evaluate`, `explain` and `evidence list/show`: evidence from and for a pipeline."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from core.cli.base import (
    emit,
    handles_errors,
    main,
    required_actor,
)
from core.db import check_schema, session_scope
from core.errors import InputProblems

if TYPE_CHECKING:
    from core.services.evidence import StoredEvidence

NO_EVIDENCE = (
    "Version {version} has no evidence yet; compute it with `gatehouse evaluate {version}`."
)
WAITING = (
    "Job {job_id} is running in worker {worker}; waiting for its outcome (Ctrl+C stops waiting, "
    "the job goes on)."
)


@main.command()
@click.argument("version_id", type=int)
@click.option(
    "--sensitive", multiple=True, help="Sensitive column (repeatable; default: as registered)."
)
@click.option("--segment", "segments", multiple=True, help="Column to break performance down by.")
@click.option(
    "--reference", "references", multiple=True, help="Fairness reference group, COLUMN=GROUP."
)
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Decision threshold.")
@click.option(
    "--bootstrap", "n_boot", type=click.IntRange(0, 100_000), default=1000, show_default=True
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def evaluate(
    version_id: int,
    sensitive: tuple[str, ...],
    segments: tuple[str, ...],
    references: tuple[str, ...],
    threshold: float,
    n_boot: int,
    seed: int,
    acting: str | None,
    as_json: bool,
) -> None:
    """Compute and store performance and fairness evidence for a model version."""
    from core.services.evidence import evaluate_version

    check_schema()
    with session_scope() as session:
        result = evaluate_version(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            sensitive=sensitive or None,
            segments=segments,
            references=references,
            threshold=threshold,
            n_boot=n_boot,
            seed=seed,
        )
    emit(result.to_dict(), as_json, _evaluation_text)


def _evaluation_text(data: dict[str, Any]) -> str:
    lines = []
    for kind in ("performance", "fairness"):
        part = data[kind]
        if part is None:
            continue
        again = " (identical to stored evidence)" if part["reproduced"] else ""
        lines.append(
            f"{kind.capitalize()} evidence {part['evidence_id']} ({part['sha256'][:12]}){again}: "
            f"{part['status'] or 'no checks'}"
        )
        lines += [f"  [{c['status']}] {c['sentence']}" for c in part["checks"]]
    lines += data["notes"]
    return "\n".join(lines)


@main.command()
@click.argument("version_id", type=int)
@click.option(
    "--rows",
    type=click.IntRange(2),
    default=2000,
    show_default=True,
    help="Evaluation rows explained at most (a sample stratified by the label).",
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option(
    "--background",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Background rows for the linear and permutation explainers.",
)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def explain(
    version_id: int, rows: int, seed: int, background: int, acting: str | None, as_json: bool
) -> None:
    """Compute and store explanation evidence (SHAP, partial dependence) for a model version.

    Runs as a job in this process, so its progress and outcome are recorded like any job's. When
    a live worker already runs the identical job, waits for its outcome; a job left by a worker
    that is gone (a killed run) is taken over and run here, so nothing waits for nobody.
    """
    from core.services.evidence import explanation_summary, get_evidence, submit_explanation
    from core.services.jobs import run_or_await

    check_schema()
    with session_scope() as session:
        job_id = submit_explanation(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            rows=rows,
            seed=seed,
            background=background,
        ).id
    assert job_id is not None
    job = run_or_await(
        job_id, on_wait=lambda j: click.echo(WAITING.format(job_id=j.id, worker=j.worker), err=True)
    )
    if job.state != "done" or job.evidence_id is None:
        raise InputProblems([job.error or f"Job {job_id} ended as {job.state}."])
    with session_scope() as session:
        stored = get_evidence(session=session, evidence_id=job.evidence_id)
    # Identical results name the row stored before: the job then reproduced it.
    reproduced = job.started_at is not None and stored.computed_at < job.started_at
    emit(
        explanation_summary(stored) | {"reproduced": reproduced, "job_id": job_id},
        as_json,
        _explanation_text,
    )


def _explanation_text(data: dict[str, Any]) -> str:
    again = " (identical to stored evidence)" if data["reproduced"] else ""
    stability = data["stability"]
    taus = ", ".join("n/a" if t is None else f"{t:.2f}" for t in stability["kendall_tau"])
    unstable = ", ".join(stability["unstable_features"]) or "none"
    background = data["background_size"]
    lines = [
        f"Explanation evidence {data['evidence_id']} ({data['sha256'][:12]}){again}: "
        f"{data['status']}",
        f"  Explainer: {data['explainer']} ({data['explainer_class']}, "
        f"{data['feature_perturbation']}), {data['rows_explained']} of "
        f"{data['rows_available']} rows, seed {data['seed']}"
        + (f", background {background} rows" if background else ""),
        f"  SHAP values in: {data['output_label']}",
        f"  Additivity: max error {data['additivity_max_error']:.2e} "
        f"(tolerance {data['additivity_tolerance']:g})",
        f"  Stability ({stability['method']}): Kendall tau {taus}; unstable features: {unstable}",
        "  Global importance (mean |SHAP|, 95% interval):",
    ]
    lines += [
        f"  {g['rank']:>3}. {g['feature']:<24} {g['mean_abs_shap']:.4f}  "
        f"[{g['ci_low']:.4f}, {g['ci_high']:.4f}]"
        for g in data["global_importance"]
    ]
    lines += [f"  Note: {n}" for n in data["notes"]]
    return "\n".join(lines)


@main.group()
def evidence() -> None:
    """Read stored evidence whole, for pipelines that act on what was computed."""


def _stored_whole(stored: StoredEvidence, *, intact: bool) -> dict[str, Any]:
    """Everything stored about one evidence row: identity, hashes, configuration and results."""
    return {
        "evidence_id": stored.id,
        "version_id": stored.version_id,
        "kind": stored.kind,
        "sha256": stored.sha256,
        "intact": intact,
        "status": stored.status,
        "computed_by": stored.computed_by,
        "computed_at": stored.computed_at,
        "seconds": stored.seconds,
        "inputs": stored.inputs,
        "config": stored.config,
        "environment": stored.environment,
        "results": stored.results,
    }


def _evidence_line(data: dict[str, Any]) -> str:
    intact = "" if data["intact"] else "  HASH MISMATCH"
    return (
        f"{data['evidence_id']:>6}  {data['kind']:<12} {data['status'] or 'no checks':<10} "
        f"{data['sha256'][:12]}  {data['computed_at']}  {data['computed_by'] or 'system'}{intact}"
    )


@evidence.command("list")
@click.argument("version_id", type=int)
@click.option("--kind", default=None, help="Only evidence of this kind (performance, ...).")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True, help="Every row whole, as JSON.")
@handles_errors
def evidence_list(version_id: int, kind: str | None, acting: str | None, as_json: bool) -> None:
    """Every evidence row of a version, newest first (whole with --json)."""
    from core.services.evidence import (
        evidence_for_version,
        get_evidence,
        get_version,
        verify_evidence,
    )

    check_schema()
    with session_scope() as session:
        required_actor(session, acting)
        get_version(session, version_id)
        rows = [
            _stored_whole(
                get_evidence(session=session, evidence_id=row["evidence_id"]),
                intact=verify_evidence(session=session, evidence_id=row["evidence_id"]),
            )
            for row in evidence_for_version(session=session, version_id=version_id)
            if kind is None or row["kind"] == kind
        ]
    emit(
        rows,
        as_json,
        lambda rs: "\n".join(map(_evidence_line, rs)) or NO_EVIDENCE.format(version=version_id),
    )


@evidence.command("show")
@click.argument("evidence_id", type=int)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True, help="The row whole, as JSON.")
@handles_errors
def evidence_show(evidence_id: int, acting: str | None, as_json: bool) -> None:
    """One evidence row whole: hashes, inputs, configuration, environment and results."""
    from core.services.evidence import get_evidence, verify_evidence

    check_schema()
    with session_scope() as session:
        required_actor(session, acting)
        data = _stored_whole(
            get_evidence(session=session, evidence_id=evidence_id),
            intact=verify_evidence(session=session, evidence_id=evidence_id),
        )
    emit(data, as_json, lambda d: json.dumps(d, indent=2, default=str))

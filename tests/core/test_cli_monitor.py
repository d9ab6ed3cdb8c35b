"""`gatehouse monitor`: each bad input is one sentence on stderr, a non-zero exit and nothing
written; --quarantine leaves bad rows out and counts them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, func, select

from core.cli import main
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.monitoring import production_batch
from core.tables import AuditEvent, Dataset, Evidence, MonitoringBatch

PASSWORD = "a long enough password"


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, user: str | None = "devi", stdin: str | None = None) -> Result:
        env = {"GATEHOUSE_USER": user or "", "GATEHOUSE_PASSWORD": PASSWORD if user else ""}
        return self.runner.invoke(main, list(args), input=stdin, env=env)


@pytest.fixture
def cli(db_url: str) -> Cli:
    run = Cli()
    added = run("user", "add", "devi", "--role", "developer", user=None, stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.stderr
    return run


@pytest.fixture
def version_id(cli: Cli, demo_files: DemoFiles) -> int:
    args = ["model", "register", "--name", "credit-gbm", "--artifact",
            str(demo_files.model_paths["credit-gbm"]), "--eval", str(demo_files.eval_csv),
            "--target", TARGET, "--json"]  # fmt: skip
    for column in SENSITIVE:
        args += ["--sensitive", column]
    registered = cli(*args)
    assert registered.exit_code == 0, registered.stderr
    return int(json.loads(registered.stdout)["version_id"])


def _counts(session: Session) -> tuple[int, ...]:
    counts = tuple(
        session.exec(select(func.count()).select_from(table)).one()
        for table in (MonitoringBatch, Dataset, Evidence, AuditEvent)
    )
    session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return counts


def _batch(tmp_path: Path, change: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> Path:
    files = production_batch(tmp_path, name="batch", seed=105, n_rows=400)
    frame = pd.read_csv(files.batch, dtype={"record_id": str})
    if change is not None:
        frame = change(frame)
    frame.to_csv(files.batch, index=False)
    return files.batch


def _with_scores(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(score=0.5)


BAD_BATCHES: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], str]] = [
    (
        "missing feature columns",
        lambda f: f.drop(columns=["income", "region"]),
        "The batch batch.csv lacks the feature columns ['income', 'region'] that the model takes",
    ),
    (
        "extra columns",
        lambda f: f.assign(notes="x", approved=1),
        "The batch batch.csv has columns the model does not take: ['notes', 'approved']",
    ),
    (
        "wrong types",
        lambda f: f.assign(age=f["age"].astype(object).where(f.index % 50 != 0, "forty")),
        "The column 'age' has 8 values that are not numbers (e.g. 'forty', 'forty', 'forty'); the model takes numbers there.",
    ),
    (
        "outputs outside [0, 1]",
        lambda f: _with_scores(f).assign(score=[1.7 if i < 3 else 0.4 for i in range(len(f))]),
        "The output column 'score' has 3 values outside [0, 1] (e.g. 1.7, 1.7, 1.7); the model is probabilistic, so its outputs are probabilities.",
    ),
    (
        "duplicated ids",
        lambda f: f.assign(
            record_id=[("dup-1" if i < 2 else r) for i, r in enumerate(f["record_id"])]
        ),
        "The id column 'record_id' repeats 2 rows' ids (e.g. 'dup-1'); each record needs its own id.",
    ),
    (
        "missing ids",
        lambda f: f.assign(
            record_id=[(None if i < 4 else r) for i, r in enumerate(f["record_id"])]
        ),
        "The id column 'record_id' is empty in 4 rows; every row needs its record id.",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "sentence"), BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES]
)
def test_a_bad_batch_is_refused_whole_with_one_sentence(
    cli: Cli, version_id: int, session: Session, tmp_path: Path,
    case: str, change: Callable[[pd.DataFrame], pd.DataFrame], sentence: str,
) -> None:  # fmt: skip
    path = _batch(tmp_path, change)
    before = _counts(session)
    refused = cli("monitor", "ingest", str(version_id), str(path), "--json")
    assert refused.exit_code != 0
    assert sentence in refused.stderr, refused.stderr
    assert refused.stdout == ""
    assert _counts(session) == before


def test_an_empty_file_is_refused(
    cli: Cli, version_id: int, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    before = _counts(session)
    refused = cli("monitor", "ingest", str(version_id), str(path))
    assert refused.exit_code != 0
    assert (
        "The file empty.csv is empty; give a CSV or Parquet file with a header row and data."
        in refused.stderr
    )
    assert _counts(session) == before
    path.write_text(",".join(["record_id", "income"]) + "\n")
    refused = cli("monitor", "ingest", str(version_id), str(path))
    assert refused.exit_code != 0 and "lacks the feature columns" in refused.stderr


def test_quarantine_leaves_bad_rows_out_and_counts_them(
    cli: Cli, version_id: int, session: Session, tmp_path: Path
) -> None:
    path = _batch(
        tmp_path,
        lambda f: _with_scores(f).assign(
            score=[1.7 if i < 3 else 0.4 for i in range(len(f))],
            age=f["age"].astype(object).where(f.index % 100 != 50, "forty"),
        ),
    )
    done = cli("monitor", "ingest", str(version_id), str(path), "--quarantine", "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rows"] == 400 and result["good_rows"] == 393
    assert result["quarantined"] == {"output_out_of_range:score": 3, "not_a_number:age": 4}
    assert not result["scored_by_version"]
    row = session.exec(select(MonitoringBatch)).one()
    assert row.quarantined_rows == 7
    session.rollback()


def test_the_same_batch_is_ingested_once(cli: Cli, version_id: int, tmp_path: Path) -> None:
    path = _batch(tmp_path)
    assert cli("monitor", "ingest", str(version_id), str(path)).exit_code == 0
    again = cli("monitor", "ingest", str(version_id), str(path))
    assert again.exit_code != 0
    assert "was already ingested as batch 1 of this version" in again.stderr


def test_labels_that_match_nothing_are_refused(
    cli: Cli, version_id: int, session: Session, tmp_path: Path
) -> None:
    files = production_batch(tmp_path, name="labelled", seed=106, n_rows=300)
    assert cli("monitor", "ingest", str(version_id), str(files.batch)).exit_code == 0
    labels = pd.read_csv(files.labels, dtype={"record_id": str})
    labels.loc[:4, "record_id"] = [f"nobody-{i}" for i in range(5)]
    labels.to_csv(files.labels, index=False)
    before = _counts(session)
    refused = cli("monitor", "labels", str(version_id), str(files.labels))
    assert refused.exit_code != 0
    assert (
        "5 record ids of the labels file labelled-labels.csv match no scored row of version "
        f"{version_id}'s batches (e.g. 'nobody-0', 'nobody-1', 'nobody-2')"
    ) in refused.stderr
    assert _counts(session) == before
    done = cli("monitor", "labels", str(version_id), str(files.labels), "--quarantine", "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["joined_rows"] == 295 and result["quarantined"] == {"unmatched id": 5}


def test_duplicated_label_ids_are_refused(cli: Cli, version_id: int, tmp_path: Path) -> None:
    files = production_batch(tmp_path, name="twice", seed=107, n_rows=200)
    assert cli("monitor", "ingest", str(version_id), str(files.batch)).exit_code == 0
    labels = pd.read_csv(files.labels, dtype={"record_id": str})
    pd.concat([labels, labels.head(2)]).to_csv(files.labels, index=False)
    refused = cli("monitor", "labels", str(version_id), str(files.labels))
    assert refused.exit_code != 0
    assert "repeats 4 record ids (e.g. 'twice-00000', 'twice-00001')" in refused.stderr


def test_show_lists_batches(cli: Cli, version_id: int, tmp_path: Path) -> None:
    path = _batch(tmp_path)
    assert (
        cli("monitor", "ingest", str(version_id), str(path), "--scored-at", "2026-09-30").exit_code
        == 0
    )
    shown = cli("monitor", "show", str(version_id))
    assert shown.exit_code == 0, shown.stderr
    assert "#1 2026-09-30: 400 rows, drift" in shown.stdout

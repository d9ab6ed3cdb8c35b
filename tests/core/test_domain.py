"""Domain values: one spelling each, stored as plain text."""

from __future__ import annotations

import json

import numpy as np

from core.domain import CheckStatus, EvidenceKind, JobState, Stage
from core.metrics.plain import plain_json
from core.tables import EVIDENCE_KINDS, JOB_STATES, STAGES


def test_tables_store_the_domain_values_as_plain_text() -> None:
    assert STAGES == ("development", "qa", "preproduction", "production", "retired")
    assert EVIDENCE_KINDS == ("performance", "fairness", "explanation", "drift", "monitoring")
    assert JOB_STATES == ("queued", "running", "done", "failed")
    for values, enum in ((STAGES, Stage), (EVIDENCE_KINDS, EvidenceKind), (JOB_STATES, JobState)):
        assert all(type(v) is str for v in values)
        assert [enum(v) for v in values] == list(enum)


def test_plain_json_unwraps_numpy_enums_tuples_and_undefined_values() -> None:
    value = {
        "status": CheckStatus.inconclusive,
        "counts": (np.int64(3), np.float32(0.5)),
        "undefined": float("nan"),
        "array": np.array([1.0, np.nan]),
        "flag": np.bool_(True),
    }
    plain = plain_json(value)
    assert plain == {
        "status": "inconclusive",
        "counts": [3, 0.5],
        "undefined": None,
        "array": [1.0, None],
        "flag": True,
    }
    assert type(plain["status"]) is str and type(plain["counts"][0]) is int
    assert json.loads(json.dumps(plain, allow_nan=False)) == plain

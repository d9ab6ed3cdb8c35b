"""Benchmark of loading model files: the checks and the limited child process, in one run.

Run from the repository root: ``python tests/benchmarks/bench_artifacts.py``. Prints, never
asserts wall-clock times.

1. The demo's credit-gbm file: skops alone (``skops.io.loads``, trusting its types), Gatehouse's
   checks and load in this process, and ``load_artifact`` (checks and load in the child,
   model pickled back); the ratio of the last to the first is the price of the defences.
2. The child process alone: a round trip of a trivial function through ``run_limited``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import skops.io

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.demo.data import write_demo_files
from core.files.archive import ArchiveLimits
from core.files.artifacts import _load_checked, load_artifact
from core.files.sandbox import run_limited


def _median_seconds(action: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        demo = write_demo_files(Path(folder), n_rows=5000)
        path = demo.model_paths["credit-gbm"]
        data = path.read_bytes()
        trusted = skops.io.get_untrusted_types(data=data)
        limits = ArchiveLimits.from_settings()
        load_artifact(path)  # starts the server children fork from
        skops_alone = _median_seconds(lambda: skops.io.loads(data, trusted=trusted))
        checked = _median_seconds(
            lambda: _load_checked(data, name=path.name, extra_trusted=(), limits=limits)
        )
        sandboxed = _median_seconds(lambda: load_artifact(path))
        round_trip = _median_seconds(lambda: run_limited(len, "x"), repeat=20)
    print(f"credit-gbm file: {len(data) / 1e6:.2f} MB")
    print(f"skops.io.loads alone:             {skops_alone * 1000:8.1f} ms")
    print(f"checks and load in this process:  {checked * 1000:8.1f} ms")
    print(f"load_artifact (limited child):    {sandboxed * 1000:8.1f} ms")
    print(f"ratio load_artifact / skops:      {sandboxed / skops_alone:8.2f}")
    print(f"child round trip (run_limited):   {round_trip * 1000:8.1f} ms")


if __name__ == "__main__":
    main()

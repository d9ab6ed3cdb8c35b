"""Benchmark of the evidence pages: the server-side rerun of each page script, as AppTest runs it.

Run from the repository root: ``python tests/benchmarks/bench_pages.py``. Seeds the demo in a
fresh SQLite database (as ``gatehouse demo`` does), signs in as the SME and as the validator,
opens each evidence page on the production credit-gbm, then times reruns (what a click costs
on the server, without the browser's drawing). Prints figures, never asserts them; the target
is under 1 s from click to idle after the first load.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PAGES = (
    "dashboard.py",
    "inventory.py",
    "model.py",
    "performance.py",
    "fairness.py",
    "explanations.py",
)
RUNS = 10


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="gatehouse-bench-pages-"))
    os.environ["GATEHOUSE_DATA_DIR"] = str(folder)
    os.environ["GATEHOUSE_DATABASE_URL"] = f"sqlite:///{folder / 'gatehouse.db'}"
    os.environ["GATEHOUSE_APP_WORKER"] = "0"
    from core.config import reset_settings

    reset_settings()
    from core.db import dispose_engines, migrate
    from core.demo.seed import seed_demo
    from tests.pages.conftest import sign_in

    migrate()
    start = time.perf_counter()
    seed_demo()
    print(f"demo seeded in {time.perf_counter() - start:.1f} s; {RUNS} reruns per page")
    root = Path(__file__).resolve().parents[2] / "pages"
    try:
        for user in ("sam", "victor"):
            at = sign_in(user)
            for page in PAGES:
                at.switch_page(str(root / page))
                first = time.perf_counter()
                at.run()
                first = time.perf_counter() - first
                assert not at.exception, [e.value for e in at.exception]
                times = []
                for _ in range(RUNS):
                    t = time.perf_counter()
                    at.run()
                    times.append(time.perf_counter() - t)
                print(
                    f"  {user:<7} {page:<17} first {first * 1000:7.0f} ms   rerun median "
                    f"{statistics.median(times) * 1000:6.0f} ms   max {max(times) * 1000:6.0f} ms"
                )
    finally:
        dispose_engines()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

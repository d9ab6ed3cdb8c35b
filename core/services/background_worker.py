"""The job worker thread inside an app process: started with the server, stopped with it.

One thread per process runs queued jobs (:func:`core.services.jobs.work`) and housekeeping,
and survives a database restart by logging and retrying. On shutdown it claims nothing more,
the job it holds is stopped and goes back to the queue, and after ``SHUTDOWN_GRACE`` seconds
any job still held is released from outside, so the process stops in bounded time.
"""

from __future__ import annotations

import logging
import os
import threading

from core.services.job_leases import wait_for_work, wake_workers
from core.services.jobs import (
    SHUTDOWN_GRACE,
    keep_house,
    release_held_jobs,
    stop_held_jobs,
    work,
)

__all__ = ["shutdown_background_worker", "start_background_worker"]

log = logging.getLogger("core.services.jobs")

_thread: threading.Thread | None = None
_stop = threading.Event()
_lock = threading.Lock()


def _loop() -> None:
    while not _stop.is_set():
        try:
            work(once=True, stop=_stop)
        except Exception:  # the database may be restarting; keep the thread, log, retry
            log.exception("The background worker could not run jobs; retrying")
        if not _stop.is_set():
            keep_house()
            wait_for_work(2.0)


def start_background_worker() -> None:
    """Start this process's worker thread once (GATEHOUSE_APP_WORKER=0 turns it off)."""
    global _thread
    if os.environ.get("GATEHOUSE_APP_WORKER", "1") == "0":
        return
    with _lock:
        if _thread is not None and _thread.is_alive():
            wake_workers()
            return
        _stop.clear()
        _thread = threading.Thread(target=_loop, name="gatehouse-worker", daemon=True)
        _thread.start()
        log.info("Background worker started")


def shutdown_background_worker(grace: float = SHUTDOWN_GRACE) -> None:
    """Stop the worker thread: no new claims; its job goes back to the queue within ``grace`` s."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is None:
        return
    _stop.set()
    wake_workers()
    stop_held_jobs()
    thread.join(grace)
    if thread.is_alive():
        release_held_jobs("the app process is shutting down")
    log.info("Background worker stopped")

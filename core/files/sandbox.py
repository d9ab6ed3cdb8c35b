"""Run a function in a child process with memory and CPU-time limits; its errors as sentences.

Loading a model file and running the model happen here, as a second line of defence behind
the checks of ``core.files.artifacts``: a file that slips past them (or a model that is simply
too large or too slow) exhausts the child, never the app process or a job worker.

The child is started with multiprocessing's "forkserver" method: a single-threaded server
(:mod:`core.files.sandbox_server`), started once with numpy, scikit-learn and skops imported,
forks each child, so a child starts in milliseconds and never inherits the threads and locks
of a busy app process. The server and its children end with the process that uses them:
``stop_server`` (also run at exit) stops both, and a process killed outright takes them along. In the child,
``RLIMIT_AS`` caps the address space at what it holds when it starts plus the configured
allowance (``GATEHOUSE_MODEL_MEMORY_MB``), and ``RLIMIT_CPU`` caps its CPU time
(``GATEHOUSE_MODEL_CPU_SECONDS``). The result comes back through a pipe; a domain error comes
back as the same error with the same sentences; anything else, a killed or crashed child
included, becomes one sentence naming ``what`` ran.

Arguments and results cross the pipe by pickle between our own processes; nothing from a
model file is ever unpickled (the child rebuilds models from skops files itself).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerProcess, set_spawning_popen
from types import FrameType
from typing import Any, Final, TypeVar

from core.config import get_settings
from core.errors import GatehouseError
from core.files.refusals import ModelLimitExceeded
from core.files.sandbox_server import SandboxServer, bind_child_to_server

__all__ = [
    "CPU_EXCEEDED",
    "CRASHED",
    "FAILED",
    "KILLED",
    "MEMORY_EXCEEDED",
    "STOPPED",
    "Progress",
    "SandboxStopped",
    "preload",
    "run_limited",
    "stop_children",
    "stop_server",
]

T = TypeVar("T")
Progress = Callable[[float, str], None]

MEMORY_EXCEEDED: Final = (
    "Loading or running {what} exceeded the memory limit of {mb} MB "
    "(GATEHOUSE_MODEL_MEMORY_MB) and was stopped."
)
CPU_EXCEEDED: Final = (
    "Loading or running {what} exceeded the CPU-time limit of {seconds} s "
    "(GATEHOUSE_MODEL_CPU_SECONDS) and was stopped."
)
KILLED: Final = (
    "Loading or running {what} was stopped: it exceeded the memory limit of {mb} MB or the "
    "CPU-time limit of {seconds} s (GATEHOUSE_MODEL_MEMORY_MB, GATEHOUSE_MODEL_CPU_SECONDS)."
)
CRASHED: Final = (
    "Loading or running {what} crashed its process ({reason}); the model file is broken or "
    "hostile, so Gatehouse refuses it."
)
FAILED: Final = "Loading or running {what} failed: {error}."
STOPPED: Final = (
    "Loading or running {what} was stopped because this process is shutting down; run it again."
)

_preload_modules: list[str] = ["core.files.artifacts"]
_start_lock = threading.Lock()
_server = SandboxServer()
_exit_registered = False
# The children running now, and those stop_children ended (their callers raise SandboxStopped).
_children: set[_Process] = set()
_stopped: set[int] = set()
_children_lock = threading.Lock()


class SandboxStopped(GatehouseError):
    """The child was stopped on purpose (its process is shutting down), not by a limit."""


class _CpuTimeExceeded(BaseException):
    """Raised in the child by SIGXCPU, the soft CPU limit (the hard limit kills it 2 s later)."""


class _Popen(popen_forkserver.Popen):
    """Starts a forkserver child without re-running the parent's main script in it.

    multiprocessing re-imports ``__main__`` in every child; under Streamlit that is the app's
    page script. Our children run module-level functions only, so the main module's entry is
    dropped from the preparation data; otherwise this is ``popen_forkserver.Popen._launch``.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buffer = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buffer)
            reduction.dump(process_obj, buffer)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = _server.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buffer.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:  # the name multiprocessing calls
        return _Popen(process_obj)


def preload(module: str) -> None:
    """Have ``module`` imported once in the server children fork from, so they start fast.

    Modules whose functions run in children call this when imported; it takes effect if the
    server has not started yet (otherwise each child imports the module itself).
    """
    with _start_lock:
        if module not in _preload_modules:
            _preload_modules.append(module)


def _start_server() -> int:
    """Start the fork server unless it runs; its process id."""
    global _exit_registered
    with _start_lock:
        _server.set_forkserver_preload(list(_preload_modules))
        _server.ensure_running()
        if not _exit_registered:
            atexit.register(stop_server)
            _exit_registered = True
        pid = _server.pid
    assert pid is not None
    return pid


def stop_children() -> int:
    """Kill every sandbox child of this process now (it is shutting down); returns how many.

    Their callers raise ``SandboxStopped``. Whatever a child computed would be discarded anyway:
    a job stopped by its worker goes back to the queue and starts again elsewhere.
    """
    with _children_lock:
        running = list(_children)
        _stopped.update(id(child) for child in running)
    for child in running:
        with contextlib.suppress(OSError, ValueError):  # ended meanwhile, or already closed
            child.kill()
    return len(running)


def stop_server() -> None:
    """Stop this process's sandbox children and fork server (if started), e.g. when a server or
    worker shuts down, so no helper process outlives it. Run at exit too."""
    stop_children()
    with _start_lock:
        _server._stop()  # type: ignore[attr-defined]


def _address_space() -> int:
    # Bytes of address space this process holds now (VmSize), the base the allowance adds to.
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _on_sigxcpu(signum: int, frame: FrameType | None) -> None:
    raise _CpuTimeExceeded


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())[:200].rstrip(".")
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _child(
    conn: Connection,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    memory_mb: int,
    cpu_seconds: int,
    relay: bool,
    server_pid: int,
) -> None:
    """The child's body: set the limits, run, send one message back (plus progress)."""
    bind_child_to_server(server_pid)
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds + spent, cpu_seconds + spent + 2))
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if relay:
        kwargs = {**kwargs, "progress": lambda f, m: conn.send(("progress", float(f), str(m)))}
    try:
        try:
            message: tuple[Any, ...] = ("ok", func(*args, **kwargs))
        except GatehouseError as err:
            message = ("refused", type(err), list(err.problems))
        except MemoryError:
            message = ("memory",)
        except _CpuTimeExceeded:
            message = ("cpu",)
        except Exception as err:  # the parent turns it into one sentence
            message = ("error", _one_line(err))
        try:
            conn.send(message)
        except MemoryError:
            conn.send(("memory",))
        except Exception as err:  # an unpicklable result, say
            conn.send(("error", _one_line(err)))
    except _CpuTimeExceeded:
        conn.send(("cpu",))
    except BrokenPipeError:  # the caller stopped listening (its job was stopped): nobody to tell
        pass
    finally:
        conn.close()


def _died(code: int | None, what: str, memory_mb: int, cpu_seconds: int) -> GatehouseError:
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return ModelLimitExceeded(CPU_EXCEEDED.format(what=what, seconds=cpu_seconds))
        if sig == signal.SIGKILL:  # the hard CPU limit, or the kernel's out-of-memory killer
            return ModelLimitExceeded(KILLED.format(what=what, mb=memory_mb, seconds=cpu_seconds))
        reason = signal.Signals(sig).name
    else:
        reason = f"exit code {code}"
    return ModelLimitExceeded(CRASHED.format(what=what, reason=reason))


def run_limited(
    func: Callable[..., T],
    /,
    *args: Any,
    what: str = "the model",
    progress: Progress | None = None,
    memory_mb: int | None = None,
    cpu_seconds: int | None = None,
    **kwargs: Any,
) -> T:
    """``func(*args, **kwargs)`` in a child process under memory and CPU-time limits.

    ``func`` must be importable by name (a module-level function) and its arguments and result
    picklable. ``progress``, if given, is passed to ``func`` as its ``progress`` keyword; the
    child's calls are relayed to it here, in the calling thread. The limits default to the
    settings. Raises the child's ``GatehouseError`` (same class, same sentences), or
    ``ModelLimitExceeded`` with one sentence naming ``what`` when the child ran out of memory
    or CPU time, crashed or failed otherwise. Waits at most three times the CPU limit (plus a
    minute) in wall-clock time, then stops the child.
    """
    settings = get_settings()
    memory_mb = int(memory_mb or settings.model_memory_mb)
    cpu_seconds = int(cpu_seconds or settings.model_cpu_seconds)
    server_pid = _start_server()
    reader, writer = multiprocessing.Pipe(duplex=False)
    child = _Process(
        target=_child,
        args=(writer, func, args, kwargs, memory_mb, cpu_seconds, progress is not None, server_pid),
        daemon=True,
    )
    child.start()
    writer.close()
    with _children_lock:
        _children.add(child)
    deadline = time.monotonic() + 3 * cpu_seconds + 60
    try:
        while True:
            if time.monotonic() > deadline:
                raise ModelLimitExceeded(CPU_EXCEEDED.format(what=what, seconds=cpu_seconds))
            if not reader.poll(0.5):
                continue
            try:
                message = reader.recv()
            except (EOFError, OSError):
                child.join(5)
                if id(child) in _stopped:
                    raise SandboxStopped([STOPPED.format(what=what)]) from None
                raise _died(child.exitcode, what, memory_mb, cpu_seconds) from None
            kind = message[0]
            if kind == "progress":
                if progress is not None:
                    progress(message[1], message[2])
                continue
            if kind == "ok":
                return message[1]  # type: ignore[no-any-return]
            if kind == "refused":
                error_type, problems = message[1], message[2]
                if isinstance(error_type, type) and issubclass(error_type, GatehouseError):
                    raise error_type(problems)
                raise ModelLimitExceeded(problems)
            if kind == "memory":
                raise ModelLimitExceeded(MEMORY_EXCEEDED.format(what=what, mb=memory_mb))
            if kind == "cpu":
                raise ModelLimitExceeded(CPU_EXCEEDED.format(what=what, seconds=cpu_seconds))
            raise ModelLimitExceeded(FAILED.format(what=what, error=message[1]))
    finally:
        reader.close()
        child.join(2)
        if child.is_alive():
            child.kill()
            child.join()
        with _children_lock:
            _children.discard(child)
            _stopped.discard(id(child))

"""The model sandbox's fork server: a helper process that nothing of ours outlives.

multiprocessing's own fork server is started in the caller's process group and leaves its
children running when the caller dies, which a process supervisor sees as a command that did
not stop. This one differs in three ways, all so that stopping or killing the process that
started it (a server, a worker, an `explain` run) leaves nothing running:

- It leads a session of its own, so a signal to the caller's process group (Ctrl+C in a
  terminal) reaches the caller only, which stops its sandbox children itself; and a caller
  killed outright does not leave the server, an orphan for a moment, in its group.
- It starts no resource tracker (another helper process): sandbox children create no named
  semaphores or shared memory, so they get a tracker channel that leads nowhere.
- A child holds no end of the "alive" pipe and dies with the server (``PR_SET_PDEATHSIG`` on
  Linux). The server ends as soon as the caller is gone, so a child of a killed caller ends
  then too, instead of running its model to the end for nobody.

Otherwise it is multiprocessing's fork server (the same ``main`` runs in the helper process).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing import connection, forkserver, reduction, spawn, util
from typing import Any

__all__ = ["SandboxServer", "bind_child_to_server"]

_PR_SET_PDEATHSIG = 1


class SandboxServer(forkserver.ForkServer):
    """A fork server in its own session that starts no resource tracker."""

    # Set by multiprocessing's ForkServer.__init__ (not in its type stubs).
    _lock: threading.Lock
    _preload_modules: list[str]
    _forkserver_address: str | None
    _forkserver_alive_fd: int | None
    _forkserver_pid: int | None

    def __init__(self) -> None:
        super().__init__()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def ensure_running(self) -> None:
        """Start the server unless it runs (again, if it died)."""
        with self._lock:
            if self._process is not None:
                if self._process.poll() is None:
                    return
                self._forget()
            cmd = "from multiprocessing.forkserver import main; main(%d, %d, %r, **%r)"
            data = {"sys_path": spawn.get_preparation_data("ignore")["sys_path"]}
            with socket.socket(socket.AF_UNIX) as listener:
                address = connection.arbitrary_address("AF_UNIX")  # type: ignore[attr-defined]
                listener.bind(address)
                os.chmod(address, 0o600)
                listener.listen()
                alive_r, alive_w = os.pipe()
                try:
                    modules = list(self._preload_modules)
                    args = [spawn.get_executable(), *util._args_from_interpreter_flags()]  # type: ignore[attr-defined]
                    args += ["-c", cmd % (listener.fileno(), alive_r, modules, data)]
                    self._process = subprocess.Popen(  # noqa: S603 (our interpreter, our code)
                        args,
                        stdin=subprocess.DEVNULL,
                        pass_fds=(listener.fileno(), alive_r),
                        start_new_session=True,
                    )
                except BaseException:
                    os.close(alive_w)
                    raise
                finally:
                    os.close(alive_r)
            self._forkserver_address = address
            self._forkserver_alive_fd = alive_w
            self._forkserver_pid = self._process.pid

    def connect_to_new_process(self, fds: Sequence[int]) -> tuple[int, int]:
        """Ask the server for a child; as multiprocessing's, with a tracker channel to nowhere."""
        self.ensure_running()
        if len(fds) + 4 >= forkserver.MAXFDS_TO_SEND:
            raise ValueError("too many fds")
        address, alive = self._forkserver_address, self._forkserver_alive_fd
        if address is None or alive is None:
            raise OSError("The model sandbox's fork server was stopped meanwhile.")
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(address)
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            tracker = os.open(os.devnull, os.O_WRONLY)
            try:
                reduction.sendfds(client, [child_r, child_w, alive, tracker, *fds])
                return parent_r, parent_w
            except BaseException:
                os.close(parent_r)
                os.close(parent_w)
                raise
            finally:
                os.close(child_r)
                os.close(child_w)
                os.close(tracker)

    def _stop_unlocked(self) -> None:
        # Closing the "alive" pipe asks the server to end; it ends at once (children do not
        # hold the pipe), and is then reaped here, so it never lingers as a zombie.
        if self._process is None:
            return
        if self._forkserver_alive_fd is not None:
            os.close(self._forkserver_alive_fd)
            self._forkserver_alive_fd = None
        self._process.wait()
        self._forget()

    def _forget(self) -> None:
        if self._forkserver_alive_fd is not None:
            os.close(self._forkserver_alive_fd)
        address = self._forkserver_address
        if address and not util.is_abstract_socket_namespace(address):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address)
        self._process = None
        self._forkserver_address = None
        self._forkserver_alive_fd = None
        self._forkserver_pid = None


def bind_child_to_server(server_pid: int) -> None:
    """In a sandbox child, first thing: let go of the alive pipe and die with the server.

    Ends the child at once when the server is already gone (its caller was killed meanwhile).
    """
    state: Any = forkserver._forkserver
    if state._forkserver_alive_fd is not None:
        os.close(state._forkserver_alive_fd)
        state._forkserver_alive_fd = None
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != server_pid:
        os._exit(1)

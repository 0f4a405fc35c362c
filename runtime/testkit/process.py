"""Lifecycle of one locally started server process: ports, readiness, stop by pid.

Concrete servers (`servers.py`) only say how to write their config, how to probe them
and which log line means "ready"; everything about processes lives here.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"
_PORT_ATTEMPTS = 5
_LOG_TAIL_CHARS = 2000


class ServerBinaryNotFoundError(FileNotFoundError):
    """The server executable is neither on PATH nor installed by its pip package."""


class ServerStartError(RuntimeError):
    """The server process exited or did not become ready in time."""


def free_port() -> int:
    """A loopback port that was free a moment ago (the caller must tolerate a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port_with_partner(offset: int) -> int:
    """A free port `p` such that `p + offset` is a free port too.

    Redis Cluster's bus listens on port + 10000 (the only choice on Redis 6.2), and an
    ephemeral port above 55535 would put it past 65535.
    """
    for _ in range(200):
        port = free_port()
        if port + offset <= 65535 and port_is_free(port + offset):
            return port
    raise ServerStartError(f"no free loopback port p with p+{offset} free after 200 tries")


TEMP_PREFIX = "schemabus-"
#: Written into every temporary data dir: the pid of the process that owns it.
OWNER_FILE = "owner.pid"
_swept = False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


def _sweep_orphaned_dirs() -> None:
    """Delete data dirs whose owning process is gone (once per process).

    A test run killed with SIGTERM/SIGKILL (a CI timeout) skips atexit; its servers die
    with it (PDEATHSIG) but their temp dirs would pile up without this sweep.
    """
    global _swept
    if _swept:
        return
    _swept = True
    for path in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            owner = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if owner != os.getpid() and not _pid_alive(owner):
            shutil.rmtree(path, ignore_errors=True)


# Every running server, so that an interpreter exit never leaves one behind.
_LIVE: weakref.WeakSet[ManagedServer] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for server in list(_LIVE):
        server.close()


def _die_with_parent() -> None:
    # Runs in the child before exec: if the test process is SIGKILLed (CI timeout),
    # the kernel kills the server too, so no stray process outlives it.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class ManagedServer(ABC):
    """A server process on a loopback port with its own data directory.

    `start()` picks a free port (retrying if another process takes it first), launches
    the binary and waits until it logs its ready line and answers a protocol probe.
    `stop()` sends SIGTERM then SIGKILL after `stop_grace` seconds; `kill()` sends
    SIGKILL at once; `restart()` starts again on the same port with the same data dir.
    `close()` stops the process and removes the temporary directory.
    """

    name = "server"
    ready_marker = ""

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path | str | None = None,
        start_timeout: float = 15.0,
        stop_grace: float = 10.0,
    ) -> None:
        self._fixed_port = port
        self.port = port or 0
        self.host = LOOPBACK
        self._owns_dir = data_dir is None
        if data_dir is None:
            _sweep_orphaned_dirs()
            self.data_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + f"{self.name}-"))
            (self.data_dir / OWNER_FILE).write_text(str(os.getpid()))
        else:
            self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"{self.name}.log"
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        #: Every pid this object ever started (restarts add one), for leak checks.
        self.started_pids: list[int] = []

    # -- hooks for concrete servers -------------------------------------------------

    @abstractmethod
    def _command(self) -> list[str]:
        """Argv that runs the server on `self.port`; may write config files first."""

    @abstractmethod
    def _probe(self) -> bool:
        """True when the server answers its protocol on `self.port`."""

    @property
    @abstractmethod
    def url(self) -> str:
        """Client URL including credentials."""

    # -- lifecycle ------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Start the process and block until it accepts connections."""
        if self._closed:
            raise ServerStartError(f"{self.name} server was closed; create a new one")
        if self.running:
            return self
        if self.port:
            self._launch_and_wait()
            return self
        # Port 0 trick: a port found free can be taken before the server binds it, so
        # retry a few times with a fresh port when the server reports "in use".
        for attempt in range(_PORT_ATTEMPTS):
            self.port = self._pick_port()
            try:
                self._launch_and_wait()
                return self
            except _PortInUseError:
                if attempt == _PORT_ATTEMPTS - 1:
                    raise ServerStartError(
                        f"{self.name} could not find a free port after {_PORT_ATTEMPTS} tries"
                    ) from None
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Graceful stop: SIGTERM, then SIGKILL if still alive after `stop_grace` s."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._forget()

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would: for fault tests."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        proc.wait()
        self._forget()

    def restart(self, *, graceful: bool = True) -> Self:
        """Stop (or kill) and start again on the same port with the same data dir."""
        if graceful:
            self.stop()
        else:
            self.kill()
        return self.start()

    def close(self) -> None:
        """Stop the process and delete the data dir if this object created it."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {state}>"

    # -- internals ------------------------------------------------------------------

    def _pick_port(self) -> int:
        return free_port()

    def _forget(self) -> None:
        self._proc = None
        _LIVE.discard(self)

    def _launch_and_wait(self) -> None:
        argv = self._command()
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        on_main_thread = threading.current_thread() is threading.main_thread()
        # PDEATHSIG fires when the *thread* that forked exits, so only use it from the
        # main thread; elsewhere atexit and fixture finalisers still clean up.
        use_pdeathsig = sys.platform == "linux" and on_main_thread
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                argv,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C in the terminal reaches pytest, which then
                # stops servers in order, instead of killing them mid-test.
                start_new_session=True,
                preexec_fn=_die_with_parent if use_pdeathsig else None,
            )
        _LIVE.add(self)
        self.started_pids.append(self._proc.pid)
        self._wait_ready(log_offset)

    def _new_log(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self, log_offset: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                log = self._new_log(log_offset)
                self._forget()
                if "already in use" in log.lower() and not self._fixed_port:
                    raise _PortInUseError
                raise ServerStartError(
                    f"{self.name} exited with code {code} while starting on port "
                    f"{self.port}; its log ({self.log_path}) ends with:\n{log[-_LOG_TAIL_CHARS:]}"
                )
            # The ready line proves it is *our* process that bound the port, the probe
            # proves it really answers (AOF/JetStream recovery finished).
            if self.ready_marker in self._new_log(log_offset) and self._probe():
                return
            if time.monotonic() > deadline:
                log = self._new_log(log_offset)
                self.kill()
                raise ServerStartError(
                    f"{self.name} did not accept connections on port {self.port} within "
                    f"{self.start_timeout}s; its log ({self.log_path}) ends with:\n"
                    f"{log[-_LOG_TAIL_CHARS:]}"
                )
            time.sleep(0.02)


class _PortInUseError(Exception):
    pass


def find_executable(name: str, *fallbacks: Path | str | None) -> str:
    """`name` from PATH (unless empty), else the first existing executable fallback; ""
    when there is none (callers turn that into an error naming what to install)."""
    found = shutil.which(name) if name else None
    if found:
        return found
    for candidate in fallbacks:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return ""


def connect_and_read(port: int, payload: bytes, lines: int, timeout: float = 0.5) -> bytes:
    """Send `payload` to the loopback port and read until `lines` CRLF-ended lines arrive."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            if payload:
                sock.sendall(payload)
            data = b""
            while data.count(b"\r\n") < lines:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data
    except OSError:
        return b""

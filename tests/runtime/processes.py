"""Helpers for tests that drive `schemabus` as a real process against misbehaving servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]

#: Liveness bound for one CLI process: far above any deadline under test, so a hang fails
#: the test instead of blocking the suite; it is never a performance assertion.
PROCESS_LIVENESS_S = 60.0


class SilentListener:
    """A TCP server that accepts connections and never sends a byte (a stopped server
    behind a proxy, a wrong port on a load balancer)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> SilentListener:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed.set()
        self._sock.close()
        for conn in self._held:
            conn.close()

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)  # kept open, never answered


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any SCHEMABUS_* or REDIS_URL setting."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SCHEMABUS_") and k != "REDIS_URL"
    }
    env.update(extra)
    return env


def schemabus(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `schemabus ARGS...` from the project root; a hang fails after the liveness bound."""
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_LIVENESS_S,
        check=False,
    )

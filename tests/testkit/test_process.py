"""Process bookkeeping shared by both servers: orphaned temp dirs are swept."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runtime.testkit import NatsServer, process


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.nats
def test_orphaned_dirs_of_dead_runs_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    tmp = Path(tempfile.gettempdir())
    orphan = Path(tempfile.mkdtemp(prefix="schemabus-nats-", dir=tmp))
    (orphan / process.OWNER_FILE).write_text(str(_dead_pid()))
    foreign = Path(tempfile.mkdtemp(prefix="schemabus-nats-", dir=tmp))  # no owner file
    monkeypatch.setattr(process, "_swept", False)
    try:
        with NatsServer(jetstream=False) as server:
            assert (server.data_dir / process.OWNER_FILE).read_text().strip().isdigit()
            assert not orphan.exists()
            assert foreign.exists()
    finally:
        foreign.rmdir()

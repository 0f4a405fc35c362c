"""`make demo` as a user runs it: separate processes, a summary line, and nothing left
running afterwards (also when interrupted with Ctrl-C)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.nats, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"^demo: placed=(\d+) completed=(\d+) payment_failed=(\d+) dead_lettered=(\d+)$"
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    env["SCHEMABUS_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def _ports(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"started (?:redis|nats)-server on port (\d+)", output)]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _demo_services_running(ports: list[int]) -> list[int]:
    """pids of `schemabus run` processes pointed at this demo's servers."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"SCHEMABUS_CONSUMER=demo-" in environ and any(
            f":{port}".encode() in environ for port in ports
        ):
            found.append(int(proc.name))
    return found


def _assert_clean(ports: list[int]) -> None:
    assert len(ports) == 2, "the demo should have started its own redis and nats"
    deadline = time.monotonic() + 10
    while any(_listening(p) for p in ports) or _demo_services_running(ports):
        assert time.monotonic() < deadline, "stray processes after the demo exited"
        time.sleep(0.1)


def test_demo_runs_every_order_to_a_final_state(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "services.demo", "--orders", "120"],
        cwd=tmp_path,
        env={**_env(tmp_path), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    last = proc.stdout.strip().splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last
    placed, completed, failed, dead = map(int, match.groups())
    assert placed == 120 == completed + failed
    assert failed >= 1 and dead == 0
    assert "v1 events handled    5/5 reached a final state" in proc.stdout
    assert "p50" in proc.stdout and "orders/min" in proc.stdout
    # One order's trace spans the services it went through.
    trace = proc.stdout.split("one order's trace", 1)[1]
    for name in ("order", "payment", "inventory"):
        assert f" {name} " in trace
    assert "metrics: http://127.0.0.1:" in output
    _assert_clean(_ports(output))


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.demo", "--orders", "200000"],
        cwd=tmp_path,
        env={**_env(tmp_path), "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "placed" in line and "final" in line:
            break  # orders are flowing
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    output = "".join(seen) + rest
    assert proc.returncode == 130, output
    assert "stopped everything it started" in output
    _assert_clean(_ports(output))


def _cluster_ports(output: str) -> list[int]:
    ports: list[int] = []
    for found in re.findall(r"started a (?:Redis|NATS) [Cc]luster.*? on ports ([\d, ]+)", output):
        ports += [int(p) for p in found.split(",")]
    return ports


def test_demo_on_clusters_survives_a_master_a_node_and_a_replica_dying(tmp_path: Path) -> None:
    """`make demo CLUSTER=1`: Valkey Cluster + NATS cluster, 2 replicas per service; a
    Redis master, a NATS node and a payment replica are SIGKILLed mid-run."""
    proc = subprocess.run(
        [sys.executable, "-m", "services.demo", "--orders", "400", "--cluster"],
        cwd=tmp_path,
        env={**_env(tmp_path), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    match = LAST_LINE.match(proc.stdout.strip().splitlines()[-1])
    assert match, output
    placed, completed, failed, dead = map(int, match.groups())
    assert placed == 400 == completed + failed and dead == 0
    for what in ("the Redis master on port", "NATS node", "service replica payment-1"):
        assert f"chaos: SIGKILLed {what}" in output
    assert "promoted port" in output
    assert "killed mid-run       redis master" in proc.stdout
    ports = _cluster_ports(output)
    assert len(ports) == 9, output  # 6 Redis nodes, 3 NATS nodes
    deadline = time.monotonic() + 10
    while any(_listening(p) for p in ports) or _demo_services_running(ports):
        assert time.monotonic() < deadline, "stray processes after the demo exited"
        time.sleep(0.1)

"""The live gate against services running as separate processes on a real Redis.

Two builds of the payment service run side by side, as during a rollout: `payment-old`
was generated from an older copy of the contracts and reads `order.created` v1;
`payment-new` reads v2 and was built from the proposed contracts, which add a v3 that v2
reads and v1 does not. `codegen check --deployed` must fail naming payment-old, agree
with a snapshot file, and pass once payment-old is gone and its heartbeat has expired.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.testkit.servers import RedisServer
from tests.codegen.golden import run_codegen
from tests.gate import project as P

pytestmark = [pytest.mark.redis, pytest.mark.slow]

THREE = P.three_versions()


def _service(
    root: Path, service: str, replica: str, url: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    env.update(
        SCHEMABUS_REDIS_URL=url,
        SCHEMABUS_CONSUMER=replica,
        SCHEMABUS_LEASE_TTL_MS="1500",
        SCHEMABUS_HEARTBEAT_MS="300",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "run", service, "--log-format", "text"],
        cwd=root,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _deployed(url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "--redis-url", url, "deployed", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def _replicas(url: str) -> list[str]:
    replicas = _deployed(url)["replicas"]
    assert isinstance(replicas, list)
    return sorted(r["replica"] for r in replicas)


def _wait(condition: object, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def rollout(
    tmp_path: Path, redis_server_factory: object
) -> Iterator[tuple[Path, str, dict[str, subprocess.Popen[bytes]]]]:
    old = P.build(tmp_path / "old", THREE[:2], writes=2, reads=1)
    new = P.build(tmp_path / "new", THREE, writes=3, reads=2)
    server: RedisServer = redis_server_factory()  # type: ignore[operator]
    procs = {
        "payment-old": _service(old, "payment", "payment-old", server.url, tmp_path / "old.log"),
        "payment-new": _service(new, "payment", "payment-new", server.url, tmp_path / "new.log"),
    }
    try:
        _wait(lambda: _replicas(server.url) == ["payment-new", "payment-old"], "both replicas")
        yield new, server.url, procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def test_check_deployed_names_the_old_consumer_until_its_heartbeat_expires(
    rollout: tuple[Path, str, dict[str, subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    root, url, procs = rollout
    code, out, err = run_codegen(root, "check", "--deployed", url)
    assert code == 1, out + err
    (finding,) = out.splitlines()
    assert finding.endswith("(DEPLOYED_CONSUMER_BREAKS)")
    assert "deployed payment replica payment-old (reads order.created at v1" in finding
    assert "payment-new" not in finding
    assert "Example that breaks:" in finding
    assert "rollout: deploy consumers payment first, then producers order" in err

    # The snapshot file a gate without access to production would get, same verdict.
    snap = tmp_path / "deployed.json"
    snap.write_text(json.dumps(_deployed(url)))
    code_file, out_file, err_file = run_codegen(root, "check", "--deployed", str(snap))
    assert (code_file, out_file) == (code, out)
    assert [x for x in err_file.splitlines() if not x.startswith("deployed:")] == [
        x for x in err.splitlines() if not x.startswith("deployed:")
    ]

    # SIGKILL: no goodbye, the advertisement has to expire on its own.
    procs["payment-old"].send_signal(signal.SIGKILL)
    procs["payment-old"].wait()
    _wait(lambda: run_codegen(root, "check", "--deployed", url)[0] == 0, "the check to pass")
    assert _replicas(url) == ["payment-new"]

    # A graceful stop leaves the registry at once.
    procs["payment-new"].send_signal(signal.SIGTERM)
    assert procs["payment-new"].wait(timeout=30) == 0
    assert _replicas(url) == []


def test_both_checks_against_the_demo_while_it_runs(tmp_path: Path) -> None:
    """What the README promises: while `make demo` runs, the command it prints works."""
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    env.update(SCHEMABUS_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(repo))
    demo = subprocess.Popen(
        [sys.executable, "-m", "services.demo", "--orders", "200000"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    url = ""
    try:
        for line in demo.stdout:
            if "live gate: .venv/bin/codegen check --deployed " in line:
                url = line.split("--deployed ", 1)[1].split()[0]
            if url and "placed" in line and "final" in line:
                break  # orders are flowing
        assert url.startswith("redis://127.0.0.1:"), "the demo prints the live gate command"
        code, out, err = run_codegen(repo, "check", "--deployed", url, "--samples", url)
        assert (code, out) == (0, ""), err
        assert f"deployed: 4 live replica(s) in {url}" in err
        for stream in ("orders", "payments"):
            line = next(x for x in err.splitlines() if f": {stream}: " in x)
            checked, passed = (int(w) for w in line.split(": ")[-1].split() if w.isdigit())
            assert checked == passed > 0, line
    finally:
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=60)

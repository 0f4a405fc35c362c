"""A group that fails half-way through starting stops what it had started already."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.testkit import RedisCluster, ServerStartError, find_redis_server, pid_alive

pytestmark = pytest.mark.redis


def test_cluster_that_fails_to_start_leaves_nothing_behind(tmp_path: Path) -> None:
    # A server binary that works for the first four nodes, then refuses to start.
    real = find_redis_server()
    counter = tmp_path / "starts"
    wrapper = tmp_path / "flaky-server"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then exec "{real}" --version; fi\n'
        f'echo x >> "{counter}"\n'
        f'if [ "$(wc -l < "{counter}")" -gt 4 ]; then echo "refusing" >&2; exit 3; fi\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    cluster = RedisCluster(binary=str(wrapper), start_timeout=20)
    with pytest.raises(ServerStartError, match="exited with code 3"), cluster:
        pass
    assert len(cluster.started_pids) == 5
    assert [p for p in cluster.started_pids if pid_alive(p)] == []
    assert not any(m.data_dir.exists() for m in cluster.members)

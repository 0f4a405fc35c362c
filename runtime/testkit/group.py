"""A set of server processes started and stopped together (clusters, sentinel groups).

Every member is a `ManagedServer`, so each can be killed (SIGKILL) and restarted on its
own port and data dir; `close()` stops every process the group ever started, by pid.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Generic, Self, TypeVar

from runtime.testkit.process import ManagedServer

S = TypeVar("S", bound=ManagedServer)
T = TypeVar("T")


class GroupTimeoutError(TimeoutError):
    """A cluster/sentinel group did not reach the awaited state in time."""


def wait_for(
    what: str, check: Callable[[], T | None], timeout: float, *, interval: float = 0.05
) -> T:
    """Poll `check` until it returns something other than None/False; its last error or
    `what` is named when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
        except Exception as exc:  # the servers are in flux: keep polling
            result, last_error = None, exc
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise GroupTimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes: Popen.wait() in kill()/stop() reaps our own.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


class ServerGroup(Generic[S]):
    """Members plus lifecycle: start all, kill/restart one, close all."""

    def __init__(self) -> None:
        self.members: list[S] = []
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Self:
        raise NotImplementedError

    def kill(self, member: S) -> None:
        """SIGKILL one member, as a crash would."""
        member.kill()

    def restart(self, member: S) -> S:
        """Start a stopped or killed member again on the same port with its data dir."""
        member.start()
        return member

    def close(self) -> None:
        """Stop every member (SIGTERM, then SIGKILL) and delete their temp dirs."""
        if self._closed:
            return
        self._closed = True
        errors: list[BaseException] = []
        for member in self.members:
            try:
                member.close()
            except BaseException as exc:  # close the rest, then report
                errors.append(exc)
        if errors:
            raise errors[0]

    @property
    def started_pids(self) -> list[int]:
        """Every pid any member ever ran as (restarts included)."""
        return [pid for m in self.members for pid in m.started_pids]

    def live_pids(self) -> list[int]:
        return [pid for pid in self.started_pids if pid_alive(pid)]

    def running(self) -> Iterator[S]:
        return (m for m in self.members if m.running)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

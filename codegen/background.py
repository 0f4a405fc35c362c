"""A runtime helper process, started early and collected later.

codegen reaches the broker and the generated code only through `python -m runtime...`
processes (it never imports them). They start as soon as their input is known and run
while the offline gate does its own work, so on a machine with more than one core their
interpreter start-up and broker round trips cost little extra wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class Background:
    def __init__(
        self,
        module: str,
        args: list[str],
        *,
        cwd: Path,
        stdin: str = "",
        env: dict[str, str] | None = None,
    ) -> None:
        """`env` is added to this process's environment (secrets go there or in `stdin`,
        never in `args`, which any user of the machine can read)."""
        self.command = f"python -m {module}"
        try:
            self._proc: subprocess.Popen[str] | None = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=cwd,
                env={**os.environ, **env} if env else None,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as exc:
            self._proc, self._error = None, str(exc)
            return
        self._error = ""
        assert self._proc.stdin is not None
        try:
            # The child reads its whole input first, so this never waits for long.
            self._proc.stdin.write(stdin)
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # it exited early; wait() reports why
        self._proc.stdin = None  # closed: communicate() must not flush it

    def wait(self, timeout_s: float = 600) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); exit code -1 with the reason when it could not run."""
        if self._proc is None:
            return -1, "", f"cannot run {self.command}: {self._error}"
        try:
            out, err = self._proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.cancel()
            return -1, "", f"{self.command} did not finish within {timeout_s:g} s"
        return self._proc.returncode, out, err

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()

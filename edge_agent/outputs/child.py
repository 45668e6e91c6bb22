"""A child process that writes PCM on stdout (ffmpeg decoding a stream, snapclient): read it, end it."""

from __future__ import annotations

import contextlib
import math
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Self

from edge_agent.outputs.ffmpeg import end_process

_READ = 4096  # ~90 ms of PCM: a write blocked on a full aplay pipe overshoots the end by at most this
_POLL_S = 0.05
_KEEP = 4000  # bytes of the child's stderr kept for the error message


class PcmChild:
    """One child with stdout and stderr pipes; its stderr is drained as it reads, so it never blocks."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._stderr = b""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(
        self, deadline: float = math.inf, stop: threading.Event | None = None, *, idle: bool = False
    ) -> Iterator[bytes]:
        """Yield PCM as it arrives until the child closes stdout, the deadline passes or stop is set.

        idle: also yield b"" after each poll without PCM, so the caller can check its own bounds.
        """
        assert self.process.stdout is not None and self.process.stderr is not None
        out, err = self.process.stdout.fileno(), self.process.stderr.fileno()
        open_fds = [out, err]
        while out in open_fds and not (stop is not None and stop.is_set()):
            remaining = deadline - time.time()
            if remaining <= 0:
                return
            ready, _, _ = select.select(open_fds, [], [], min(_POLL_S, remaining))
            data = b""
            for fd in ready:
                read = os.read(fd, _READ)
                if not read:
                    open_fds.remove(fd)
                elif fd == out:
                    data = read
                else:
                    self._stderr = (self._stderr + read)[-_KEEP:]
            if data or (idle and out in open_fds):
                yield data

    def close(self) -> str:
        """End the child if it still runs, close its pipes; return the end of what it said on stderr."""
        process = self.process
        end_process(process)
        if process.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                self._stderr = (self._stderr + process.stderr.read())[-_KEEP:]
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        return self._stderr.decode(errors="replace")

"""A real managed snapserver on free ports in a temporary directory, for tests.

with running_snapserver(tmp_path) as server:
    server.cfg.stream_port, server.cfg.control_port, server.cfg.source_port(1)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from broadcast.snapcast.config import SnapserverConfig
from broadcast.snapcast.server import ManagedSnapserver
from tests.support.free_port import free_port


def require_snapserver() -> None:
    """Skip when snapserver is not installed (under CI=true the skip fails: tests/conftest.py)."""
    if shutil.which("snapserver") is None:
        pytest.skip("snapserver not installed (apt-get install snapserver)")


def snapserver_config(directory: Path, *, channels: int = 2, buffer_ms: int = 400) -> SnapserverConfig:
    """Return a loopback-only config on free ports, its files under `directory`."""
    return SnapserverConfig(
        executable="snapserver",
        state_dir=directory,
        bind="127.0.0.1",
        stream_port=free_port(),
        control_port=free_port(),
        source_ports=tuple(free_port() for _ in range(channels)),
        buffer_ms=buffer_ms,
    )


@contextmanager
def running_snapserver(
    directory: Path, *, channels: int = 2, buffer_ms: int = 400
) -> Iterator[ManagedSnapserver]:
    """Start a ManagedSnapserver (its config is `.cfg`) and stop it on the way out."""
    require_snapserver()
    server = ManagedSnapserver(snapserver_config(directory, channels=channels, buffer_ms=buffer_ms))
    server.start()
    try:
        yield server
    finally:
        server.stop()

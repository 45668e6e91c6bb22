"""What every speaker output implements: play one clip, say when sound started, stop on request."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broadcast.protocol import PlayCommand


class OutputError(RuntimeError):
    """The output cannot be set up or cannot play (missing tool, device busy, ...)."""


@dataclass(frozen=True)
class PlayRequest:
    """One play: the verified command, the cached clip file, and the device playing it."""

    command: PlayCommand
    clip_path: Path
    device_id: str


class Output(ABC):
    """A speaker (or a stand-in for one) that plays one clip at a time."""

    name: str = "output"

    def prepare(self, request: PlayRequest) -> None:
        """Do slow set-up for a play just before its start time, so the start itself is quick."""
        return  # optional: most outputs have nothing to prepare

    @abstractmethod
    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Play the clip; call started(unix time) as sound starts; return when it ends or stop is set."""

"""What every speaker output implements: play one clip or relay one stream, say when sound started, stop."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from broadcast.protocol import PlayCommand, StreamCommand

if TYPE_CHECKING:
    from edge_agent.outputs.live import LiveFeed


class OutputError(RuntimeError):
    """The output cannot be set up or cannot play (missing tool, device busy, ...)."""


@dataclass(frozen=True)
class AlertPart:
    """Which part of an emergency alert a play is: the siren, the message (repeat n) or a correction."""

    part: Literal["preamble", "audio", "correction"]
    repeat_index: int = 0


@dataclass(frozen=True)
class PlayRequest:
    """One play: the verified command, the cached clip file, and the device playing it.

    For a stream relay, `stream` is the stream command and `command` its stand-in for the playout (same
    id, times and priority; see control.stream_play); there is no clip file. For a live session,
    `live` is its feed and `command` its stand-in (see live.live_play).
    """

    command: PlayCommand
    clip_path: Path
    device_id: str
    stream: StreamCommand | None = None
    alert: AlertPart | None = None
    live: LiveFeed | None = None


class Output(ABC):
    """A speaker (or a stand-in for one) that plays one clip at a time."""

    name: str = "output"

    def prepare(self, request: PlayRequest) -> None:
        """Do slow set-up for a play just before its start time, so the start itself is quick."""
        return  # optional: most outputs have nothing to prepare

    def finish(self, request: PlayRequest) -> None:
        """Release what prepare() set up, if the play did not use it (always called after a play)."""
        return

    @abstractmethod
    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Play the clip; call started(unix time) as sound starts; return when it ends or stop is set."""

    def relay(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Relay request.stream from its start_at until start_at + duration_s (or until stop is set)."""
        raise OutputError(f"the {self.name} output cannot relay streams")

    def live(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Play request.live until the agent leaves the session (or until stop is set)."""
        raise OutputError(f"the {self.name} output cannot play live broadcasts")

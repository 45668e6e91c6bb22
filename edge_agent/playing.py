"""Which plays are on the loudspeaker right now, on disk: after a power cut the agent knows what was cut.

A play is marked before its pending copy goes (so it is never played twice) and unmarked when it ends.
A mark found at start-up is a play a power loss or crash cut off: reported once, never played again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from broadcast import protocol
from edge_agent._files import fsync_dir, try_atomic_write
from edge_agent.gpio.amp import AmpControl
from edge_agent.pending import PendingStore
from edge_agent.playout import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlayMark:
    """A play that had started: its command id, when it started, and how long it was to last."""

    command_id: str
    started_at: float
    duration_s: float

    def cut_off_reason(self, now: float) -> str:
        """Return the honest report: it started, was cut short, how much at most was heard."""
        heard = max(0.0, min(now - self.started_at, self.duration_s))
        started = time.strftime("%H:%M:%S", time.localtime(self.started_at))
        if self.duration_s == 0:  # a live session: no length known (its next renewal rejoins it)
            return f"cut off by a power loss or crash: on the air since {started} (live, length unknown)"
        return (
            f"cut off by a power loss or crash: started at {started}, at most {heard:.0f} s of "
            f"{self.duration_s:.0f} s heard; not played again"
        )


class PlayMarks:
    """One small JSON file per play on the output, named like the pending store's files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def mark(self, command_id: str, duration_s: float) -> None:
        """Record durably that a play starts now."""
        data = {"id": command_id, "started_at": time.time(), "duration_s": duration_s}
        try_atomic_write(self._path(command_id), json.dumps(data).encode(), "the now-playing mark")

    def clear(self, command_id: str) -> None:
        """Forget a play that ended (played, interrupted, or failed)."""
        path = self._path(command_id)
        if path.exists():
            path.unlink()
            fsync_dir(self.directory)

    def leftovers(self) -> list[PlayMark]:
        """Return the plays a power loss or crash cut off (marks still present at start-up)."""
        marks = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_bytes())
                marks.append(PlayMark(str(data["id"]), float(data["started_at"]), float(data["duration_s"])))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("removing unreadable play mark %s: %s", path.name, exc)
                path.unlink(missing_ok=True)
        return marks

    def _path(self, command_id: str) -> Path:
        return self.directory / f"{PendingStore.key(command_id)}.json"


class OnAir:
    """What the playout says of each play, kept on disk: marked as it starts, cleared as it ends."""

    def __init__(self, marks: PlayMarks, pending: PendingStore, amp: AmpControl) -> None:
        self.marks, self.pending, self.amp = marks, pending, amp

    def started(self, command: protocol.PlayCommand) -> None:
        """Forget a play that started (a restart must not play it twice), marking it as on the air."""
        self.marks.mark(command.id, command.clip.duration_s)  # first: a cut between leaves both
        self.pending.remove(command.id)

    def done(self, command: protocol.PlayCommand, outcome: Outcome) -> None:
        """Release the amplifier; keep a play that never began because the agent stopped."""
        self.amp.release(command.id)
        self.marks.clear(command.id)
        if outcome != "stopped":
            self.pending.remove(command.id)

"""Control commands: keep the volume across power cuts; turn a test tone or a stream into a playout item."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from broadcast import protocol
from edge_agent._files import atomic_write
from edge_agent.mixer import Mixer, MixerError
from edge_agent.tone import ensure_tone

log = logging.getLogger(__name__)


class VolumeKeeper:
    """Apply volume levels through the mixer and remember the last one in the state dir.

    ALSA saves mixer levels only on a clean shutdown (alsa-state), so after a power cut the card comes
    back with an old level; the agent re-applies the station's last level when it starts. `default` (a
    config setting) is the level used while the station never sent one.
    """

    def __init__(self, mixer: Mixer, path: Path, default: int | None = None) -> None:
        self.mixer = mixer
        self.path = path
        self.default = default
        self.level: int | None = self._load()

    def restore(self) -> None:
        """Re-apply the remembered level, else the default (if any); a missing mixer is logged, not fatal."""
        level = self.level if self.level is not None else self.default
        if level is None:
            return
        try:
            self.mixer.set_volume(level)
        except MixerError as exc:
            log.warning("could not restore volume %d%%: %s", level, exc)

    def set_default(self, default: int | None) -> None:
        """Change the default level; applied now if no level was ever set by a volume command."""
        changed = default != self.default
        self.default = default
        if changed and self.level is None:
            self.restore()

    def current(self) -> int | None:
        """Return the last level set, else what the mixer says now (None without a mixer)."""
        if self.level is not None:
            return self.level
        try:
            level = self.mixer.get_volume()
        except MixerError:
            return None
        return None if level is None else min(100, level)

    def apply(self, level: int) -> None:
        """Set the level (raises MixerError) and remember it."""
        self.mixer.set_volume(level)
        self.level = level
        atomic_write(self.path, json.dumps({"level": level}).encode())

    def _load(self) -> int | None:
        try:
            level = json.loads(self.path.read_bytes())["level"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return None
        valid = isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 100
        return level if valid else None


def tone_play(command: protocol.TestToneCommand, directory: Path) -> tuple[protocol.PlayCommand, Path]:
    """Write the tone's WAV file and return the play command (same id and timing) that plays it."""
    path, clip = ensure_tone(directory, command.frequency, command.duration_s)
    play = protocol.PlayCommand(
        id=command.id,
        seq=command.seq,
        issued_at=command.issued_at,
        expires_at=command.expires_at,
        start_at=command.start_at,
        priority="normal",  # a check of the speakers never cuts into a bulletin; an alert cuts into it
        zones=command.zones,
        clip=clip,
        title=f"test tone {command.frequency:g} Hz",
    )
    return play, path


def stream_play(command: protocol.StreamCommand) -> protocol.PlayCommand:
    """Return the playout's stand-in for a stream relay: same id, timing and priority, no clip file.

    Its clip sha256 is the sha256 of the stream URL, so a play report names what was relayed.
    """
    return protocol.PlayCommand(
        id=command.id,
        seq=command.seq,
        issued_at=command.issued_at,
        expires_at=command.expires_at,
        start_at=command.start_at,
        priority=command.priority,
        zones=command.zones,
        clip=protocol.ClipRef(
            url=command.url,
            sha256=hashlib.sha256(command.url.encode()).hexdigest(),
            size=1,
            duration_s=command.duration_s,
        ),
        title=command.title,
    )

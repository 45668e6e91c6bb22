"""The ALSA mixer through `amixer` (the only module that runs amixer): set and read the volume."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

log = logging.getLogger(__name__)

_PERCENT = re.compile(r"\[(\d{1,3})%\]")


class MixerError(RuntimeError):
    """amixer is missing, refused the control, or timed out; the text says which."""


class Mixer:
    """One simple mixer control (e.g. "PCM" on the Pi's headphone jack) of one card."""

    def __init__(self, control: str = "PCM", card: str = "", amixer: str = "amixer", timeout_s: float = 5.0):
        self.control = control
        self.card = card
        self.amixer = amixer
        self.timeout_s = timeout_s

    def set_volume(self, level: int) -> None:
        """Set the control to level percent (0-100) and unmute it (mute at 0)."""
        if not 0 <= level <= 100:
            raise ValueError(f"volume level {level} is not within 0-100")
        # A control muted before a power cut stays muted whatever its level: unmute with every change.
        self._run(["-q", "sset", self.control, f"{level}%", "unmute" if level else "mute"])
        log.info("volume set to %d%% (%s)", level, self._name())

    def get_volume(self) -> int | None:
        """Return the control's level in percent, or None if amixer does not say."""
        match = _PERCENT.search(self._run(["sget", self.control]))
        return int(match.group(1)) if match else None

    def _run(self, args: list[str]) -> str:
        executable = shutil.which(self.amixer)
        if executable is None:
            raise MixerError(f"{self.amixer!r} not found: install alsa-utils (apt install alsa-utils)")
        # -M: the "mapped" scale, which follows loudness as heard; raw steps are far from linear.
        command = [executable, *(["-c", self.card] if self.card else []), "-M", *args]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MixerError(f"amixer failed for {self._name()}: {exc}") from exc
        if done.returncode != 0:
            raise MixerError(f"amixer failed for {self._name()}: {done.stderr.strip()[-300:]}")
        return done.stdout

    def _name(self) -> str:
        return f"control {self.control!r}" + (f" of card {self.card!r}" if self.card else "")

"""The recording of every live session: encoded to MP3 as it airs, then kept in the clip store as proof."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from broadcast.audio import AudioError, Mp3Recorder, analyse, ffmpeg_exe
from broadcast.clipstore.store import ClipStorage
from broadcast.storage.models import Clip, LiveSession

log = logging.getLogger(__name__)

RATE = 16000  # the live audio's own rate (on_air.RATE)
BITRATE = "48k"  # the bitrate of every clip: a recording a commune keeps for years, sized like the rest


class Recording:
    """One session's MP3, written to a file in the live directory while the session airs."""

    def __init__(self, directory: Path, session_id: str, ffmpeg_bin: str | None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{session_id}.mp3"
        self._ffmpeg = ffmpeg_exe(ffmpeg_bin)
        self._recorder = Mp3Recorder(self._ffmpeg, str(self.path), RATE, bitrate=BITRATE)
        self.written = 0

    def write(self, pcm: bytes) -> None:
        self._recorder.write(pcm)
        self.written += len(pcm)

    def finish(self) -> bytes:
        """Close the encoder and return the MP3 (the file is removed once read)."""
        self._recorder.close()
        data = self.path.read_bytes()
        self.path.unlink(missing_ok=True)
        return data

    def store(self, session: Session, clips: ClipStorage, row: LiveSession) -> None:
        """Finish the recording and attach it to the session; a failure is kept on the row, not raised."""
        try:
            data = self.finish()
            if not self.written:  # ended before anything aired (not even the chime): nothing to keep
                return
            if not data:
                raise AudioError("bản ghi rỗng")
            loudness, duration = analyse(data, self._ffmpeg, timeout=60.0 + len(data) / 6000)
            sha = clips.put(data)
            if session.get(Clip, sha) is None:
                session.add(Clip(sha256=sha, size=len(data), duration_s=duration, loudness_lufs=loudness))
                session.flush()
            row.archive_sha256 = sha
        except Exception as exc:
            log.exception("live session %s: the recording could not be kept", row.id)
            row.archive_error = f"Không lưu được bản ghi: {exc}"[:500]

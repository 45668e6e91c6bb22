"""The file sink: a stand-in speaker that records each play in plays.jsonl and keeps the audio."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from edge_agent.outputs.base import Output, PlayRequest

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


class FileSink(Output):
    """Append one JSON line per play to DIR/plays.jsonl and copy the clip into DIR."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log_path = directory / "plays.jsonl"
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def prepare(self, request: PlayRequest) -> None:
        """Copy the clip into DIR ahead of the start, so the copy does not delay it."""
        self._keep_audio(request.clip_path, self.directory / _audio_name(request))

    def play(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Record the play at its start, with the audio already kept, then stay busy for its duration."""
        command = request.command
        audio_name = _audio_name(request)
        self._keep_audio(request.clip_path, self.directory / audio_name)  # a no-op after prepare()
        started_at = time.time()
        record = {
            "command_id": command.id,
            "device_id": request.device_id,
            "clip_sha256": command.clip.sha256,
            "started_at": started_at,
            "start_at": command.start_at,
            "duration_s": command.clip.duration_s,
            "priority": command.priority,
            "title": command.title,
            "file": audio_name,
        }
        with self._lock, self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        started(started_at)
        # A real speaker is busy for the clip's length; an interrupt (stop) ends it early.
        stop.wait(max(0.0, started_at + command.clip.duration_s - time.time()))

    def _keep_audio(self, source: Path, target: Path) -> None:
        if target.exists():
            return  # content-addressed: the same name is the same audio
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)


def _audio_name(request: PlayRequest) -> str:
    """Return the kept audio's name: the clip hash plus the URL's extension (".mp3")."""
    return request.command.clip.sha256 + _suffix(request.command.clip.url)


def _suffix(url: str) -> str:
    """Return the clip URL's file extension if it is a plain one (".mp3"), else ""."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if _SUFFIX.fullmatch(suffix) else ""

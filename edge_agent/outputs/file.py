"""The file sink: a stand-in speaker that records each play in plays.jsonl and keeps the audio (or stream)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from edge_agent._files import atomic_file
from edge_agent.outputs.base import Output, OutputError, PlayRequest
from edge_agent.outputs.ffmpeg import BYTES_PER_S, close_encoder, find_ffmpeg, start_encoder
from edge_agent.outputs.stream import Warm, relay

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_GAP_S = 0.2  # a live feed this far behind the wall clock (snapclient restarting) is padded with silence


class FileSink(Output):
    """Append one JSON line per play to DIR/plays.jsonl and copy the clip into DIR."""

    name = "file"

    def __init__(self, directory: Path, ffmpeg: str = "") -> None:
        self.directory = directory
        self.log_path = directory / "plays.jsonl"
        self.ffmpeg = ffmpeg  # for stream relays only, found when the first one starts
        self._lock = threading.Lock()
        self._warm = Warm()
        directory.mkdir(parents=True, exist_ok=True)

    def prepare(self, request: PlayRequest) -> None:
        """Copy the clip into DIR (or open the stream) ahead of the start, so the start itself is quick."""
        if request.stream is not None:
            self._warm.open(find_ffmpeg(self.ffmpeg), request.stream)
            return
        self._keep_audio(request.clip_path, self.directory / _audio_name(request))

    def finish(self, request: PlayRequest) -> None:
        """Close a stream opened by prepare() that was not relayed."""
        self._warm.close(request.command.id)

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
        if request.alert is not None:
            record.update(kind="alert", part=request.alert.part, repeat_index=request.alert.repeat_index)
        self._append(record)
        started(started_at)
        # A real speaker is busy for the clip's length; an interrupt (stop) ends it early.
        stop.wait(max(0.0, started_at + command.clip.duration_s - time.time()))

    def relay(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Record the live stream into DIR/<start>-stream-<id>.mp3 and stay busy until the relay's end."""
        stream = request.stream
        if stream is None:
            raise OutputError(f"command {request.command.id} is not a stream")
        ffmpeg = find_ffmpeg(self.ffmpeg)
        name = f"{int(stream.start_at)}-stream-{_file_id(stream.id)}.mp3"
        encoder = start_encoder(ffmpeg, self.directory / name)
        assert encoder.stdin is not None
        heard: list[float] = []

        def on_started(started_at: float) -> None:
            heard.append(started_at)
            record = {
                "kind": "stream",
                "command_id": stream.id,
                "device_id": request.device_id,
                "url": stream.url,
                "started_at": started_at,
                "start_at": stream.start_at,
                "duration_s": stream.duration_s,
                "priority": stream.priority,
                "title": stream.title,
                "file": name,
            }
            self._append(record)
            started(started_at)

        try:
            relay(ffmpeg, stream, encoder.stdin.write, on_started, stop, self._warm.take(stream.id))
        finally:
            close_encoder(encoder)
            if not heard:  # nothing was recorded: keep no empty file
                (self.directory / name).unlink(missing_ok=True)
        # Like a speaker, the sink is busy until the slot ends even if the stream gave its audio early.
        stop.wait(max(0.0, stream.start_at + stream.duration_s - time.time()))

    def live(self, request: PlayRequest, started: Callable[[float], None], stop: threading.Event) -> None:
        """Record a live session into DIR/<start>-live-<session>.mp3, continuous on the wall clock.

        plays.jsonl gets a `live` line when the first PCM comes (duration_s 0: not known yet) and a
        `live_end` line when the agent leaves (ended_at, duration_s, cause).
        """
        feed = request.live
        if feed is None:
            raise OutputError(f"command {request.command.id} is not a live session")
        command = request.command
        name = f"{int(time.time())}-live-{_file_id(feed.session_id)}.mp3"
        encoder = start_encoder(find_ffmpeg(self.ffmpeg), self.directory / name)
        assert encoder.stdin is not None
        sink = encoder.stdin
        first: list[float] = []
        written = 0
        base = {
            "command_id": command.id,
            "device_id": request.device_id,
            "session_id": feed.session_id,
            "clip_sha256": command.clip.sha256,
            "priority": command.priority,
            "title": feed.command.title,
            "file": name,
        }

        def on_started(started_at: float) -> None:
            first.append(started_at)
            self._append({"kind": "live", **base, "started_at": started_at, "duration_s": 0.0})
            started(started_at)

        def write(pcm: bytes) -> None:
            nonlocal written
            # A gap (snapclient restarting) becomes silence: the file stays on the wall clock, so
            # started_at + an offset in the file is when that sound was due on the speaker.
            behind = int((time.time() - first[0]) * BYTES_PER_S) & ~1 if first else 0
            if behind - written > _GAP_S * BYTES_PER_S:
                sink.write(bytes(behind - written))
                written = behind
            sink.write(pcm)
            written += len(pcm)

        try:
            feed.pump(write, on_started, stop)
        finally:
            close_encoder(encoder)
            if first:
                ended = {"ended_at": time.time(), "duration_s": written / BYTES_PER_S, "cause": feed.cause}
                self._append({"kind": "live_end", **base, "started_at": first[0], **ended})
            else:
                (self.directory / name).unlink(missing_ok=True)

    def _append(self, record: dict[str, object]) -> None:
        with self._lock, self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _keep_audio(self, source: Path, target: Path) -> None:
        if target.exists():
            return  # content-addressed: the same name is the same audio
        # A stand-in speaker's copy: whole or absent, but not worth an fsync.
        with source.open("rb") as clip, atomic_file(target, durable=False) as copy:
            shutil.copyfileobj(clip, copy)


def _audio_name(request: PlayRequest) -> str:
    """Return the kept audio's name: the clip hash plus the URL's extension (".mp3")."""
    return request.command.clip.sha256 + _suffix(request.command.clip.url)


def _file_id(command_id: str) -> str:
    """Return the command id if it is safe in a file name, else a short hash of it."""
    if _SAFE_ID.fullmatch(command_id):
        return command_id
    return hashlib.sha256(command_id.encode()).hexdigest()[:16]


def _suffix(url: str) -> str:
    """Return the clip URL's file extension if it is a plain one (".mp3"), else ""."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if _SUFFIX.fullmatch(suffix) else ""

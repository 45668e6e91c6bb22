"""Heard first: an alert's speech is synthesised after its siren went out, then follows as a signed command.

The request that raises (or confirms) an alert only publishes the siren command; synthesis runs here, on a
worker of its own (never inside a request's transaction, never queued behind ordinary bulletins). When the
clip is ready it is stored and, if the alert is on the air, an `alert_speech` command naming the alert
command is signed, stored and published. A failure is recorded on the alert (the siren still sounded).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from broadcast import protocol
from broadcast.alerts import sending
from broadcast.clipstore.rendering import render_bulletin, render_options
from broadcast.clipstore.store import ClipStorage
from broadcast.config import SpeechSettings
from broadcast.programme.publishing import PushContext
from broadcast.protocol.alerts import MAX_INLINE_AUDIO
from broadcast.signing import commands
from broadcast.storage.models import Alert, Clip

log = logging.getLogger(__name__)
_DB_ATTEMPTS = 3  # a write that lost a race with a confirm or cancel is tried again


class SpeechParts(Protocol):
    """What speech needs of the alert workflow's collaborators (the workflow's AlertDeps has them)."""

    @property
    def push(self) -> PushContext: ...

    @property
    def clips(self) -> ClipStorage: ...

    @property
    def voice(self) -> SpeechSettings: ...


class SpeechWorker:
    """One thread that synthesises alert speech, apart from the request threads and the bulletin jobs."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="alert-speech")
        self._lock = threading.Lock()
        self._busy: set[int] = set()  # alerts whose speech this worker is synthesising or will

    def submit(self, deps: SpeechParts, alert_id: int, text: str) -> None:
        """Synthesise the alert's speech in the background, then send it if the alert is on the air."""
        with self._lock:
            if alert_id in self._busy:
                return
            self._busy.add(alert_id)
        future = self._pool.submit(synthesise, deps, alert_id, text)
        future.add_done_callback(lambda done: self._finished(alert_id, done))

    def busy(self, alert_id: int) -> bool:
        """Return True if this worker is synthesising the alert's speech (or has it queued)."""
        with self._lock:
            return alert_id in self._busy

    def _finished(self, alert_id: int, future: Future[None]) -> None:
        with self._lock:
            self._busy.discard(alert_id)
        _log_failure(future)

    def shutdown(self) -> None:
        """Stop taking work; a synthesis under way is left to finish on its daemon thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        log.error("alert speech worker failed", exc_info=exc)


def synthesise(deps: SpeechParts, alert_id: int, text: str) -> None:
    """Render the alert's speech, store it on the alert and send it; record a failure instead."""
    began = time.monotonic()
    try:
        rendered = render_bulletin(text, replace(render_options(deps.voice), with_chime=False))
        sha = deps.clips.put(rendered.clip.data)
    except Exception as exc:  # TTS, ffmpeg, clip store: whatever it is, the officer must see it
        _fail(deps, alert_id, exc)
        return
    clip = rendered.clip

    def store(session: Session) -> Alert | None:
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None:
            return None
        if alert.speech_status != "pending":  # another worker (after a restart) got there first
            log.info("alert %s: speech already %s; this synthesis is not used", alert_id, alert.speech_status)
            return alert
        if session.get(Clip, sha) is None:
            row = Clip(
                sha256=sha, size=len(clip.data), duration_s=clip.duration_s, loudness_lufs=clip.loudness_lufs
            )
            session.add(row)
            session.flush()  # before the alert points at it (no relationship orders the two)
        alert.clip_sha256, alert.spoken_text, alert.speech_status = sha, rendered.spoken_text, "ready"
        session.flush()
        send_speech(session, deps, alert)
        return alert

    try:
        _with_retries(deps, store)
    except Exception as exc:  # the database or the broker: shown on the alert, the retry loop resends
        _fail(deps, alert_id, exc)
        return
    log.warning("alert %s: speech ready after %.2f s", alert_id, time.monotonic() - began)


def send_speech(session: Session, deps: SpeechParts, alert: Alert) -> bool:
    """Sign, store and publish the speech of an alert on the air whose speech is ready; True if sent."""
    if alert.status != "sent" or alert.speech_status != "ready" or alert.command_id is None:
        return False
    clip = session.get(Clip, alert.clip_sha256) if alert.clip_sha256 else None
    if clip is None or alert.expires_at <= datetime.now(UTC):
        return False
    inline = deps.clips.read(clip.sha256) if clip.size <= MAX_INLINE_AUDIO else None
    command = protocol.AlertSpeechCommand(
        **sending.envelope(session, alert),
        target=alert.command_id,
        alert_id=alert.id,
        clip=clip_ref(deps, clip),
        audio_b64=base64.b64encode(inline).decode() if inline else None,
    )
    row = commands.store_signed(
        session, command.to_body(), deps.push.signing_key, start_at=datetime.now(UTC), kind="alert_speech"
    )
    alert.speech_status, alert.speech_command_id = "sent", row.id
    session.commit()  # recorded before it leaves, as the alert itself
    sending.publish(deps.push.publisher, alert, row)
    log.warning("ALERT %s speech sent to %s (command %s)", alert.id, alert.zones, row.id)
    return True


def clip_ref(deps: SpeechParts, clip: Clip) -> protocol.ClipRef:
    """Return the reference agents fetch a stored clip by."""
    base = deps.push.public_url.rstrip("/")
    return protocol.ClipRef(f"{base}/clips/{clip.sha256}.mp3", clip.sha256, clip.size, clip.duration_s)


def _fail(deps: SpeechParts, alert_id: int, exc: Exception) -> None:
    log.error("alert %s: speech failed", alert_id, exc_info=exc)
    reason = (str(exc) or type(exc).__name__)[:500]
    _with_retries(deps, lambda session: _failed(session, alert_id, reason))


def _failed(session: Session, alert_id: int, reason: str) -> None:
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is not None:
        alert.speech_status, alert.speech_error = "failed", reason


def _with_retries(deps: SpeechParts, work: Callable[[Session], object]) -> None:
    """Run work(session) in its own transaction, again if it lost a write race (SQLite busy, deadlock)."""
    for attempt in range(1, _DB_ATTEMPTS + 1):
        try:
            with deps.push.db.session() as session:
                work(session)
            return
        except OperationalError:
            if attempt == _DB_ATTEMPTS:
                raise
            log.warning("alert speech: database busy, trying again (%d)", attempt)
            time.sleep(0.1 * attempt)

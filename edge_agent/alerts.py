"""Emergency alerts: take the output at once, siren, message, repeats; stop on cancel or expiry.

An alert does not go through the scheduled playout: it holds it (what plays is interrupted and skipped,
nothing scheduled starts) and drives the output itself, one alert at a time. Its audio comes inline when
it fits in the message (written into the cache), else it is fetched while the siren already plays.
An alert sent before its speech was synthesised (speech_follows) keeps the siren going until the
alert_speech command arrives (bounded by `speech_wait_s`); a speech command that comes before its alert
is kept (bounded, until its expiry) for the alert to find.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from broadcast import protocol
from broadcast.protocol.alerts import inline_bytes
from edge_agent.cache import ClipCache, ClipError
from edge_agent.gpio.amp import AmpControl
from edge_agent.handlers import AlertMessage
from edge_agent.outputs import AlertPart, Output, PlayRequest
from edge_agent.playout import Playout

log = logging.getLogger(__name__)

_AMP_SAFETY_S = 60.0
_MAX_REMEMBERED = 1000  # cancels of unknown alerts, early speech and finished alerts kept in memory
SPEECH_WAIT_S = 60.0  # the siren loops at most this long for speech that does not come, then stops


@dataclass
class _Job:
    """One accepted alert, pending or on the air."""

    command: protocol.AlertCommand
    stop: threading.Event = field(default_factory=threading.Event)
    aired: bool = False
    cancel: protocol.CancelCommand | None = None
    message: protocol.ClipRef | None = None  # the speech clip, once known
    audio: Future[Path] | None = None  # its file, fetched (or written from inline) in the background
    ready: threading.Event = field(default_factory=threading.Event)  # message and audio are set


class AlertPlayer:
    """Play alerts and corrections on the output, preempting the scheduled playout."""

    def __init__(
        self,
        output: Output,
        device_id: str,
        *,
        cache: ClipCache,
        playout: Playout,
        amp: AmpControl,
        report: Callable[[protocol.AgentMessage], None],
        speech_wait_s: float = SPEECH_WAIT_S,
    ) -> None:
        self.output, self.device_id, self.speech_wait_s = output, device_id, speech_wait_s
        self.cache, self.playout, self.amp, self._report = cache, playout, amp, report
        self._lock = threading.Lock()
        self._turn = threading.Lock()  # one alert (or correction) on the output at a time
        self._jobs: dict[str, _Job] = {}
        self._aired: dict[str, float] = {}  # finished alerts that were heard -> expires_at
        self._cancelled: dict[str, float] = {}  # cancels of alerts not (yet) received -> cancel expiry
        self._early: dict[str, protocol.AlertSpeechCommand] = {}  # speech whose alert has not come yet
        self._now_playing: str | None = None
        self._stopping = threading.Event()
        self._fetch = ThreadPoolExecutor(2, thread_name_prefix="alert-fetch")

    def take(self, command: AlertMessage) -> None:
        """Carry out an alert, the speech it waits for, or a cancel."""
        if isinstance(command, protocol.AlertCommand):
            self.alert(command)
        elif isinstance(command, protocol.AlertSpeechCommand):
            self.speech(command)
        else:
            self.cancel(command)

    def alert(self, command: protocol.AlertCommand) -> None:
        """Start playing the alert at once on its own thread (unless a cancel for it came first)."""
        with self._lock:
            if command.id in self._cancelled:
                cancelled = True
            else:
                cancelled = False
                job = self._jobs[command.id] = _Job(command)
                early = self._early.pop(command.id, None)
                if not command.speech_follows:
                    self._attach(job, command.clip, command.audio_b64, command.expires_at)
                elif early is not None:
                    self._attach(job, early.clip, early.audio_b64, early.expires_at)
        if cancelled:
            log.warning("not playing alert %s: it was cancelled before it arrived", command.id)
            self._reject(command.id, "cancelled before it arrived")
            return
        threading.Thread(target=self._run, args=(job,), name="alert", daemon=True).start()

    def speech(self, command: protocol.AlertSpeechCommand) -> None:
        """Give the alert it names its speech (played after the siren), or keep it until the alert comes."""
        now = time.time()
        with self._lock:
            job = self._jobs.get(command.target)
            if job is not None:
                outcome = "ignored: the alert has its speech" if job.ready.is_set() else "attached"
                if not job.ready.is_set():
                    self._attach(job, command.clip, command.audio_b64, command.expires_at)
            elif command.target in self._aired or command.target in self._cancelled:
                outcome = "ignored: the alert already ended or was cancelled"
            else:
                self._early = _pruned_speech(self._early, now)
                self._early[command.target] = command
                outcome = "kept until its alert arrives"
        log.info("speech %s for alert %s: %s", command.id, command.target, outcome)

    def cancel(self, command: protocol.CancelCommand) -> None:
        """Stop the target alert now (or keep it from playing), then play the correction if any."""
        now = time.time()
        with self._lock:
            job = self._jobs.get(command.target)
            if job is not None:
                job.cancel = command
                job.stop.set()  # the output returns at once; the job's thread plays the correction
                aired = False
            else:
                aired = command.target in self._aired
                self._early.pop(command.target, None)
                if not aired:
                    self._cancelled = _pruned(self._cancelled, now)
                    self._cancelled[command.target] = command.expires_at
        if job is not None:
            log.info("cancel %s stops alert %s", command.id, command.target)
        elif aired:
            log.info("cancel %s for alert %s, which already ended", command.id, command.target)
            if command.correction is not None:
                threading.Thread(target=self._run_correction, args=(command,), daemon=True).start()
        else:
            log.info("cancel %s for alert %s, not received: it will not play", command.id, command.target)

    def now_playing(self) -> str | None:
        """Return the id of the alert (or cancel) on the output, if any."""
        return self._now_playing

    def on_the_air(self) -> str | None:
        """Return the id of what the output plays: the alert (or cancel), else the scheduled play."""
        return self._now_playing or self.playout.now_playing()

    def stop(self) -> None:
        """Stop every alert (shutdown)."""
        self._stopping.set()
        with self._lock:
            for job in self._jobs.values():
                job.stop.set()
        self._fetch.shutdown(wait=False, cancel_futures=True)

    # --- internals ------------------------------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        command = job.command
        expiry = threading.Timer(max(0.0, command.expires_at - time.time()), job.stop.set)
        expiry.daemon = True
        expiry.start()
        key = f"alert:{command.id}"
        self.amp.reserve(key, time.time(), until=command.expires_at + _AMP_SAFETY_S)
        self.playout.hold(f"interrupted by alert {command.id}")
        try:
            with self._turn:
                self._now_playing = command.id
                self._play_alert(job)
                if job.cancel is not None and job.cancel.correction is not None and job.aired:
                    self._correction(job.cancel)
        except Exception:
            log.exception("alert %s failed", command.id)
        finally:
            expiry.cancel()
            self._now_playing = None
            self.playout.release()
            self.amp.release(key)
            with self._lock:
                self._jobs.pop(command.id, None)
                if job.aired:
                    self._aired = _pruned(self._aired, time.time())
                    self._aired[command.id] = command.expires_at

    def _play_alert(self, job: _Job) -> None:
        command = job.command
        preamble = self._preamble(job)
        done = 0
        for index in range(command.repeat):
            if index and job.stop.wait(command.interval_s):
                break
            if preamble is not None and not self._part(job, preamble, AlertPart("preamble", index)):
                break
            path = self._wait(job, preamble, index)
            if path is None or job.message is None:
                break
            clip = (job.message, path)
            if not self._part(job, clip, AlertPart("audio", index), report=index == 0):
                break
            done += 1
        if done == command.repeat or self._stopping.is_set():
            log.info("alert %s played %d time(s)", command.id, done)
        elif job.cancel is not None:
            self._reject(command.id, f"cancelled by {job.cancel.id} after {done} of {command.repeat} repeats")
        elif time.time() >= command.expires_at:
            self._reject(command.id, f"expired after {done} of {command.repeat} repeats")

    def _preamble(self, job: _Job) -> tuple[protocol.ClipRef, Path] | None:
        """Return the siren from the cache (prefetched by the programme), fetched if it is not there."""
        clip = job.command.preamble
        if clip is None:
            return None
        try:
            return clip, self.cache.ensure(clip, deadline=job.command.expires_at, stop=job.stop)
        except (ClipError, OSError) as exc:
            log.warning("alert %s plays without its preamble: %s", job.command.id, exc)
            return None

    def _attach(self, job: _Job, clip: protocol.ClipRef, audio_b64: str | None, expires_at: float) -> None:
        """Start getting the speech's file (inline bytes or a fetch) and mark the job ready for it."""
        job.message = clip
        job.audio = self._fetch.submit(self._audio, job, clip, audio_b64, expires_at)
        job.ready.set()

    def _audio(self, job: _Job, clip: protocol.ClipRef, audio_b64: str | None, expires_at: float) -> Path:
        try:
            inline = inline_bytes(audio_b64, clip.sha256)
        except ValueError:
            inline = None
        if inline is not None:
            return self.cache.put(clip, inline)
        if audio_b64:
            log.warning("alert %s: inline audio does not match its sha256; fetching it", job.command.id)
        return self.cache.ensure(clip, deadline=expires_at, stop=job.stop)

    def _wait(self, job: _Job, preamble: tuple[protocol.ClipRef, Path] | None, index: int) -> Path | None:
        """Return the speech's file once there; meanwhile the siren keeps going (no silent gap), bounded."""
        deadline = time.monotonic() + self.speech_wait_s
        while not (job.ready.is_set() and job.audio is not None and job.audio.done()):
            if time.monotonic() >= deadline:
                self._reject(job.command.id, f"no speech within {self.speech_wait_s:g} s: the siren stopped")
                return None
            if preamble is not None:
                if not self._part(job, preamble, AlertPart("preamble", index)):
                    return None
            elif job.stop.wait(0.02):
                return None
        try:
            return job.audio.result()
        except (ClipError, OSError) as exc:
            self._reject(job.command.id, f"alert audio fetch failed: {exc}")
            return None

    def _part(
        self,
        job: _Job,
        clip: tuple[protocol.ClipRef, Path],
        part: AlertPart,
        *,
        report: bool = False,
    ) -> bool:
        """Play one part of the alert; return False if it was stopped (cancel, expiry, shutdown)."""
        command = job.command
        if job.stop.is_set():
            return False
        job.aired = True
        self._play(command.id, command.expires_at, command.zones, command.title, clip, part, job.stop, report)
        return not job.stop.is_set()

    def _correction(self, cancel: protocol.CancelCommand) -> None:
        clip = cancel.correction
        if clip is None:
            return
        try:
            path = self.cache.ensure(clip, deadline=cancel.expires_at, stop=self._stopping)
        except (ClipError, OSError) as exc:
            self._reject(cancel.id, f"correction fetch failed: {exc}")
            return
        part = AlertPart("correction")
        self._play(cancel.id, cancel.expires_at, cancel.zones, "", (clip, path), part, self._stopping, True)

    def _run_correction(self, cancel: protocol.CancelCommand) -> None:
        key = f"alert:{cancel.id}"
        self.amp.reserve(key, time.time(), until=cancel.expires_at + _AMP_SAFETY_S)
        self.playout.hold(f"interrupted by alert correction {cancel.id}")
        try:
            with self._turn:
                self._now_playing = cancel.id
                self._correction(cancel)
        except Exception:
            log.exception("correction %s failed", cancel.id)
        finally:
            self._now_playing = None
            self.playout.release()
            self.amp.release(key)

    def _play(
        self,
        command_id: str,
        expires_at: float,
        zones: tuple[str, ...],
        title: str,
        clip: tuple[protocol.ClipRef, Path],
        part: AlertPart,
        stop: threading.Event,
        report: bool,
    ) -> None:
        now = time.time()
        play = protocol.PlayCommand(
            id=command_id,
            seq=0,
            issued_at=now,
            expires_at=expires_at,
            start_at=now,
            priority="emergency",
            zones=zones,
            clip=clip[0],
            title=title,
        )
        request = PlayRequest(play, clip[1], self.device_id, alert=part)

        def started(started_at: float) -> None:
            log.info("alert %s: %s %d started", command_id, part.part, part.repeat_index)
            if report:
                self._report(
                    protocol.PlayReport(
                        device_id=self.device_id,
                        command_id=command_id,
                        clip_sha256=clip[0].sha256,
                        started_at=started_at,
                        duration_s=clip[0].duration_s,
                        priority="emergency",
                    )
                )

        try:
            self.output.play(request, started, stop)
        finally:
            self.output.finish(request)

    def _reject(self, command_id: str, reason: str) -> None:
        log.warning("alert %s: %s", command_id, reason)
        self._report(protocol.CommandRejected(device_id=self.device_id, command_id=command_id, reason=reason))


def _pruned_speech(
    early: dict[str, protocol.AlertSpeechCommand], now: float
) -> dict[str, protocol.AlertSpeechCommand]:
    """Return the kept speech commands without the expired ones, and at most _MAX_REMEMBERED."""
    kept = {key: command for key, command in early.items() if command.expires_at >= now}
    return dict(list(kept.items())[-(_MAX_REMEMBERED - 1) :])


def _pruned(ids: dict[str, float], now: float) -> dict[str, float]:
    """Return ids without the expired ones, and at most _MAX_REMEMBERED of the rest."""
    kept = {key: expires for key, expires in ids.items() if expires >= now}
    return dict(list(kept.items())[-_MAX_REMEMBERED:])

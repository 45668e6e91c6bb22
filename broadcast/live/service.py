"""Live broadcasts: start and stop sessions, keep their leases renewed, end the ones that dropped.

The engine (Snapcast) carries the sound; this service decides who is on air: which loudspeakers may hear
which channel (`stream_for`), when agents are told to join (live_start, renewed every few seconds) and
to leave (live_stop), and when a session ends by itself — the officer's audio stopped arriving, or the
session ran too long. Every session leaves a record, an audit entry and a recording.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from broadcast.clipstore.store import ClipStorage
from broadcast.live import commands as live_commands
from broadcast.live import records
from broadcast.live.archive import Recording
from broadcast.live.on_air import OnAir
from broadcast.live.records import LiveRefused, LiveView
from broadcast.people.accounts import Principal
from broadcast.signing.commands import Publisher
from broadcast.storage.db import Database
from broadcast.storage.models import Command, LiveSession

log = logging.getLogger(__name__)


class Engine(Protocol):
    """What the service needs from the audio engine (broadcast/snapcast)."""

    def write(self, channel: int, pcm: bytes) -> None: ...

    def listeners(self, channel: int) -> set[str]:
        """Return the ids of the clients connected and routed to the channel's stream."""
        ...

    def refresh(self) -> None:
        """Route every connected client again (a session started or ended)."""
        ...


@dataclass(frozen=True)
class LiveDeps:
    db: Database
    clips: ClipStorage
    publisher: Publisher
    signing_key: Callable[[], bytes]
    address: live_commands.StreamAddress
    channels: int
    renew_s: float
    drop_s: float
    max_s: float
    recordings: Path
    ffmpeg_bin: str | None
    tail_s: float = 1.0  # what the loudspeakers still have to play when the writer stops (the buffer)


class LiveService:
    """The station's live sessions; one instance per station process."""

    def __init__(self, deps: LiveDeps, engine: Engine) -> None:
        self.deps, self.engine = deps, engine
        self._lock = threading.RLock()
        self._active: dict[str, OnAir] = {}
        self._renewals: dict[str, tuple[int, float]] = {}  # session -> (last number, when)
        self._recordings: dict[str, Recording] = {}

    # --- what the engine's router asks -------------------------------------------------------------

    def channel_for(self, device_id: str) -> int | None:
        """Return the channel a loudspeaker should hear, or None (the silent idle stream)."""
        with self._lock:
            for on_air in self._active.values():
                if device_id in on_air.devices:
                    return on_air.channel
        return None

    # --- requests ---------------------------------------------------------------------------------

    def start(
        self, session: Session, user: Principal, zones: list[str] | None, title: str, address: str
    ) -> LiveView:
        """Open a session on a free channel and call its zones' loudspeakers; the chime follows."""
        records.check_may_go_live(user)
        chosen, commune = records.choose_zones(session, user, zones)
        with self._lock:
            busy = records.busy_zones(session, chosen)
            if busy:
                zone, other = busy[0]
                raise LiveRefused(f"Vùng {zone} đang phát trực tiếp (do {other.started_by} bắt đầu).", 409)
            channel = self._free_channel()
            row = records.open_record(session, user, chosen, commune, title, channel, address)
            allowed, online = records.devices_of(session, chosen)
            devices, expected = frozenset(allowed), frozenset(online)
            first = live_commands.start_command(
                session, self.deps.signing_key(), row.id, 0, chosen, self.deps.address, row.title
            )
            try:  # before the commit: a session that cannot be recorded is never opened
                recording = Recording(self.deps.recordings, row.id, self.deps.ffmpeg_bin)
            except Exception as exc:
                session.rollback()
                log.exception("live: cannot record a session")
                raise LiveRefused(f"Không ghi âm được buổi phát (ffmpeg): {exc}", 409) from exc
            session.commit()
            on_air = OnAir(
                row.id,
                channel,
                devices,
                write=lambda pcm: self.engine.write(channel, pcm),
                record=recording.write,
                joined=lambda: expected <= self.engine.listeners(channel),
                on_air=lambda: self._mark_on_air(row.id),
                expecting=bool(expected),
            )
            self._active[row.id] = on_air
            self._recordings[row.id] = recording
            self._renewals[row.id] = (0, time.monotonic())
        self.engine.refresh()
        self._publish(first)
        on_air.start()
        log.warning("LIVE %s on channel %d to %s by %s", row.id, channel, chosen, user.name)
        return records.view(session, row)

    def stop(self, session: Session, user: Principal, session_id: str, reason: str, address: str) -> LiveView:
        """End a session now (its officer, or an approver/admin of its commune)."""
        row = records.get(session, session_id, user)
        if row.started_by != user.name:
            records.check_may_go_live(user)
        if row.status in records.ACTIVE:
            self.end(session_id, reason if reason in records.END_REASONS else "stopped", user.name)
        session.expire_all()
        return records.view(session, records.get(session, session_id, user))

    def attach(self, session_id: str, user: Principal) -> OnAir:
        """Return the running session for its officer's audio socket; refuse anybody else."""
        with self._lock:
            on_air = self._active.get(session_id)
        if on_air is None:
            raise LiveRefused("Buổi phát trực tiếp này đã kết thúc.", 409)
        with self.deps.db.session() as session:
            row = records.get(session, session_id, user)
            if row.started_by != user.name:
                raise LiveRefused("Chỉ người bắt đầu buổi phát mới gửi được tiếng.", 403)
        on_air.attached.set()
        return on_air

    def state(self, session_id: str) -> tuple[str, int, float, str]:
        """Return (status, loudspeakers joined, seconds since start, end reason) for the officer's page."""
        with self._lock:
            on_air = self._active.get(session_id)
        with self.deps.db.session() as session:
            row = session.get(LiveSession, session_id)
            joined = records.count_joined(session, session_id)
            if row is None:
                return "ended", joined, 0.0, ""
            status = on_air.state if on_air is not None else row.status
            elapsed = (datetime.now(UTC) - row.started_at).total_seconds()
            if status == "ended":
                return status, joined, elapsed, records.END_REASONS.get(row.end_reason, "")
            alert = records.alert_on_air(session, list(row.zones))
            return status, joined, elapsed, records.ALERT_NOTE if alert else ""

    def recent(self, session: Session, viewer: Principal, limit: int = 20) -> list[LiveView]:
        return [records.view(session, row) for row in records.recent(session, viewer, limit)]

    def active_ids(self) -> list[str]:
        with self._lock:
            return list(self._active)

    # --- ending -------------------------------------------------------------------------------------

    def end(self, session_id: str, reason: str, actor: str = "") -> None:
        """End a session: agents leave at once, the record and its recording are kept.

        Also closes the record of a session this process does not run (its station died while on air).
        """
        with self._lock:
            on_air = self._active.pop(session_id, None)
            self._renewals.pop(session_id, None)
            recording = self._recordings.pop(session_id, None)
        if on_air is not None:
            graceful = reason in ("stopped", "too_long")  # the officer is done: let the end be heard
            on_air.close(closing=graceful)
            if graceful:  # the last words and the closing chime are still in the loudspeakers' buffers
                time.sleep(max(0.0, min(3.0, on_air.last_write + self.deps.tail_s - time.monotonic())))
            self.engine.refresh()  # its loudspeakers go back to the silent stream
        with self.deps.db.session() as session:
            row = session.get(LiveSession, session_id)
            if row is None or row.status not in records.ACTIVE:
                return
            stop = live_commands.stop_command(session, self.deps.signing_key(), session_id, row.zones, reason)
            audio_s = on_air.audio_s if on_air is not None else 0.0
            records.close_record(session, row, reason, actor, audio_s)
            session.commit()
        self._publish(stop)
        log.warning("LIVE %s ended: %s (%.1f s of audio)", session_id, reason, audio_s)
        if recording is not None:
            threading.Thread(target=self._keep_recording, args=(session_id, recording), daemon=True).start()

    def close_orphans(self) -> None:
        """End the sessions a previous run of the station left on air (it stopped or died meanwhile)."""
        with self.deps.db.session() as session:
            orphans = records.active_ids(session)
        for session_id in orphans:
            if session_id not in self.active_ids():
                self.end(session_id, "shutdown")

    def tick(self) -> None:
        """Renew the leases that are due; end sessions whose audio stopped or that ran too long."""
        now = time.monotonic()
        with self._lock:
            running = list(self._active.items())
        for session_id, on_air in running:
            if on_air.state == "on_air" and now - on_air.last_audio > self.deps.drop_s:
                self.end(session_id, "dropped")
            elif now - on_air.started > self.deps.max_s:
                self.end(session_id, "too_long")
            else:
                self._renew_if_due(session_id, now)

    def shutdown(self) -> None:
        for session_id in self.active_ids():
            self.end(session_id, "shutdown")

    # --- inside -------------------------------------------------------------------------------------

    def _free_channel(self) -> int:
        used = {on_air.channel for on_air in self._active.values()}
        for channel in range(1, self.deps.channels + 1):
            if channel not in used:
                return channel
        raise LiveRefused(
            f"Trạm đang có {len(used)} buổi phát trực tiếp, hết kênh phát. Hãy chờ một buổi kết thúc.", 409
        )

    def _renew_if_due(self, session_id: str, now: float) -> None:
        with self._lock:
            number, last = self._renewals.get(session_id, (0, now))
            if now - last < self.deps.renew_s:
                return
            self._renewals[session_id] = (number + 1, now)
        with self.deps.db.session() as session:
            row = session.get(LiveSession, session_id)
            if row is None:
                return
            command = live_commands.start_command(
                session,
                self.deps.signing_key(),
                session_id,
                number + 1,
                row.zones,
                self.deps.address,
                row.title,
            )
            session.commit()
        self._publish(command)

    def _mark_on_air(self, session_id: str) -> None:
        with self.deps.db.session() as session:
            row = session.get(LiveSession, session_id)
            if row is not None and row.status == "starting":
                row.status, row.on_air_at = "on_air", datetime.now(UTC)
                session.commit()

    def _publish(self, row: Command) -> None:
        try:
            live_commands.publish(self.deps.publisher, row)
        except Exception:  # broker down: the next renewal (or the lease) carries the session
            log.exception("live command not published; the next renewal retries")

    def _keep_recording(self, session_id: str, recording: Recording) -> None:
        with self.deps.db.session() as session:
            row = session.get(LiveSession, session_id)
            if row is not None:
                recording.store(session, self.deps.clips, row)
                session.commit()

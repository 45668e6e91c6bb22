"""Accepted commands on their way to the playout: fetch (or prepare), persist, schedule, or cancel."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Container
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from broadcast import protocol
from edge_agent.cache import ClipCache, ClipError
from edge_agent.config import AgentConfig
from edge_agent.control import stream_play, tone_play
from edge_agent.gpio.amp import AmpControl
from edge_agent.outputs import PlayRequest
from edge_agent.pending import PendingStore
from edge_agent.playout import LATE_TOLERANCE_S, Playout
from edge_agent.programme_store import ProgrammeStore
from edge_agent.refusals import Refusals
from edge_agent.seen import SeenStore

log = logging.getLogger(__name__)

Playable = protocol.PlayCommand | protocol.TestToneCommand | protocol.StreamCommand
RETRY_S = 60.0  # a programme entry whose clip could not be prepared is tried again this much later
_FETCH_WORKERS = 2  # an emergency clip must not wait behind one slow normal download
_AMP_SAFETY_S = 60.0  # a reservation never released (a bug) still lets the amplifier go off


@dataclass
class Work:
    """An accepted command on its way to the playout (clip being fetched, tone being written)."""

    command: Playable
    payload: bytes
    durable: bool  # already in the pending and seen stores (came alone, or restored)
    cancelled: bool = False  # a newer programme left it out while it was on its way


class Known:
    """What decide() treats as a duplicate: seen or on its way, except ids a programme may bring back."""

    def __init__(self, seen: Container[str], busy: frozenset[str], again: frozenset[str]) -> None:
        self.seen, self.busy, self.again = seen, busy, again

    def __contains__(self, command_id: object) -> bool:
        return command_id in self.busy or (command_id in self.seen and command_id not in self.again)


class Underway:
    """Accepted commands on their way to the playout, by id, and the lock the pipeline moves them under.

    Built before the clip cache, which asks it which clips are in use: these and the playout's. The
    pipeline holds `lock` across a change here and the playout call that goes with it (schedule, cancel).
    """

    def __init__(self, playout: Playout) -> None:
        self.lock = threading.Lock()
        self.work: dict[str, Work] = {}
        self._playout = playout

    def clips_in_use(self) -> set[str]:
        """Return the clips of scheduled, playing or on-their-way commands (not to be evicted)."""
        with self.lock:
            commands = [work.command for work in self.work.values()]
        coming = {c.clip.sha256 for c in commands if isinstance(c, protocol.PlayCommand)}
        return self._playout.pending_shas() | coming


class Pipeline:
    """Fetch workers feeding the playout; the only writer of the pending store besides restore."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        underway: Underway,
        seen: SeenStore,
        pending: PendingStore,
        programmes: ProgrammeStore,
        cache: ClipCache,
        playout: Playout,
        amp: AmpControl,
        refusals: Refusals,
        stopping: threading.Event,
    ) -> None:
        self.config = config
        self.seen, self.pending, self.programmes = seen, pending, programmes
        self.cache, self.playout, self.amp, self.refusals = cache, playout, amp, refusals
        self._stopping = stopping
        self._lock, self._work = underway.lock, underway.work
        self._retry_at: float | None = None
        self._fetchers = ThreadPoolExecutor(_FETCH_WORKERS, thread_name_prefix="fetch")
        # Programme entries are fetched one at a time, soonest first, beside the lone commands' workers.
        self._prefetch = ThreadPoolExecutor(1, thread_name_prefix="prefetch")

    def known(self, again: frozenset[str] = frozenset()) -> Known:
        """Return the duplicate test for decide(); `again` are seen ids that may be scheduled again."""
        with self._lock:
            busy = frozenset(self._work)
        return Known(self.seen, busy, again)

    def submit(self, work: Work) -> None:
        """Fetch or prepare the command on a worker, then schedule it (unless cancelled meanwhile)."""
        with self._lock:
            self._work[work.command.id] = work
        (self._fetchers if work.durable else self._prefetch).submit(self._prepare, work)

    def rescue(self, ids: set[str]) -> None:
        """Un-cancel commands still on their way that a newer programme lists again."""
        with self._lock:
            for cid in ids & set(self._work):
                self._work[cid].cancelled = False

    def cancel(self, ids: set[str]) -> None:
        """Take ids out of the playout (or off their way to it) unless they have started."""
        durable: dict[str, float] = {}
        cancelled: list[str] = []
        with self._lock:
            for cid in ids:
                work = self._work.get(cid)
                if work is not None:
                    cancelled.append(cid)
                    work.cancelled = True
                    if work.durable:
                        durable[cid] = work.command.expires_at
                        work.durable = False  # if a programme brings it back, it is persisted again
                    continue
                request = self.playout.cancel(cid)
                if request is not None:
                    self.amp.release(cid)
                    durable[cid] = request.command.expires_at
        if durable:
            self.programmes.mark_cancelled(durable)  # before the pending files go: see Planner.restore
            for cid in durable:
                self.pending.remove(cid)
        for cid in sorted({*cancelled, *durable}):
            log.info("cancelled command %s: left out of its zone's programme", cid)

    def keep(self, clips: list[protocol.ClipRef]) -> None:
        """Pin clips in the cache (never evicted) and fetch those not there yet, ahead of any need."""
        self.cache.pin({clip.sha256 for clip in clips})
        for clip in clips:
            if not self.cache.has(clip):
                self._prefetch.submit(self._keep_one, clip)

    def _keep_one(self, clip: protocol.ClipRef) -> None:
        try:
            self.cache.ensure(clip, stop=self._stopping)
            log.info("prefetched clip %s", clip.sha256[:12])
        except (ClipError, OSError) as exc:
            # Tried again with the next programme (or restart); an alert fetches it itself if needed.
            log.warning("prefetch of clip %s failed: %s", clip.sha256[:12], exc)

    def retry_due(self, now: float) -> bool:
        """Return True once, RETRY_S after a programme entry could not be prepared (time to reconcile)."""
        if self._retry_at is None or now < self._retry_at:
            return False
        self._retry_at = None
        return True

    def stop(self) -> None:
        """Stop the workers (what was accepted stays persisted or in the stored programme)."""
        self._fetchers.shutdown(wait=False, cancel_futures=True)
        self._prefetch.shutdown(wait=False, cancel_futures=True)

    def _prepare(self, work: Work) -> None:
        command, device = work.command, self.config.device_id
        try:
            if isinstance(command, protocol.PlayCommand):
                path = self.cache.ensure(command.clip, deadline=command.expires_at, stop=self._stopping)
                request = PlayRequest(command, path, device)
                log.info("fetched clip %s for command %s", command.clip.sha256[:12], command.id)
            elif isinstance(command, protocol.TestToneCommand):
                play, path = tone_play(command, self.config.state_dir / "tones")
                request = PlayRequest(play, path, device)
            else:
                request = PlayRequest(stream_play(command), Path(os.devnull), device, command)
        except (ClipError, OSError) as exc:
            what = "clip fetch" if isinstance(command, protocol.PlayCommand) else "test tone"
            self._failed(work, f"{what} failed: {exc}")
            return
        except Exception:
            log.exception("preparing command %s crashed", command.id)
            self._failed(work, "preparing failed: internal error")
            return
        self._schedule(work, request)

    def _schedule(self, work: Work, request: PlayRequest) -> None:
        command = request.command
        with self._lock:
            self._work.pop(command.id, None)
            if work.cancelled:
                return
            if not work.durable:
                # Pending first: a power cut between the two leaves it restorable, never seen-but-lost.
                self.pending.save(command.id, work.payload)
                self.seen.add(command.id, command.expires_at)
                self.programmes.uncancel(command.id)
            # The relay goes on pre_roll before start_at; the latest a play may run is a safety net only.
            until = max(command.start_at + LATE_TOLERANCE_S, command.expires_at) + command.clip.duration_s
            self.amp.reserve(command.id, command.start_at, until=until + _AMP_SAFETY_S)
            self.playout.schedule(request)

    def _failed(self, work: Work, reason: str) -> None:
        with self._lock:
            self._work.pop(work.command.id, None)
        if self._stopping.is_set():
            return  # still persisted (or in the stored programme): tried again after the restart
        if work.durable:
            self.pending.remove(work.command.id)
        if work.cancelled:
            return
        command_id = work.command.id
        if work.durable:
            log.warning("rejected command %s: %s", command_id, reason)
            self.refusals.reject(command_id, reason)
        else:
            # Not seen yet: the next reconcile tries again, and the station hears about it once.
            what = f"programme entry {command_id} (tried again later)"
            self.refusals.once((command_id, "prepare"), command_id, reason, what)
            self._retry_at = time.time() + RETRY_S

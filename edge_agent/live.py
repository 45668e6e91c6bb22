"""Live sessions: join on live_start, keep the lease on each renewal, leave on live_stop.

The station sends `live_start` when an officer goes live and again every few seconds while the session
runs; each one extends the lease. The first one the agent acts on makes it join: a playout item whose feed
runs snapclient (outputs/live.py), ranked above the programme and below alerts, with the amplifier
switched on at once (the station plays a chime first: no pre-roll wait). The agent leaves on
`live_stop`, when the lease passes, when the stream stays silent or breaks; after a stop, silence or a
broken stream it does not rejoin that session, after a lease end or an alert the next renewal rejoins.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Literal

from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.gpio.amp import AmpControl
from edge_agent.outputs import OutputError, PlayRequest
from edge_agent.outputs.live import FINAL, LiveFeed
from edge_agent.outputs.snapclient import find_snapclient
from edge_agent.playout import Playout
from edge_agent.refusals import Refusals

log = logging.getLogger(__name__)

LiveCommand = protocol.LiveStartCommand | protocol.LiveStopCommand
Action = Literal["join", "renew", "leave", "ignore"]
_AMP_SAFETY_S = 6 * 3600.0  # a live reservation is released when the play ends; this is a safety net
_REMEMBER_S = 6 * 3600.0  # sessions left for good are remembered this long (renewals are refused)
_MAX_REMEMBERED = 1000


def live_sha256(session_id: str) -> str:
    """Return what a live play reports as its clip_sha256: sha256 of "live:<session_id>"."""
    return hashlib.sha256(f"live:{session_id}".encode()).hexdigest()


def plan(command: LiveCommand, feed: LiveFeed | None, left: str | None, now: float) -> tuple[Action, str]:
    """Decide what a live command does here, given the session's feed and why it was left for good."""
    if isinstance(command, protocol.LiveStopCommand):
        if feed is not None and not feed.leaving():
            return "leave", "stopped by the station" + (f": {command.reason}" if command.reason else "")
        return "ignore", "not in that session"
    if left is not None:
        return "ignore", f"session left for good ({left})"
    if now >= command.lease_until:
        return "ignore", "its lease is already over"
    if feed is not None and not feed.leaving():
        return "renew", f"lease until {command.lease_until:.1f}"
    return "join", "joining"


def live_play(command: protocol.LiveStartCommand, start_at: float) -> protocol.PlayCommand:
    """Return the playout's stand-in for a live session: the joining command's id, priority "priority"."""
    return protocol.PlayCommand(
        id=command.id,
        seq=command.seq,
        issued_at=command.issued_at,
        expires_at=command.expires_at,
        start_at=start_at,
        priority="priority",
        zones=command.zones,
        clip=protocol.ClipRef(
            url=f"live:{command.session_id}",
            sha256=live_sha256(command.session_id),
            size=1,
            duration_s=0.0,  # unknown: the session ends when the officer stops
        ),
        title=command.title,
    )


class LiveSessions:
    """The live sessions this agent is in (at most one plays; another waits for the output)."""

    def __init__(self, config: AgentConfig, *, playout: Playout, amp: AmpControl, refusals: Refusals) -> None:
        self.config, self.playout, self.amp, self.refusals = config, playout, amp, refusals
        self._lock = threading.Lock()
        self._feeds: dict[str, LiveFeed] = {}  # session -> its newest feed
        self._left: dict[str, tuple[str, float]] = {}  # session -> (why, forget at): no rejoining

    def take(self, command: LiveCommand) -> None:
        """Carry out a live_start or live_stop that handlers.decide accepted."""
        now = time.time()
        with self._lock:
            self._prune(now)
            session = command.session_id
            feed = self._feeds.get(session)
            if feed is not None and feed.cause in FINAL and session not in self._left:
                self._left[session] = (feed.cause, now + _REMEMBER_S)
            left = self._left.get(session)
            action, why = plan(command, feed, left[0] if left else None, now)
            if action == "renew" and feed is not None and isinstance(command, protocol.LiveStartCommand):
                feed.renew(command)
            elif action == "leave" and feed is not None:
                feed.leave("stopped")
            if isinstance(command, protocol.LiveStopCommand):
                self._left[session] = ("stopped", now + _REMEMBER_S)
        log.log(
            logging.DEBUG if action == "renew" else logging.INFO, "%s %s: %s", command.kind, command.id, why
        )
        if action == "join" and isinstance(command, protocol.LiveStartCommand):
            self._join(command, now)

    def stop(self) -> None:
        """Leave every session (shutdown; the playout's stop interrupts the one playing)."""
        with self._lock:
            for feed in self._feeds.values():
                feed.leave("interrupted")

    def _join(self, command: protocol.LiveStartCommand, now: float) -> None:
        try:
            snapclient = find_snapclient(self.config.snapclient)
        except OutputError as exc:
            key = (command.session_id, "snapclient")
            self.refusals.once(key, command.id, str(exc), f"cannot join live session {command.session_id}")
            return
        feed = LiveFeed(command, snapclient, self.config.device_id, self.config.live_latency_ms)
        with self._lock:
            self._feeds[command.session_id] = feed
        log.info("joining live session %s (%s:%d)", command.session_id, command.host, command.port)
        # The relay goes on at once: the station's chime comes first, so no pre-roll is waited for.
        self.amp.reserve(command.id, now, until=now + _AMP_SAFETY_S)
        request = PlayRequest(live_play(command, now), Path(os.devnull), self.config.device_id, live=feed)
        self.playout.schedule(request)

    def _prune(self, now: float) -> None:
        for session, feed in list(self._feeds.items()):
            if feed.done.is_set():
                if feed.cause in FINAL:
                    self._left.setdefault(session, (feed.cause, now + _REMEMBER_S))
                del self._feeds[session]
        self._left = {s: v for s, v in self._left.items() if v[1] > now}
        if len(self._left) > _MAX_REMEMBERED:
            self._left = dict(list(self._left.items())[-_MAX_REMEMBERED:])

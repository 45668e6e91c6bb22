"""Turn lone commands and zone programmes into scheduled plays, each exactly once, across restarts.

A lone command is written to the pending and seen stores as soon as it is accepted (the broker has
already been acknowledged). A programme entry is not: the stored programme holds it until its clip is
fetched, and only then is it written to both stores and scheduled. So "seen" always means "scheduled
(or played)", and an entry that arrives alone and in a programme is scheduled once, whichever comes
first. A newer programme cancels the entries of the older one it leaves out, unless they have started.
A play that comes alone for a time the newest held programme covers must be listed in it: an entry of a
deleted slot, replayed to a device that never held the programme listing it, is refused and reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.handlers import (
    Accepted,
    AcceptedAlert,
    AcceptedControl,
    AcceptedLive,
    AcceptedStream,
    AlertMessage,
    Rejected,
    decide,
)
from edge_agent.live import LiveCommand
from edge_agent.parked import Parked
from edge_agent.pending import PendingStore
from edge_agent.pipeline import Pipeline, Playable, Work
from edge_agent.playing import PlayMarks
from edge_agent.programme import (
    ProgrammeAccepted,
    check_programme,
    entry_ids,
    entry_index,
    is_programme_topic,
    unlisted_lone_entry,
)
from edge_agent.programme_store import ProgrammeStore, StoredProgramme
from edge_agent.refusals import Refusals
from edge_agent.seen import SeenStore
from edge_agent.sequence import SequenceStore
from edge_agent.trust import KeysAccepted, TrustStore

log = logging.getLogger(__name__)


class Planner:
    """Decide what to schedule from lone commands and zone programmes; the pipeline carries it out."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        seen: SeenStore,
        pending: PendingStore,
        programmes: ProgrammeStore,
        marks: PlayMarks,
        pipeline: Pipeline,
        refusals: Refusals,
        report: Callable[[protocol.AgentMessage], None],
        on_volume: Callable[[protocol.VolumeCommand], None],
        on_config: Callable[[protocol.ConfigCommand], None] | None = None,
        on_alert: Callable[[AlertMessage], None] | None = None,
        on_prefetch: Callable[[list[protocol.ClipRef]], None] | None = None,
        on_live: Callable[[LiveCommand], None] | None = None,
        trust: TrustStore | None = None,
        sequence: SequenceStore | None = None,
    ) -> None:
        self.config = config
        self.seen, self.pending, self.programmes, self.marks = seen, pending, programmes, marks
        self.pipeline, self.refusals = pipeline, refusals
        self.trust, self.sequence = trust, sequence
        self.parked = Parked()
        self._report, self._on_volume, self._on_config = report, on_volume, on_config
        self._on_alert, self._on_prefetch, self._on_live = on_alert, on_prefetch, on_live
        self._current: dict[str, protocol.ProgrammeMessage] = {}

    # --- what arrives ---------------------------------------------------------------------------------

    def command(self, payload: bytes, topic: str = "") -> None:
        """Decide on one command that arrived alone and carry it out (persisted before anything else)."""
        now = time.time()
        window = self.sequence.window() if self.sequence else None
        decision = decide(
            payload, now, self.config, self.pipeline.known(), keys=self._keys(now), window=window
        )
        if isinstance(decision, Rejected):
            if decision.kind == "unknown-key":
                self.parked.add(topic, payload, now)  # handled again if a key update announces its key
            if decision.report:
                log.warning(
                    "rejected command %s from %s: %s", decision.command_id or "?", topic, decision.reason
                )
                self.refusals.reject(decision.command_id, decision.reason)
            else:
                log.debug("ignored command %s: %s", decision.command_id, decision.reason)
            return
        if isinstance(decision, Accepted | AcceptedStream):
            refusal = unlisted_lone_entry(decision.command, self._current, self.config.zones)
            if refusal is not None:
                cid = decision.command.id
                self.refusals.once(
                    (cid, "unlisted"), cid, refusal, f"refused lone command {cid} from {topic}"
                )
                return
        if self.sequence is not None:
            self.sequence.accept(decision.command.seq)  # before any effect: a replay after a crash is refused
        if isinstance(decision, AcceptedAlert):
            self._alert(decision.command)
            return
        if isinstance(decision, AcceptedLive):
            self._live(decision.command)
            return
        command = decision.command
        if isinstance(command, protocol.VolumeCommand):
            self.seen.add(command.id, command.expires_at)
            self._on_volume(command)
            return
        if isinstance(command, protocol.ConfigCommand):
            self.seen.add(command.id, command.expires_at)
            if self._on_config is None:
                self.refusals.reject(command.id, "config commands are not supported by this agent")
            else:
                self._on_config(command)
            return
        log.info(
            "received %s %s (starts in %.1f s)", command.kind, command.id, command.start_at - time.time()
        )
        # Pending first: a power cut between the two leaves it restorable, never seen-but-lost.
        self.pending.save(command.id, payload)
        self.seen.add(command.id, command.expires_at)
        self.pipeline.submit(Work(command, payload, durable=True))

    def programme(self, raw: bytes, topic: str) -> None:
        """Accept a newer zone programme: store it, cancel what it left out, schedule what is new."""
        now = time.time()
        held = {zone: (p.version, p.raw) for zone, p in self.programmes.zones().items()}
        verdict = check_programme(raw, topic, now, self.config, held, keys=self._keys(now))
        if not isinstance(verdict, ProgrammeAccepted):
            if verdict.kind == "unknown-key":
                self.parked.add(topic, raw, now)
            if verdict.report:
                what = f"refused programme {verdict.programme_id or '?'} on {topic}"
                self.refusals.once(("programme", verdict.key), verdict.programme_id, verdict.reason, what)
            else:
                log.debug("programme on %s unchanged", topic)
            return
        programme = verdict.programme
        entries = entry_index(programme)
        # Stored before any effect: after a crash from here on, the restart redoes what follows.
        dropped = self.programmes.accept(
            programme.zone, StoredProgramme(programme.version, raw, entries), now
        )
        self._current[programme.zone] = programme
        self._prefetch()
        log.info(
            "accepted programme %s v%d for zone %s: %d entries, %d left out",
            programme.id,
            programme.version,
            programme.zone,
            len(entries),
            len(dropped),
        )
        self.pipeline.cancel(dropped)
        self._reconcile(programme.zone)

    def keys(self, raw: bytes) -> None:
        """Take a key update; if it changes the trusted keys, handle again what waited for them."""
        if self.trust is None:
            return
        now = time.time()
        verdict = self.trust.offer(raw, now)
        if not isinstance(verdict, KeysAccepted):
            if verdict.report:
                self.refusals.once(
                    ("keys", verdict.reason), verdict.update_id, verdict.reason, "refused key update"
                )
            return
        kids = [k.kid for k in verdict.state.keys]
        log.warning("accepted station key update %d: trusting keys %s", verdict.update.seq, kids)
        for topic, payload in self.parked.take(now):
            if is_programme_topic(topic):
                self.programme(payload, topic)
            else:
                self.command(payload, topic)
        for zone in list(self._current):
            self._reconcile(zone)

    def restore(self) -> None:
        """After a restart: report cut-off plays, reschedule pending commands, reconcile programmes."""
        now = time.time()
        for mark in self.marks.leftovers():
            log.warning(
                "command %s was playing when the agent stopped: %s", mark.command_id, mark.cut_off_reason(now)
            )
            self.refusals.reject(mark.command_id, mark.cut_off_reason(now))
            self.pending.remove(mark.command_id)  # marked before its pending copy went: never played twice
            self.marks.clear(mark.command_id)
        keys = self._keys(now)
        for zone, stored in self.programmes.zones().items():
            verdict = check_programme(
                stored.raw,
                protocol.zone_programme_topic(zone),
                now,
                self.config,
                {},
                check_expiry=False,
                keys=keys,
            )
            if isinstance(verdict, ProgrammeAccepted):
                self._current[zone] = verdict.programme
            else:
                log.warning("ignoring the stored programme of zone %s: %s", zone, verdict.reason)
        for key, payload in self.pending.load():
            decision = decide(payload, now, self.config, frozenset(), keys=keys)
            lone = Rejected | AcceptedAlert | AcceptedLive  # never persisted
            command = None if isinstance(decision, lone) else decision.command
            if command is None or isinstance(command, protocol.VolumeCommand | protocol.ConfigCommand):
                command_id = command.id if command else getattr(decision, "command_id", "")
                reason = getattr(decision, "reason", "not a persisted kind")
                log.warning("dropping persisted command %s: %s", command_id or key, reason)
                self.pending.discard(key)
                if command_id:
                    self.refusals.reject(command_id, reason)
                continue
            self._restore_one(key, command, payload)
        self._prefetch()
        for zone in list(self._current):
            self._reconcile(zone)

    def tick(self, now: float) -> None:
        """Retry programme entries whose clip could not be fetched, once the pipeline says it is time."""
        if self.pipeline.retry_due(now):
            for zone in list(self._current):
                self._reconcile(zone)

    # --- internals ------------------------------------------------------------------------------------

    def _alert(self, command: AlertMessage) -> None:
        """Acknowledge an alert or cancel at once (the station retries silent devices), then carry it out."""
        self._report(
            protocol.CommandReceived(device_id=self.config.device_id, command_id=command.id, ts=time.time())
        )
        log.info("received %s %s", command.kind, command.id)
        if self._on_alert is None:
            self.refusals.reject(command.id, f"{command.kind} commands are not supported by this agent")
            return
        self._on_alert(command)
        # Seen only now: a re-send (device topic, retries) is a duplicate. Alerts are not persisted: one
        # interrupted by a restart is not played again (the station re-sends to devices that did not ack).
        self.seen.add(command.id, command.expires_at)

    def _live(self, command: LiveCommand) -> None:
        """Join, renew or leave a live session (not persisted: after a restart the next renewal rejoins)."""
        self.seen.add(command.id, command.expires_at)
        if self._on_live is None:
            self.refusals.reject(command.id, f"{command.kind} commands are not supported by this agent")
            return
        self._on_live(command)

    def _prefetch(self) -> None:
        """Fetch and pin the clips the programmes ask every agent to keep (alert sirens and templates)."""
        if self._on_prefetch is None:
            return
        clips = {clip.sha256: clip for p in self._current.values() for clip in p.prefetch}
        self._on_prefetch(list(clips.values()))

    def _restore_one(self, key: str, command: Playable, payload: bytes) -> None:
        if self.programmes.is_dropped(command.id):
            # A newer programme left it out and the agent stopped before cancelling it: cancel it now.
            log.info("not restoring %s: its programme dropped it", command.id)
            self.programmes.mark_cancelled({command.id: command.expires_at})
            self.pending.discard(key)
            return
        self.programmes.uncancel(command.id)  # brought back and scheduled just before the restart
        if command.id not in self.seen:
            self.seen.add(command.id, command.expires_at)
        log.info("restored command %s (%s) from the persisted programme", command.id, command.kind)
        self.pipeline.submit(Work(command, payload, durable=True))

    def _reconcile(self, zone: str) -> None:
        """Schedule every entry of the zone's programme that is valid and neither seen nor on its way."""
        programme = self._current.get(zone)
        if programme is None:
            return
        ids = entry_ids(programme)
        self.pipeline.rescue({cid for cid in ids if cid})  # listed again before it got scheduled
        known = self.pipeline.known(again=self.programmes.cancelled())
        now = time.time()
        keys = self._keys(now)
        accepted: dict[str, tuple[Playable, bytes]] = {}
        for entry, claimed in zip(programme.entries, ids, strict=True):
            if claimed in known:
                continue  # scheduled or played: no need to check its signature again every hour
            payload = entry.encode()
            decision = decide(payload, now, self.config, known, keys=keys)
            if isinstance(decision, Accepted | AcceptedStream):
                accepted.setdefault(decision.command.id, (decision.command, payload))  # listed twice: once
            elif isinstance(decision, AcceptedControl | AcceptedAlert | AcceptedLive):
                cid = decision.command.id
                self.refusals.once((cid, "kind"), cid, "not a programme entry kind", f"programme entry {cid}")
            elif decision.kind != "duplicate":
                cid = decision.command_id
                self.refusals.once(
                    (cid, decision.kind), cid, decision.reason, f"programme entry {cid or '?'}"
                )
        for command, payload in sorted(accepted.values(), key=lambda item: item[0].start_at):
            log.info(
                "programme entry %s (%s) starts in %.1f s", command.id, command.kind, command.start_at - now
            )
            self.pipeline.submit(Work(command, payload, durable=False))

    def _keys(self, now: float) -> dict[str, str] | None:
        return self.trust.ring(now) if self.trust is not None else None

"""The composition root: wire config, cache, stores, handler, playout, amp, mixer, health and MQTT."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from broadcast import protocol
from edge_agent.cache import ClipCache, ClipError
from edge_agent.clock import ClockMonitor
from edge_agent.config import AgentConfig
from edge_agent.control import VolumeKeeper, tone_play
from edge_agent.gpio import Relay, make_relay
from edge_agent.gpio.amp import AmpControl
from edge_agent.handlers import Accepted, AcceptedControl, decide
from edge_agent.heartbeat import AgentState, HealthPaths, HeartbeatLoop, collect
from edge_agent.mixer import Mixer, MixerError
from edge_agent.outputs import Output, PlayRequest
from edge_agent.pending import PendingStore
from edge_agent.playout import LATE_TOLERANCE_S, Outcome, Playout
from edge_agent.seen import SeenStore
from edge_agent.transport import Inbound, MqttTransport

log = logging.getLogger(__name__)

_FETCH_WORKERS = 2  # an emergency clip must not wait behind one slow normal download
_AMP_SAFETY_S = 60.0  # a reservation never released (a bug) still lets the amplifier go off


def _version() -> str:
    try:
        return metadata.version("loa-xa")
    except metadata.PackageNotFoundError:
        return ""


class Agent:
    """One edge agent: receive commands, fetch clips early, play them on time, report back."""

    def __init__(
        self,
        config: AgentConfig,
        output: Output,
        *,
        relay: Relay | None = None,
        mixer: Mixer | None = None,
        health_paths: HealthPaths | None = None,
    ) -> None:
        self.config = config
        self.started = time.monotonic()
        self.version = _version()
        state = config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.seen = SeenStore(state / "seen.jsonl")
        self.pending = PendingStore(state / "pending")
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.transport = MqttTransport(config, self.inbox, version=self.version)
        self.amp = AmpControl(
            relay if relay is not None else make_relay(config.relay_pin, config.relay_active_high),
            config.relay_pre_roll_s,
            config.relay_hold_s,
        )
        self.volume = VolumeKeeper(
            mixer or Mixer(config.mixer_control, config.mixer_card), state / "volume.json"
        )
        self.playout = Playout(
            output,
            config.device_id,
            self.transport.publish_event,
            on_done=self._done,
            on_started=lambda command: self.pending.remove(command.id),
        )
        self.clock = ClockMonitor()
        self._fetching: set[str] = set()  # clips being fetched: not yet in the playout, not to be evicted
        self._fetching_lock = threading.Lock()
        self.cache = ClipCache(
            state / "clips",
            config.cache_max_bytes,
            in_use=self._clips_in_use,
            on_date=self.clock.note_http_date,
        )
        self.heartbeat = HeartbeatLoop(
            config.heartbeat_interval_s, self._heartbeat, self.transport.publish_heartbeat
        )
        self._health_paths = health_paths or HealthPaths()
        self._stopping = threading.Event()
        self._fetchers = ThreadPoolExecutor(_FETCH_WORKERS, thread_name_prefix="fetch")
        self._worker = threading.Thread(target=self._work, name="commands", daemon=True)

    def start(self) -> None:
        """Restore the volume and the persisted programme, then start playing and listening."""
        self.volume.restore()
        self.amp.start()
        self.playout.start()
        self._restore()
        self._worker.start()
        self.transport.start()
        self.heartbeat.start()
        log.info("agent %s started (zones %s)", self.config.device_id, ",".join(self.config.zones))

    def stop(self) -> None:
        """Stop taking commands, stop playing, switch the amplifier off, say offline and disconnect."""
        self._stopping.set()
        if self._worker.is_alive():
            self._worker.join(timeout=2)
        self._fetchers.shutdown(wait=False, cancel_futures=True)
        self.heartbeat.stop()
        self.playout.stop()
        self.amp.stop()
        self.transport.stop()
        self.seen.close()
        log.info("agent %s stopped", self.config.device_id)

    def healthy(self) -> bool:
        """Return True while every long-lived thread runs (what the systemd watchdog vouches for)."""
        threads = (self._worker.is_alive(), self.playout.is_alive(), self.amp.is_alive())
        return all(threads) and self.transport.is_alive() and self.heartbeat.is_alive()

    def connected(self) -> bool:
        """Return True while the broker link is up."""
        return self.transport.connected.is_set()

    def handle(self, payload: bytes, topic: str = "") -> None:
        """Decide on one received payload and carry it out (persisting plays before fetching)."""
        decision = decide(payload, time.time(), self.config, self.seen)
        if isinstance(decision, AcceptedControl):
            self.seen.add(decision.command.id, decision.command.expires_at)
            if isinstance(decision.command, protocol.VolumeCommand):
                self._set_volume(decision.command)
            else:
                log.info("received test tone %s (%g Hz)", decision.command.id, decision.command.frequency)
                self.pending.save(decision.command.id, payload)
                self._fetchers.submit(self._schedule_tone, decision.command)
            return
        if not isinstance(decision, Accepted):
            if decision.report:
                log.warning(
                    "rejected command %s from %s: %s", decision.command_id or "?", topic, decision.reason
                )
                self._report_rejection(decision.command_id, decision.reason)
            else:
                log.debug("ignored command %s: %s", decision.command_id, decision.reason)
            return
        command = decision.command
        log.info(
            "received command %s (%s, starts in %.1f s): %s",
            command.id,
            command.priority,
            command.start_at - time.time(),
            command.title,
        )
        self.seen.add(command.id, command.expires_at)
        self.pending.save(command.id, payload)
        self._fetchers.submit(self._fetch_and_schedule, command)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                inbound = self.inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.handle(inbound.payload, inbound.topic)
            except Exception:
                # One bad message (or a full disk) must not end the loop that receives every later one.
                log.exception("failed to handle a message on %s", inbound.topic)

    def _restore(self) -> None:
        """Reschedule commands accepted before a restart; they are verified again like new ones."""
        for key, payload in self.pending.load():
            decision = decide(payload, time.time(), self.config, frozenset())
            if isinstance(decision, Accepted):
                log.info("restored command %s from the persisted programme", decision.command.id)
                self._fetchers.submit(self._fetch_and_schedule, decision.command)
                continue
            if isinstance(decision, AcceptedControl) and isinstance(
                decision.command, protocol.TestToneCommand
            ):
                log.info("restored test tone %s from the persisted programme", decision.command.id)
                self._fetchers.submit(self._schedule_tone, decision.command)
                continue
            command_id = decision.command.id if isinstance(decision, AcceptedControl) else decision.command_id
            reason = "not a persisted kind" if isinstance(decision, AcceptedControl) else decision.reason
            log.warning("dropping persisted command %s: %s", command_id or key, reason)
            self.pending.discard(key)
            if command_id:
                self._report_rejection(command_id, reason)

    def _fetch_and_schedule(self, command: protocol.PlayCommand) -> None:
        with self._fetching_lock:
            self._fetching.add(command.clip.sha256)
        try:
            path = self.cache.ensure(command.clip, deadline=command.expires_at, stop=self._stopping)
        except ClipError as exc:
            if self._stopping.is_set():
                return  # stays persisted; fetched again after the restart
            log.warning("rejected command %s: clip fetch failed: %s", command.id, exc)
            self._report_rejection(command.id, f"clip fetch failed: {exc}")
            self.pending.remove(command.id)
            return
        except Exception:
            log.exception("fetch of command %s crashed", command.id)
            self._report_rejection(command.id, "clip fetch failed: internal error")
            self.pending.remove(command.id)
            return
        finally:
            with self._fetching_lock:
                self._fetching.discard(command.clip.sha256)
        log.info("fetched clip %s for command %s", command.clip.sha256[:12], command.id)
        self._schedule(command, path)

    def _schedule_tone(self, command: protocol.TestToneCommand) -> None:
        try:
            play, path = tone_play(command, self.config.state_dir / "tones")
        except OSError as exc:
            log.warning("test tone %s failed: %s", command.id, exc)
            self._report_rejection(command.id, f"test tone failed: {exc}")
            self.pending.remove(command.id)
            return
        self._schedule(play, path)

    def _schedule(self, command: protocol.PlayCommand, path: Path) -> None:
        # The relay goes on pre_roll before start_at; the latest a play may run is a safety net only.
        until = max(command.start_at + LATE_TOLERANCE_S, command.expires_at) + command.clip.duration_s
        self.amp.reserve(command.id, command.start_at, until=until + _AMP_SAFETY_S)
        self.playout.schedule(PlayRequest(command, path, self.config.device_id))

    def _set_volume(self, command: protocol.VolumeCommand) -> None:
        try:
            self.volume.apply(command.level)
        except MixerError as exc:
            log.warning("volume command %s failed: %s", command.id, exc)
            self._report_rejection(command.id, f"volume failed: {exc}")
            return
        self.heartbeat.poke()  # the station sees the new level in the next heartbeat: send it now

    def _done(self, command: protocol.PlayCommand, outcome: Outcome) -> None:
        self.amp.release(command.id)
        # A started play is already forgotten (a restart must not play it twice); "stopped" never began
        # and stays persisted for after the restart.
        if outcome != "stopped":
            self.pending.remove(command.id)

    def _clips_in_use(self) -> set[str]:
        with self._fetching_lock:
            return self.playout.pending_shas() | self._fetching

    def _heartbeat(self) -> protocol.Heartbeat:
        state = AgentState(volume=self.volume.current(), now_playing=self.playout.now_playing())
        return collect(
            self.config.device_id,
            self.version,
            self.config.state_dir,
            self.cache.directory,
            self.clock,
            state,
            self.started,
            self._health_paths,
        )

    def _report_rejection(self, command_id: str, reason: str) -> None:
        self.transport.publish_event(
            protocol.CommandRejected(
                device_id=self.config.device_id, command_id=command_id, reason=reason[:500]
            )
        )

"""The composition root: wire config, stores, planner, pipeline, playout, amp, mixer, health, outbox, MQTT."""

from __future__ import annotations

import logging
import queue
import threading
import time
from importlib import metadata

from broadcast import protocol
from edge_agent._files import describe as describe_error
from edge_agent.alerts import AlertPlayer
from edge_agent.cache import ClipCache
from edge_agent.clock import ClockMonitor
from edge_agent.config import AgentConfig
from edge_agent.control import VolumeKeeper
from edge_agent.gpio import Relay, make_relay
from edge_agent.gpio.amp import AmpControl
from edge_agent.handlers import AlertMessage
from edge_agent.heartbeat import AgentState, HealthPaths, HeartbeatLoop, collect
from edge_agent.mixer import Mixer, MixerError
from edge_agent.outbox import Outbox
from edge_agent.outputs import Output
from edge_agent.pending import PendingStore
from edge_agent.pipeline import Pipeline
from edge_agent.planner import Planner
from edge_agent.playout import Playout
from edge_agent.programme import is_programme_topic
from edge_agent.programme_store import ProgrammeStore
from edge_agent.reporter import Reporter
from edge_agent.seen import SeenStore
from edge_agent.sequence import SequenceStore
from edge_agent.settings import OVERLAY_NAME, SettingsStore, Tunables, describe, effective
from edge_agent.transport import Inbound, MqttTransport
from edge_agent.trust import TrustStore

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("loa-xa")
    except metadata.PackageNotFoundError:
        return ""


class Agent:
    """One edge agent: receive commands and programmes, fetch clips early, play on time, report back."""

    def __init__(
        self,
        config: AgentConfig,
        output: Output,
        *,
        relay: Relay | None = None,
        mixer: Mixer | None = None,
        health_paths: HealthPaths | None = None,
        log_level: str | None = None,
    ) -> None:
        """log_level: set on the command line, it wins over the station's log_level setting."""
        self.config = config
        self.started = time.monotonic()
        self.version = _version()
        state = config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.settings = SettingsStore(state / OVERLAY_NAME)
        tunables = effective(config, self.settings.values)
        self._log_level = log_level
        self._logger = logging.getLogger("edge_agent")
        self._initial_log_level = self._logger.level
        self.seen = SeenStore(state / "seen.jsonl")
        self.trust = TrustStore(state / "keys.json", config.station_public_key)
        self.sequence = SequenceStore(state / "sequence.json")
        self.pending = PendingStore(state / "pending")
        self.programmes = ProgrammeStore(state / "programmes.json")
        self.outbox = Outbox(state / "outbox.jsonl")
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.transport = MqttTransport(config, self.inbox, version=self.version)
        self.reporter = Reporter(self.outbox, self.transport)
        self.amp = AmpControl(
            relay if relay is not None else make_relay(config.relay_pin, config.relay_active_high),
            tunables.relay_pre_roll_s,
            tunables.relay_hold_s,
        )
        self.volume = VolumeKeeper(
            mixer or Mixer(config.mixer_control, config.mixer_card),
            state / "volume.json",
            default=tunables.default_volume,
        )
        self.playout = Playout(
            output,
            config.device_id,
            self.reporter.report,
            on_done=lambda command, outcome: self.pipeline.done(command, outcome),
            on_started=lambda command: self.pipeline.started(command),
        )
        self.clock = ClockMonitor(ntp_warn_ms=tunables.ntp_warn_ms)
        self.cache = ClipCache(
            state / "clips",
            config.cache_max_bytes,
            in_use=lambda: self.pipeline.clips_in_use(),
            on_date=self.clock.note_http_date,
        )
        self._stopping = threading.Event()
        self.pipeline = Pipeline(
            config,
            seen=self.seen,
            pending=self.pending,
            programmes=self.programmes,
            cache=self.cache,
            playout=self.playout,
            amp=self.amp,
            stopping=self._stopping,
            on_failed=lambda work, reason: self.planner.failed(work, reason),
        )
        self.alerts = AlertPlayer(
            output,
            config.device_id,
            cache=self.cache,
            playout=self.playout,
            amp=self.amp,
            report=self.reporter.report,
        )
        self.planner = Planner(
            config,
            seen=self.seen,
            pending=self.pending,
            programmes=self.programmes,
            pipeline=self.pipeline,
            report=self.reporter.report,
            on_volume=self._set_volume,
            on_config=self._configure,
            on_alert=self._alert,
            on_prefetch=self.pipeline.keep,
            trust=self.trust,
            sequence=self.sequence,
        )
        self.heartbeat = HeartbeatLoop(
            tunables.heartbeat_interval_s, self._heartbeat, self.transport.publish_heartbeat
        )
        self._apply_log_level(tunables)
        self._health_paths = health_paths or HealthPaths()
        self._worker = threading.Thread(target=self._work, name="commands", daemon=True)

    def start(self) -> None:
        """Restore the volume, the persisted commands and programmes, then start playing and listening."""
        self.volume.restore()
        self.amp.start()
        self.playout.start()
        self.reporter.start()  # reports kept from before a restart are sent once the link is up
        self.planner.restore()
        self._worker.start()
        self.transport.start()
        self.heartbeat.start()
        log.info("agent %s started (zones %s)", self.config.device_id, ",".join(self.config.zones))
        if self.settings.values:
            log.info("settings from the station: %s", describe(self.settings.values))

    def stop(self) -> None:
        """Stop taking commands, stop playing, switch the amplifier off, say offline and disconnect."""
        self._stopping.set()
        if self._worker.is_alive():
            self._worker.join(timeout=2)
        self.pipeline.stop()
        self.alerts.stop()
        self.heartbeat.stop()
        self.playout.stop()
        self.amp.stop()
        self.reporter.stop()
        self.transport.stop()
        self.seen.close()
        self.outbox.close()
        log.info("agent %s stopped", self.config.device_id)
        self._logger.setLevel(self._initial_log_level)  # an in-process restart (tests) starts afresh

    def healthy(self) -> bool:
        """Return True while every long-lived thread runs (what the systemd watchdog vouches for)."""
        threads = (self._worker.is_alive(), self.playout.is_alive(), self.amp.is_alive())
        link = self.transport.is_alive() and self.reporter.is_alive()
        return all(threads) and link and self.heartbeat.is_alive()

    def connected(self) -> bool:
        """Return True while the broker link is up."""
        return self.transport.connected.is_set()

    def handle(self, payload: bytes, topic: str = "") -> None:
        """Carry out one received message: a key update, a zone programme, or a command that came alone."""
        if topic == protocol.KEYS_TOPIC:
            self.planner.keys(payload)
        elif is_programme_topic(topic):
            self.planner.programme(payload, topic)
        else:
            self.planner.command(payload, topic)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                inbound = self.inbox.get(timeout=0.5)
            except queue.Empty:
                inbound = None
            try:
                if inbound is not None:
                    self.handle(inbound.payload, inbound.topic)
                self.planner.tick(time.time())
            except Exception:
                # One bad message (or a full disk) must not end the loop that receives every later one.
                log.exception("failed to handle a message on %s", inbound.topic if inbound else "-")

    def _alert(self, command: AlertMessage) -> None:
        if isinstance(command, protocol.AlertCommand):
            self.alerts.alert(command)
        elif isinstance(command, protocol.AlertSpeechCommand):
            self.alerts.speech(command)
        else:
            self.alerts.cancel(command)

    def _set_volume(self, command: protocol.VolumeCommand) -> None:
        try:
            self.volume.apply(command.level)
        except MixerError as exc:
            log.warning("volume command %s failed: %s", command.id, exc)
            self.planner.reject(command.id, f"volume failed: {exc}")
            return
        self.heartbeat.poke()  # the station sees the new level in the next heartbeat: send it now

    def _configure(self, command: protocol.ConfigCommand) -> None:
        """Persist the station's settings (all or nothing), apply them live, and show them at once."""
        try:
            self.settings.replace(command.settings)
        except OSError as exc:
            # Nothing applied: a live change lost at the next restart would disagree with the heartbeat.
            log.error("config command %s not saved: %s", command.id, describe_error(exc))
            self.planner.reject(command.id, f"config not saved: {describe_error(exc)}")
            return
        tunables = effective(self.config, command.settings)
        self.heartbeat.set_interval(tunables.heartbeat_interval_s)
        self.amp.retime(tunables.relay_pre_roll_s, tunables.relay_hold_s)
        self.clock.ntp_warn_ms = tunables.ntp_warn_ms
        self.volume.set_default(tunables.default_volume)
        self._apply_log_level(tunables)
        log.info("config command %s applied: %s", command.id, describe(command.settings))
        self.heartbeat.poke()  # the station compares what it wants with what the heartbeat says

    def _apply_log_level(self, tunables: Tunables) -> None:
        level = self._log_level or tunables.log_level
        self._logger.setLevel(level if level is not None else self._initial_log_level)

    def _heartbeat(self) -> protocol.Heartbeat:
        state = AgentState(
            volume=self.volume.current(),
            now_playing=self.alerts.now_playing() or self.playout.now_playing(),
            settings=dict(self.settings.values),
        )
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

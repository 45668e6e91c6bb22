"""The composition root: build the agent's parts in order, each from parts already built, then run them.

The order is the data's way through the agent, bottom up: the stores and the broker link; the amplifier,
the mixer and the clock; the playout and what it reports to (OnAir); the work underway and the clip
cache that asks it what is in use; the pipeline and the alert player; the heartbeat; the controls; the
planner over all of them; last the thread that feeds it. No part calls one built after it.
"""

from __future__ import annotations

import logging
import queue
import threading
from importlib import metadata

from edge_agent.alerts import AlertPlayer
from edge_agent.cache import ClipCache
from edge_agent.clock import ClockMonitor, station_probe
from edge_agent.config import AgentConfig
from edge_agent.control import VolumeKeeper
from edge_agent.gpio import Relay, make_relay
from edge_agent.gpio.amp import AmpControl
from edge_agent.heartbeat import HealthPaths, HeartbeatLoop, Vitals
from edge_agent.live import LiveSessions
from edge_agent.mixer import Mixer
from edge_agent.outbox import Outbox
from edge_agent.outputs import Output
from edge_agent.pending import PendingStore
from edge_agent.pipeline import Pipeline, Underway
from edge_agent.planner import Planner
from edge_agent.playing import OnAir, PlayMarks
from edge_agent.playout import Playout
from edge_agent.programme_store import ProgrammeStore
from edge_agent.receiver import Receiver
from edge_agent.refusals import Refusals
from edge_agent.reporter import Reporter
from edge_agent.seen import SeenStore
from edge_agent.sequence import SequenceStore
from edge_agent.settings import OVERLAY_NAME, SettingsStore, describe, effective
from edge_agent.transport import Inbound, MqttTransport
from edge_agent.trust import TrustStore
from edge_agent.tuning import Tuning

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
        self.version = _version()
        device, state = config.device_id, config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.settings = SettingsStore(state / OVERLAY_NAME)
        tunables = effective(config, self.settings.values)
        self._stopping = threading.Event()

        # What survives a restart, and the link to the broker.
        self.seen = SeenStore(state / "seen.jsonl")
        self.trust = TrustStore(state / "keys.json", config.station_public_key)
        self.sequence = SequenceStore(state / "sequence.json")
        self.pending = PendingStore(state / "pending")
        self.programmes = ProgrammeStore(state / "programmes.json")
        self.marks = PlayMarks(state / "playing")
        self.outbox = Outbox(state / "outbox.jsonl")
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.transport = MqttTransport(config, self.inbox, version=self.version)
        self.reporter = Reporter(self.outbox, self.transport)
        self.refusals = Refusals(device, self.reporter.report)

        # The hardware and the clock.
        relay = relay if relay is not None else make_relay(config.relay_pin, config.relay_active_high)
        self.amp = AmpControl(relay, tunables.relay_pre_roll_s, tunables.relay_hold_s)
        mixer = mixer or Mixer(config.mixer_control, config.mixer_card)
        self.volume = VolumeKeeper(mixer, state / "volume.json", default=tunables.default_volume)
        self.clock = ClockMonitor(ntp_warn_ms=tunables.ntp_warn_ms, probe=station_probe(config.station_url))

        # Playing: the playout reports each start and end to OnAir; the cache keeps what is underway.
        on_air = OnAir(self.marks, self.pending, self.amp)
        self.playout = Playout(
            output, device, self.reporter.report, on_done=on_air.done, on_started=on_air.started
        )
        underway = Underway(self.playout)
        self.cache = ClipCache(
            state / "clips",
            config.cache_max_bytes,
            in_use=underway.clips_in_use,
            on_date=self.clock.note_http_date,
        )
        self.pipeline = Pipeline(
            config,
            underway=underway,
            seen=self.seen,
            pending=self.pending,
            programmes=self.programmes,
            cache=self.cache,
            playout=self.playout,
            amp=self.amp,
            refusals=self.refusals,
            stopping=self._stopping,
        )
        self.alerts = AlertPlayer(
            output, device, cache=self.cache, playout=self.playout, amp=self.amp, report=self.reporter.report
        )
        self.live = LiveSessions(config, playout=self.playout, amp=self.amp, refusals=self.refusals)

        # Telling the station how the device is, and taking its settings.
        self.vitals = Vitals(
            device,
            self.version,
            state,
            self.cache.directory,
            self.clock,
            volume=self.volume.current,
            now_playing=self.alerts.on_the_air,
            settings=self.settings.current,
            paths=health_paths or HealthPaths(),
        )
        self.heartbeat = HeartbeatLoop(
            tunables.heartbeat_interval_s, self.vitals.collect, self.transport.publish_heartbeat
        )
        self.tuning = Tuning(
            config,
            tunables,
            settings=self.settings,
            volume=self.volume,
            amp=self.amp,
            clock=self.clock,
            heartbeat=self.heartbeat,
            refusals=self.refusals,
            log_level=log_level,
        )

        # Deciding what to do with each message, and the thread that hands the messages over.
        self.planner = Planner(
            config,
            seen=self.seen,
            pending=self.pending,
            programmes=self.programmes,
            marks=self.marks,
            pipeline=self.pipeline,
            refusals=self.refusals,
            report=self.reporter.report,
            on_volume=self.tuning.volume,
            on_config=self.tuning.configure,
            on_alert=self.alerts.take,
            on_prefetch=self.pipeline.keep,
            on_live=self.live.take,
            trust=self.trust,
            sequence=self.sequence,
        )
        self.receiver = Receiver(self.inbox, self.planner, self._stopping)

    def start(self) -> None:
        """Restore the volume, the persisted commands and programmes, then start playing and listening."""
        self.volume.restore()
        self.amp.start()
        self.playout.start()
        self.reporter.start()  # reports kept from before a restart are sent once the link is up
        self.planner.restore()
        self.receiver.start()
        self.transport.start()
        self.heartbeat.start()
        log.info("agent %s started (zones %s)", self.config.device_id, ",".join(self.config.zones))
        if self.settings.values:
            log.info("settings from the station: %s", describe(self.settings.values))

    def stop(self) -> None:
        """Stop taking commands, stop playing, switch the amplifier off, say offline and disconnect."""
        self._stopping.set()
        self.receiver.join(timeout=2)
        self.pipeline.stop()
        self.alerts.stop()
        self.live.stop()
        self.heartbeat.stop()
        self.playout.stop()
        self.amp.stop()
        self.reporter.stop()
        self.transport.stop()
        self.seen.close()
        self.outbox.close()
        log.info("agent %s stopped", self.config.device_id)
        self.tuning.reset_log_level()  # an in-process restart (tests) starts afresh

    def healthy(self) -> bool:
        """Return True while every long-lived thread runs (what the systemd watchdog vouches for)."""
        threads = (self.receiver.is_alive(), self.playout.is_alive(), self.amp.is_alive())
        link = self.transport.is_alive() and self.reporter.is_alive()
        return all(threads) and link and self.heartbeat.is_alive()

    def connected(self) -> bool:
        """Return True while the broker link is up."""
        return self.transport.connected.is_set()

    def handle(self, payload: bytes, topic: str = "") -> None:
        """Carry out one received message: a key update, a zone programme, or a command that came alone."""
        self.receiver.handle(payload, topic)

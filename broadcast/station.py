"""Composition root of a running station: database, clip store, broker, MQTT client, scheduler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from broadcast import alerts, programme, reports
from broadcast.alerts import delivery as alert_delivery
from broadcast.alerts.speech import SpeechWorker
from broadcast.alerts.templates import Template, ensure_templates
from broadcast.backup import followup, scheduled
from broadcast.clipstore import open_clip_storage
from broadcast.clipstore.store import ClipStorage
from broadcast.config import Settings
from broadcast.fleet import device_settings, presence
from broadcast.fleet.devices import broker_config, public_url, sync_broker_credentials
from broadcast.jobs import JobRunner, fail_stale
from broadcast.limits.lanes import Lanes, build_lanes
from broadcast.limits.token_bucket import Rate
from broadcast.live import LiveService
from broadcast.live.engine import SnapcastEngine, start_live
from broadcast.mqtt.broker import ManagedBroker
from broadcast.mqtt.client import MqttTarget, StationMqtt
from broadcast.mqtt.credentials import STATION_USER, station_worker_user
from broadcast.mqtt.report_guard import ReportGuard
from broadcast.mqtt.setup import device_host, external_target, station_target
from broadcast.people import accounts
from broadcast.people.login_guard import LoginGuard, LoginThrottle
from broadcast.programme import publishing
from broadcast.programme.leading import elected_scheduler
from broadcast.reports import floods as report_floods
from broadcast.scheduler import jobs
from broadcast.scheduler.elected import ElectedScheduler
from broadcast.scheduler.planner import parse_quiet_hours
from broadcast.signing import key_rotation
from broadcast.signing.keys import StationKeys
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Slot

log = logging.getLogger(__name__)


class Periodic:
    """A background loop calling `work` every `interval_s` (device watchdog, alert retries)."""

    def __init__(self, name: str, interval_s: float, work: Callable[[], object]) -> None:
        self._work = work
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._work()
            except Exception:  # a database or broker hiccup must not end the loop
                log.exception("%s failed", self._thread.name)


@dataclass
class Station:
    """Everything a request handler or a job needs, built once per app instance."""

    settings: Settings
    db: Database
    clips: ClipStorage
    keys: StationKeys
    public_url: str
    mqtt: StationMqtt
    scheduler: ElectedScheduler
    lanes: Lanes  # alert threads and bounded password-hashing lanes (broadcast/limits/lanes.py)
    login_guard: LoginGuard
    broker: ManagedBroker | None = None
    loops: list[Periodic] = field(default_factory=list)
    templates: dict[str, Template] = field(default_factory=dict)
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    jobs: JobRunner = field(default_factory=JobRunner)  # long operations with a progress page
    alert_speech: SpeechWorker = field(default_factory=SpeechWorker)  # an alert's speech, after its siren
    started_at: datetime | None = field(default=None)
    config_resender: device_settings.Resender | None = None  # re-sends settings a heartbeat disagrees with
    live: LiveService | None = None  # live broadcasts (None: off or unavailable, live_reason says why)
    live_engine: SnapcastEngine | None = None
    live_reason: str = ""

    def push_context(self) -> publishing.PushContext:
        return publishing.PushContext(
            db=self.db,
            publisher=self.mqtt,
            signing_key=self.keys.signing_key_raw(),
            public_url=self.public_url,
            command_ttl_s=self.settings.command_ttl_s,
            tz=self.settings.timezone,
            window=timedelta(hours=self.settings.programme_window_h),
            prefetch=tuple(t.clip for t in self.templates.values()),
            quiet=parse_quiet_hours(self.settings.quiet_hours),
        )

    def alert_deps(self) -> alerts.AlertDeps:
        return alerts.AlertDeps(
            self.push_context(),
            self.clips,
            self.settings.speech,
            self.settings.alerts,
            self.templates,
            self.alert_speech,
        )

    def rules(self) -> programme.ProgrammeRules:
        return programme.ProgrammeRules(self.settings.timezone, parse_quiet_hours(self.settings.quiet_hours))

    def refresh_programme(self, zones: Iterable[str] | None = None) -> bool:
        """Republish the programme of `zones` now; False (logged) if the broker is unreachable.

        A failure loses nothing: the periodic refresh and each slot's last-call job publish it later.
        """
        try:
            publishing.refresh(self.push_context(), zones)
        except Exception:  # broker down, publish timeout: the next refresh retries
            log.exception("programme refresh failed; will retry")
            return False
        return True

    def refresh_slot(self, slot_id: int) -> None:
        """Refresh the zones of one slot (its last-call job, run lead seconds before each occurrence)."""
        with self.db.session() as session:
            slot = session.get(Slot, slot_id)
            zones = list(slot.zones) if slot is not None else None
        self.refresh_programme(zones)


def station_user(settings: Settings) -> str:
    """Return this process's broker account: `station`, or `station-<n>` for worker n."""
    return STATION_USER if settings.worker_id is None else station_worker_user(settings.worker_id)


def _mqtt_target(settings: Settings, keys: StationKeys) -> MqttTarget:
    if settings.mqtt_url:
        target = external_target(settings.broker)  # verified against BROADCAST_MQTT_CA_FILE if set
        if target.username is None and settings.worker_id is not None:
            # A worker beside the one running the managed broker: its account, the shared station secret.
            return replace(target, username=station_user(settings), password=keys.broker_password())
        return target
    # The managed broker's plain listener; with TLS on it listens on loopback for station accounts only.
    return station_target(settings.broker, station_user(settings), keys.broker_password())


def _station_mqtt(settings: Settings, keys: StationKeys) -> StationMqtt:
    """Return the MQTT client; workers join one shared subscription so each report reaches one of them."""
    group = settings.mqtt_shared_group if settings.worker_id is not None else None
    rate = Rate(settings.report_rate_per_minute, settings.report_burst)
    return StationMqtt(_mqtt_target(settings, keys), shared_group=group, guard=ReportGuard(rate))


def _lanes(settings: Settings) -> Lanes:
    # The trusted lane (browsers with a device cookie) gets one thread of its own: a flood fills only
    # the strangers' lane, and the real admin's attempt is hashed next.
    return build_lanes(settings.alert_workers, settings.hash_workers, settings.hash_queue, 1)


def login_guard(settings: Settings) -> LoginGuard:
    """Return the login limits the settings give (per address, global, per device cookie)."""
    return LoginGuard(
        Rate(settings.login_rate_per_minute, settings.login_burst),
        Rate(settings.login_global_per_minute, settings.login_global_burst),
        settings.login_device_failures,
    )


def start_station(settings: Settings) -> Station:
    """Migrate the database, start the broker (if managed), the MQTT client and the scheduler."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if warning := accounts.cheap_hashes_warning():
        log.warning(warning)
    migrate(settings.database)
    db = Database(settings.database)
    with db.session() as session:  # uptime counts no hour before this station began counting heartbeats
        presence.mark_counting_started(session, datetime.now(UTC))
    fail_stale(db)  # jobs left running by a worker that died (a live worker keeps stamping its own)
    followup.follow_up(settings, db)  # the first start after `broadcast restore`: audit, republish all
    keys = StationKeys(settings.secrets_dir)
    keys.signing_key_raw()  # create the key now, not inside the first job
    clips = open_clip_storage(settings.clip_storage)
    clips.check()  # a misconfigured or unreachable store stops the start, with where it looked
    broker: ManagedBroker | None = None
    if not settings.mqtt_url:
        with db.session() as session:
            sync_broker_credentials(session, settings.broker)
        broker = ManagedBroker(broker_config(settings.broker))
        broker.start()
    mqtt = _station_mqtt(settings, keys)
    scheduler = elected_scheduler(settings.programme, db)
    station = Station(
        settings=settings,
        db=db,
        clips=clips,
        keys=keys,
        public_url=public_url(settings.broker),
        mqtt=mqtt,
        scheduler=scheduler,
        lanes=_lanes(settings),
        login_guard=login_guard(settings),
        broker=broker,
    )
    try:
        # rendered once, then served from the render cache
        station.templates = ensure_templates(db, station.clips, settings.speech, station.public_url)

        station.config_resender = resender = device_settings.Resender(station.push_context)

        def ingest(topic: str, payload: bytes) -> None:
            reports.ingest(db, topic, payload, on_settings=resender, junk=mqtt.guard.ledger)

        mqtt.on_agent_message(ingest)
        mqtt.start(timeout=10.0)
        announcer = key_rotation.Announcer(settings.secrets_dir)
        announcer.tick(mqtt)  # the signing-key update, retained for agents (again after a broker reset)
        jobs.set_slot_handler(lambda slot_id, _start: station.refresh_slot(slot_id))

        def refresh_all() -> None:
            station.refresh_programme()

        jobs.set_refresh_handler(refresh_all)
        scheduler.start()  # the elected worker also adds the refresh job and restores slot jobs
        station.refresh_programme()
        station.live, station.live_engine, station.live_reason = start_live(
            settings.live,
            mqtt_bind=settings.mqtt_bind,
            agents_host=device_host(settings.broker),
            db=db,
            clips=clips,
            publisher=mqtt,
            signing_key=keys.signing_key_raw,
            ffmpeg_bin=settings.ffmpeg_bin,
        )
        station.loops = [
            Periodic(
                "device-watchdog",
                5.0,
                lambda: reports.mark_silent_devices_offline(db, settings.device_offline_after_s),
            ),
            Periodic(
                "alert-retry",
                settings.alert_retry_s,
                lambda: alert_delivery.retry_silent(station.alert_deps()),
            ),
            Periodic("key-announce", 5.0, lambda: announcer.tick(mqtt)),  # after `broadcast key rotate`
            Periodic("stale-jobs", 30.0, lambda: fail_stale(db)),
            Periodic("presence-sweep", 6 * 3600.0, lambda: presence.sweep(db)),
            Periodic("report-floods", 2.0, lambda: report_floods.flag_floods(db, mqtt.guard.ledger)),
            Periodic(
                "backup-schedule",
                scheduled.TICK_S,
                lambda: scheduled.tick(settings, db, station.jobs, lambda: scheduler.is_leader),
            ),
        ]
        scheduled.seed_metrics(db)
        if station.live is not None:
            station.loops.append(Periodic("live-sessions", 0.5, station.live.tick))
        for loop in station.loops:
            loop.start()
    except BaseException:
        stop_station(station)
        raise
    log.info(
        "station up: web %s, database %s, clips %s, broker account %s",
        station.public_url,
        settings.database.split("://")[0],
        clips.describe(),
        mqtt.target.username,
    )
    return station


def stop_station(station: Station) -> None:
    """Stop in reverse order; safe to call on a half-started station."""
    jobs.set_slot_handler(None)
    jobs.set_refresh_handler(None)
    station.jobs.shutdown()  # before the database goes: unfinished jobs are marked as stopped
    station.alert_speech.shutdown()
    for loop in station.loops:
        loop.stop()
    if station.live is not None:
        station.live.shutdown()  # agents are told to leave while the broker still carries it
    if station.live_engine is not None:
        station.live_engine.stop()
    station.scheduler.shutdown(wait=False)
    station.mqtt.stop()
    if station.broker is not None:
        station.broker.stop()
    station.lanes.shutdown()
    station.db.dispose()

"""Station settings, read from the environment (prefix ``BROADCAST_``) and built per app instance.

`Settings` is the flat set an operator writes (one environment variable per field, names unchanged since
the first release); each component is handed only its section (`settings.broker`, `settings.speech`, ...):
a frozen view whose field names are the environment names, so `BROADCAST_MQTT_URL` is `broker.mqtt_url`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class BrokerSettings:
    """The MQTT broker: managed Mosquitto (ports, TLS, workers) or an external one, and what agents reach."""

    mqtt_url: str | None
    mqtt_bind: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_tls_port: int | None
    mqtt_public_host: str | None
    mqtt_tls_names: tuple[str, ...]
    mqtt_ca_file: Path | None
    mosquitto_bin: str
    worker_id: int | None
    station_workers: int
    mqtt_shared_group: str
    public_url: str | None
    broker_dir: Path
    secrets_dir: Path


@dataclass(frozen=True)
class ClipStoreSettings:
    """Where clips live: a directory, or an S3-compatible store."""

    clip_store: str | None
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret_key: SecretStr | None
    s3_region: str | None
    s3_timeout_s: float
    clips_dir: Path


@dataclass(frozen=True)
class SpeechSettings:
    """Text to broadcast clip: engines and voices, their cache, ffmpeg and the loudness of every clip."""

    tts_engine: str
    tts_voice: str
    tts_fallback: tuple[str, ...]
    tts_timeout_s: float
    tts_rate_wpm: int
    tts_workers: int | None
    cache_dir: Path
    render_cache_mb: int
    voices_dir: Path
    gtts_url: str
    edge_tts_url: str
    voices_mirror: str
    ffmpeg_bin: str | None
    loudness_lufs: float
    mp3_bitrate: str


@dataclass(frozen=True)
class ProgrammeSettings:
    """The programme: its time zone and quiet hours, how far ahead and how early agents get it."""

    timezone: str
    push_lead_s: float
    programme_window_h: float
    programme_refresh_s: float
    quiet_hours: str
    command_ttl_s: float


@dataclass(frozen=True)
class AlertSettings:
    """Emergency alerts: the two-person rule, retries to silent devices, the alert lane's threads."""

    alert_two_person: bool
    alert_retry_s: float
    alert_workers: int


@dataclass(frozen=True)
class InputLimits:
    """The largest text, recording and import file the station accepts."""

    max_text_chars: int
    background_text_chars: int
    upload_max_bytes: int
    upload_max_s: float
    upload_min_s: float
    import_max_bytes: int
    import_max_bulletins: int


@dataclass(frozen=True)
class GuardSettings:
    """What keeps the station standing under a flood: write and alert budgets, login limits and lanes,
    trusted proxies, the report rate per device, web session lifetime."""

    rate_limit_per_minute: float
    rate_limit_burst: int
    alert_rate_limit_per_minute: float
    alert_rate_limit_burst: int
    login_rate_per_minute: float
    login_burst: int
    login_global_per_minute: float
    login_global_burst: int
    login_device_failures: int
    hash_workers: int
    hash_queue: int
    trusted_proxies: tuple[str, ...]
    report_rate_per_minute: float
    report_burst: int
    session_days: int


@dataclass(frozen=True)
class FleetSettings:
    """The devices as the station watches them."""

    device_offline_after_s: float


@dataclass(frozen=True)
class LiveSettings:
    """Live broadcast: the managed Snapcast server that carries a human voice, and the session bounds."""

    live_engine: str
    snapserver_bin: str
    live_bind: str | None
    live_port: int
    live_public_host: str | None
    live_public_port: int | None
    live_channels: int
    live_buffer_ms: int
    live_lease_s: float
    live_renew_s: float
    live_silence_s: float
    live_drop_s: float
    live_max_minutes: int
    live_dir: Path


@dataclass(frozen=True)
class WebSettings:
    """How the station serves its pages: HTTPS (browsers give the microphone only to a secure origin)."""

    https_port: int
    tls_cert_file: Path | None
    tls_key_file: Path | None
    https_names: tuple[str, ...]
    secrets_dir: Path


@dataclass(frozen=True)
class BackupSettings:
    """Scheduled backups: where to, when, how many kept, and the file holding the passphrase."""

    backup_to: str
    backup_passphrase_file: Path | None
    backup_at: str
    backup_keep: int


_Section = TypeVar("_Section")


class Settings(BaseSettings):
    """Everything the station needs to know about where it runs; defaults are the embedded set-up."""

    model_config = SettingsConfigDict(env_prefix="BROADCAST_", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="Database, clips, keys and broker state live here.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the data dir.")
    mqtt_url: str | None = Field(
        None,
        description="mqtt://user:pass@host:port of an external broker; unset = start a managed Mosquitto.",
    )
    mqtt_bind: str = Field("127.0.0.1", description="Address the managed Mosquitto listens on for devices.")
    mqtt_port: int = Field(
        18830, description="Plain port of the managed Mosquitto (TLS on: loopback, station accounts only)."
    )
    mqtt_tls: bool = Field(
        True,
        description="Devices reach the managed Mosquitto over TLS only (a generated CA + certificate); "
        "false: one plain listener on mqtt_bind for everybody, allowed on loopback only.",
    )
    mqtt_tls_port: int | None = Field(
        None, description="TLS port of the managed Mosquitto, where devices connect; default mqtt_port + 1."
    )
    mqtt_public_host: str | None = Field(
        None,
        description="Host name or address agents reach the broker at (agent.toml, TLS certificate); "
        "default mqtt_bind, or the host of public_url when bound to every address.",
    )
    mqtt_tls_names: list[str] = Field(
        default_factory=list, description="More names/addresses the managed broker's certificate covers."
    )
    mqtt_ca_file: Path | None = Field(
        None,
        description="CA certificate (PEM) of an external mqtts:// broker: the station verifies the "
        "broker against it and `device add` pins it in agent.toml.",
    )
    mosquitto_bin: str = Field("mosquitto", description="Mosquitto executable for the managed broker.")
    worker_id: int | None = Field(
        None,
        ge=1,
        description="This process's number among several station workers on one database: it logs in to "
        "the broker as station-<n> and shares agent reports with the others; unset = the only worker.",
    )
    station_workers: int = Field(
        0, ge=0, le=64, description="Worker accounts (station-1 ... station-N) the managed broker gets."
    )
    mqtt_shared_group: str = Field("station", description="MQTT 5 shared-subscription group of the workers.")
    clip_store: str | None = Field(
        None,
        description="Where clips live: unset = DATA_DIR/clips; a directory; s3://bucket/prefix (extra s3).",
    )
    s3_endpoint: str | None = Field(None, description="http(s)://host:port of the S3-compatible store.")
    s3_access_key: str | None = Field(None, description="Access key of the S3-compatible store.")
    s3_secret_key: SecretStr | None = Field(None, description="Secret key of the S3-compatible store.")
    s3_region: str | None = Field(None, description="Region of the bucket (unset: asked from the store).")
    s3_timeout_s: float = Field(10.0, gt=0, description="Timeout of one request to the S3-compatible store.")
    public_url: str | None = Field(
        None, description="Base URL agents use to fetch clips; default http://HOST:PORT of `serve`."
    )
    tts_engine: str = Field(
        "espeak",
        description="Default TTS engine; unset: piper if a Vietnamese Piper voice is installed, else espeak.",
    )
    tts_voice: str = Field("vi", description='Default voice of the engine ("" = the engine\'s own default).')
    tts_fallback: list[str] = Field(
        default_factory=lambda: ["espeak"],
        description="Engines tried in order when the chosen one is unavailable (offline espeak last).",
    )
    tts_timeout_s: float = Field(20.0, gt=0, description="Timeout of one online TTS request.")
    tts_rate_wpm: int = Field(150, ge=80, le=450, description="Speaking rate of engines that take one.")
    tts_workers: int | None = Field(None, ge=1, description="Parallel synthesis workers; default all cores.")
    render_cache: Path | None = Field(
        None, description="Speech and clip cache (safe to share between stations); default DATA_DIR/cache."
    )
    render_cache_mb: int = Field(
        1024,
        ge=1,
        description="Largest size of the speech and clip cache together (MB); the least recently used "
        "entries are deleted first.",
    )
    gtts_url: str = Field("https://translate.google.com", description="Google Translate TTS base URL.")
    edge_tts_url: str = Field("wss://speech.platform.bing.com", description="Edge TTS endpoint base.")
    voices_mirror: str = Field(
        "https://huggingface.co/rhasspy/piper-voices/resolve/main",
        description="Base URL `broadcast voices install` downloads Piper voices from (a local mirror works).",
    )
    ffmpeg_bin: str | None = Field(None, description="ffmpeg executable; default the imageio-ffmpeg wheel's.")
    loudness_lufs: float = Field(-16.0, description="Integrated loudness target of every clip.")
    mp3_bitrate: str = Field("48k", description="Mono MP3 bitrate, sized for 3G/4G links.")
    timezone: str = Field("Asia/Ho_Chi_Minh", description="Programme time zone.")
    push_lead_s: float = Field(
        30.0, ge=1.0, description="How long before start_at a play command is pushed to the agents."
    )
    programme_window_h: float = Field(
        48.0, gt=0, le=168, description="How far ahead agents get the programme."
    )
    programme_refresh_s: float = Field(
        900.0, ge=10, description="How often the programme window is extended and republished."
    )
    quiet_hours: str = Field(
        "22:00-05:00", description="Nightly span when only emergencies may play (empty: none)."
    )
    alert_two_person: bool = Field(
        False, description="A second approver must confirm every emergency alert before it airs."
    )
    alert_retry_s: float = Field(
        5.0, gt=0, description="How often silent devices are sent a live alert again."
    )
    command_ttl_s: float = Field(
        300.0, ge=1.0, description="A play command expires this long after its start_at."
    )
    device_offline_after_s: float = Field(
        95.0,
        gt=0,
        description=(
            "A device silent this long is shown offline (3 missed 30 s heartbeats). A lost link shows "
            "sooner: the broker publishes the agent's will within 30 s (1.5 x its 20 s MQTT keepalive)."
        ),
    )
    max_text_chars: int = Field(20000, description="Longest bulletin text accepted.")
    background_text_chars: int = Field(
        2000, ge=0, description="Web form texts longer than this are read in a background job with progress."
    )
    upload_max_bytes: int = Field(20_000_000, gt=0, description="Largest recorded MP3/WAV accepted.")
    upload_max_s: float = Field(900.0, gt=0, description="Longest recorded audio accepted (seconds).")
    upload_min_s: float = Field(1.0, ge=0, description="Shortest recorded audio accepted (seconds).")
    import_max_bytes: int = Field(1_000_000, gt=0, description="Largest CSV/TXT bulletin import file.")
    import_max_bulletins: int = Field(50, gt=0, description="Most bulletins one import file may hold.")
    session_days: int = Field(7, description="Web session lifetime.")
    rate_limit_per_minute: float = Field(
        60.0,
        ge=0,
        description="Writes (POST/PUT/PATCH/DELETE, API and web forms) one account, or one address when not "
        "logged in, may make per minute on average; 0 = no limit. Reads are never limited.",
    )
    rate_limit_burst: int = Field(20, ge=1, description="Writes allowed at once before the rate applies.")
    alert_rate_limit_per_minute: float = Field(
        120.0,
        ge=0,
        description="Emergency alerts (send, confirm) one account may make per minute, on a budget of their "
        "own apart from other writes; cancelling an alert and logging in are never limited. 0 = no limit.",
    )
    alert_rate_limit_burst: int = Field(
        100,
        ge=1,
        description="Alerts allowed at once (a province script alerting every commune), then the rate.",
    )
    login_rate_per_minute: float = Field(
        10.0,
        gt=0,
        description="Login attempts one address may make per minute without a device cookie (checked "
        "before any password hashing).",
    )
    login_burst: int = Field(10, ge=1, description="Login attempts one address may make at once.")
    login_global_per_minute: float = Field(
        60.0,
        gt=0,
        description="Login attempts from all browsers without a device cookie together, per minute (a flood "
        "from many addresses); browsers that logged in before skip this and the per-address limit.",
    )
    login_global_burst: int = Field(30, ge=1, description="Login attempts of all strangers at once.")
    login_device_failures: int = Field(
        10, ge=1, description="Wrong passwords a browser with a device cookie may try per 15 minutes."
    )
    hash_workers: int = Field(
        1, ge=1, description="Threads hashing passwords of login attempts without a device cookie."
    )
    hash_queue: int = Field(
        4, ge=0, description="Login attempts waiting per hashing lane; one more is refused at once (503)."
    )
    alert_workers: int = Field(
        4, ge=1, description="Threads that serve only emergency alert requests (raise, confirm, cancel)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed "
        "(the rightmost address not in this list is the client); empty = believe no one.",
    )
    report_rate_per_minute: float = Field(
        1200.0,
        ge=0,
        description="Reports one device may send per minute on average (0 = no limit); the excess of a "
        "flood is dropped before it reaches the database, and the device is flagged.",
    )
    report_burst: int = Field(
        1000, ge=1, description="Reports one device may send at once (an outbox after a long outage)."
    )
    live_engine: Literal["snapcast", "off"] = Field(
        "snapcast",
        description="Engine that carries live broadcasts (snapcast: a managed snapserver; off: none).",
    )
    snapserver_bin: str = Field("snapserver", description="snapserver executable for live broadcasts.")
    live_bind: str | None = Field(
        None, description="Address the managed snapserver listens on for devices; default mqtt_bind."
    )
    live_port: int = Field(
        18840,
        ge=1,
        le=65000,
        description="Port devices stream live audio from; the next ports (loopback only) are the "
        "snapserver's control port and one audio input per channel.",
    )
    live_public_host: str | None = Field(
        None, description="Host name or address agents reach the live stream at; default the broker's."
    )
    live_public_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port agents reach the live stream at, when something forwards it (a router's port "
        "forward, a relay); default live_port.",
    )
    live_channels: int = Field(2, ge=1, le=16, description="Live sessions that can be on air at once.")
    live_buffer_ms: int = Field(
        700,
        ge=100,
        le=10000,
        description="Snapcast end-to-end buffer: the delay every speaker adds, and the longest stall of a "
        "device's link that is heard as nothing at all.",
    )
    live_lease_s: float = Field(
        15.0, ge=3, le=120, description="An agent leaves a live session this long after the last renewal."
    )
    live_renew_s: float = Field(5.0, gt=0, le=60, description="How often a live session is renewed.")
    live_silence_s: float = Field(
        30.0, ge=3, le=600, description="An agent leaves a live stream that has been silent this long."
    )
    live_drop_s: float = Field(
        3.0,
        gt=0,
        le=60,
        description="A live session ends when no audio came from the officer's browser for this long.",
    )
    live_max_minutes: int = Field(60, ge=1, le=600, description="Longest live session.")
    https_port: int = Field(
        8443,
        ge=0,
        le=65535,
        description="Port `serve` also serves HTTPS on (the microphone pages need it); 0 = HTTP only.",
    )
    tls_cert_file: Path | None = Field(
        None, description="Certificate chain (PEM) for HTTPS; unset = one issued by the station's own CA."
    )
    tls_key_file: Path | None = Field(None, description="Private key (PEM) of tls_cert_file.")
    https_names: list[str] = Field(
        default_factory=list, description="More names/addresses the station's own HTTPS certificate covers."
    )
    backup_to: str = Field(
        "",
        description="Where scheduled backups go: a directory (USB disk) or s3://bucket/prefix; empty: none.",
    )
    backup_passphrase_file: Path | None = Field(
        None, description="File holding the passphrase scheduled backups are encrypted with (never the DB)."
    )
    backup_at: str = Field(
        "02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Daily backup time (HH:MM, station time)."
    )
    backup_keep: int = Field(14, ge=1, le=3650, description="Scheduled backups kept at the destination.")
    env: Literal["local", "production"] = "local"

    @model_validator(mode="after")
    def _natural_voice_when_installed(self) -> Settings:
        """Read with Piper when a Vietnamese Piper voice is installed and no engine or voice was set.

        Installing the voice (`quickstart`, `broadcast voices install`) is what makes it the default; there
        is no second record to keep in step, and a voice removed means espeak-ng again. An operator's
        BROADCAST_TTS_ENGINE or BROADCAST_TTS_VOICE always wins. The voice "" is the engine's default.
        """
        if {"tts_engine", "tts_voice"}.isdisjoint(self.model_fields_set):
            from broadcast.tts.voices import natural_voice

            if natural_voice(self.voices_dir) is not None:
                self.tts_engine, self.tts_voice = "piper", ""
        return self

    @property
    def database(self) -> str:
        """Return the effective SQLAlchemy URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'broadcast.db').resolve()}"

    @property
    def cache_dir(self) -> Path:
        return self.render_cache or self.data_dir / "cache"

    @property
    def voices_dir(self) -> Path:
        return self.data_dir / "voices"

    @property
    def clips_dir(self) -> Path:
        return self.data_dir / "clips"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "mosquitto"

    @property
    def live_dir(self) -> Path:
        return self.data_dir / "snapserver"

    @property
    def broker(self) -> BrokerSettings:
        return self._section(BrokerSettings)

    @property
    def clip_storage(self) -> ClipStoreSettings:
        return self._section(ClipStoreSettings)

    @property
    def speech(self) -> SpeechSettings:
        return self._section(SpeechSettings)

    @property
    def programme(self) -> ProgrammeSettings:
        return self._section(ProgrammeSettings)

    @property
    def alerts(self) -> AlertSettings:
        return self._section(AlertSettings)

    @property
    def limits(self) -> InputLimits:
        return self._section(InputLimits)

    @property
    def guards(self) -> GuardSettings:
        return self._section(GuardSettings)

    @property
    def fleet(self) -> FleetSettings:
        return self._section(FleetSettings)

    @property
    def live(self) -> LiveSettings:
        return self._section(LiveSettings)

    @property
    def web(self) -> WebSettings:
        return self._section(WebSettings)

    @property
    def backup(self) -> BackupSettings:
        return self._section(BackupSettings)

    def _section(self, kind: type[_Section]) -> _Section:
        """Build a section from the fields (and derived directories) of the same names."""
        values = {f.name: getattr(self, f.name) for f in fields(cast(Any, kind))}
        return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

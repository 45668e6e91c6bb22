"""The agent's configuration as a value: AgentConfig, its defaults, and the error a bad agent.toml raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUTPUT = "file:./plays"
DEFAULT_CACHE_MAX_BYTES = 500 * 1024 * 1024
DEFAULT_PRE_ROLL_S = 2.0
DEFAULT_HOLD_S = 30.0
DEFAULT_MIXER_CONTROL = "PCM"
DEFAULT_HEARTBEAT_S = 30.0


class ConfigError(ValueError):
    """agent.toml is missing, unreadable or invalid; the text names the file and the field."""


@dataclass(frozen=True)
class AgentConfig:
    """Everything one edge agent needs to know: who it is, whom it trusts, where it connects."""

    device_id: str
    zones: tuple[str, ...]
    station_url: str
    station_public_key: str
    mqtt_host: str
    mqtt_port: int
    mqtt_username: str
    mqtt_password: str
    state_dir: Path
    mqtt_tls: bool = False
    # The CA certificate(s) the broker's TLS certificate must chain to, pinned at enrolment; "": the
    # system store (an external broker with a public certificate).
    mqtt_ca_pem: str = ""
    output: str = DEFAULT_OUTPUT
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    ffmpeg: str = ""
    alsa_device: str = ""
    snapclient: str = ""  # the live broadcast player; "": snapclient on PATH
    live_latency_ms: int = 0  # snapclient --latency: this speaker's own output delay, subtracted
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_S
    relay_pin: int | None = None  # BCM number of the amplifier relay's GPIO; None: no relay
    relay_active_high: bool = True
    relay_pre_roll_s: float = DEFAULT_PRE_ROLL_S
    relay_hold_s: float = DEFAULT_HOLD_S
    mixer_card: str = ""  # amixer -c: card index or name; "": the default card
    mixer_control: str = DEFAULT_MIXER_CONTROL

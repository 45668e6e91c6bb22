"""Station settings, read from the environment (prefix ``BROADCAST_``) and built per app instance."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the station needs to know about where it runs; defaults are the embedded set-up."""

    model_config = SettingsConfigDict(env_prefix="BROADCAST_", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="Database, clips, keys and broker state live here.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the data dir.")
    mqtt_url: str | None = Field(
        None,
        description="mqtt://user:pass@host:port of an external broker; unset = start a managed Mosquitto.",
    )
    mqtt_bind: str = Field("127.0.0.1", description="Address the managed Mosquitto listens on.")
    mqtt_port: int = Field(18830, description="Port of the managed Mosquitto.")
    mosquitto_bin: str = Field("mosquitto", description="Mosquitto executable for the managed broker.")
    public_url: str | None = Field(
        None, description="Base URL agents use to fetch clips; default http://HOST:PORT of `serve`."
    )
    tts_engine: str = Field("espeak", description="Default TTS engine.")
    tts_voice: str = Field("vi", description="Default voice of the engine.")
    tts_fallback: list[str] = Field(
        default_factory=lambda: ["espeak"],
        description="Engines tried in order when the chosen one is unavailable (offline espeak last).",
    )
    tts_timeout_s: float = Field(20.0, gt=0, description="Timeout of one online TTS request.")
    tts_rate_wpm: int = Field(150, ge=80, le=450, description="Speaking rate of engines that take one.")
    tts_workers: int | None = Field(None, ge=1, description="Parallel synthesis workers; default all cores.")
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
        95.0, gt=0, description="A device silent this long is shown offline (3 missed 30 s heartbeats)."
    )
    max_text_chars: int = Field(20000, description="Longest bulletin text accepted.")
    session_days: int = Field(7, description="Web session lifetime.")
    env: Literal["local", "production"] = "local"

    @property
    def database(self) -> str:
        """Return the effective SQLAlchemy URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'broadcast.db').resolve()}"

    @property
    def clips_dir(self) -> Path:
        return self.data_dir / "clips"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "mosquitto"

"""Settings the station changed by signed config command: an overlay on agent.toml, kept in the state dir.

agent.toml stays exactly as installed (it holds the broker password and the pinned key, and the unit's
ProtectSystem=strict makes /etc read-only to the agent anyway); the overlay lives beside the other state in
the one writable directory, written atomically, and wins over agent.toml for the whitelisted settings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from broadcast.protocol.config import SettingValue, check_settings
from edge_agent._files import atomic_write
from edge_agent.clock import NTP_WARN_MS
from edge_agent.config import AgentConfig

log = logging.getLogger(__name__)

OVERLAY_NAME = "settings.json"


@dataclass(frozen=True)
class Tunables:
    """The effective values of the remotely changeable settings (overlay over agent.toml over defaults)."""

    heartbeat_interval_s: float
    relay_pre_roll_s: float
    relay_hold_s: float
    default_volume: int | None
    ntp_warn_ms: float
    log_level: str | None  # None: as the command line says


def effective(config: AgentConfig, overlay: dict[str, SettingValue]) -> Tunables:
    """Return what applies: each setting from the overlay if present there, else agent.toml's value."""
    volume = overlay.get("default_volume")
    level = overlay.get("log_level")
    return Tunables(
        heartbeat_interval_s=float(overlay.get("heartbeat_interval_s", config.heartbeat_interval_s)),
        relay_pre_roll_s=float(overlay.get("relay_pre_roll_s", config.relay_pre_roll_s)),
        relay_hold_s=float(overlay.get("relay_hold_s", config.relay_hold_s)),
        default_volume=int(volume) if volume is not None else None,
        ntp_warn_ms=float(overlay.get("ntp_warn_ms", NTP_WARN_MS)),
        log_level=str(level) if level is not None else None,
    )


class SettingsStore:
    """The overlay file: read once at start (a torn or invalid file is ignored), replaced as a whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, SettingValue] = self._load()

    def replace(self, values: dict[str, SettingValue]) -> None:
        """Persist values (fsync + rename: the old or the new set survives a power cut); raises OSError."""
        atomic_write(self.path, json.dumps(values, sort_keys=True).encode())
        self.values = dict(values)

    def current(self) -> dict[str, SettingValue]:
        """Return a copy of the overlay in force (what the heartbeat tells the station)."""
        return dict(self.values)

    def _load(self) -> dict[str, SettingValue]:
        try:
            raw = json.loads(self.path.read_bytes())
            return check_settings(raw)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # ProtocolError is a ValueError
            # agent.toml's values apply until the station sends its settings again (it re-sends them
            # when a heartbeat reports something else than it wants).
            log.warning("ignoring unreadable settings overlay %s: %s", self.path, exc)
            return {}


def describe(values: dict[str, SettingValue]) -> str:
    """Return the settings for a log line ("none" when agent.toml applies throughout)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "none (agent.toml applies)"

"""The station's volume and config commands, applied to the running agent and kept for the next start."""

from __future__ import annotations

import logging

from broadcast import protocol
from edge_agent._files import describe as describe_error
from edge_agent.clock import ClockMonitor
from edge_agent.config import AgentConfig
from edge_agent.control import VolumeKeeper
from edge_agent.gpio.amp import AmpControl
from edge_agent.heartbeat import HeartbeatLoop
from edge_agent.mixer import MixerError
from edge_agent.refusals import Refusals
from edge_agent.settings import SettingsStore, Tunables, describe, effective

log = logging.getLogger(__name__)


class Tuning:
    """Carry out volume and config commands: persist, apply live, show the result in a heartbeat at once."""

    def __init__(
        self,
        config: AgentConfig,
        tunables: Tunables,
        *,
        settings: SettingsStore,
        volume: VolumeKeeper,
        amp: AmpControl,
        clock: ClockMonitor,
        heartbeat: HeartbeatLoop,
        refusals: Refusals,
        log_level: str | None = None,
    ) -> None:
        """Apply the log level now; log_level, set on the command line, wins over the station's setting."""
        self.config, self.settings, self.volume_keeper, self.amp = config, settings, volume, amp
        self.clock, self.heartbeat, self.refusals = clock, heartbeat, refusals
        self._log_level = log_level
        self._logger = logging.getLogger("edge_agent")
        self._initial_log_level = self._logger.level
        self._apply_log_level(tunables)

    def volume(self, command: protocol.VolumeCommand) -> None:
        """Set and remember the level; a mixer that refuses is reported as the command's rejection."""
        try:
            self.volume_keeper.apply(command.level)
        except MixerError as exc:
            log.warning("volume command %s failed: %s", command.id, exc)
            self.refusals.reject(command.id, f"volume failed: {exc}")
            return
        self.heartbeat.poke()  # the station sees the new level in the next heartbeat: send it now

    def configure(self, command: protocol.ConfigCommand) -> None:
        """Persist the station's settings (all or nothing), apply them live, and show them at once."""
        try:
            self.settings.replace(command.settings)
        except OSError as exc:
            # Nothing applied: a live change lost at the next restart would disagree with the heartbeat.
            log.error("config command %s not saved: %s", command.id, describe_error(exc))
            self.refusals.reject(command.id, f"config not saved: {describe_error(exc)}")
            return
        tunables = effective(self.config, command.settings)
        self.heartbeat.set_interval(tunables.heartbeat_interval_s)
        self.amp.retime(tunables.relay_pre_roll_s, tunables.relay_hold_s)
        self.clock.ntp_warn_ms = tunables.ntp_warn_ms
        self.volume_keeper.set_default(tunables.default_volume)
        self._apply_log_level(tunables)
        log.info("config command %s applied: %s", command.id, describe(command.settings))
        self.heartbeat.poke()  # the station compares what it wants with what the heartbeat says

    def reset_log_level(self) -> None:
        """Put the log level back as it was before the agent (an in-process restart starts afresh)."""
        self._logger.setLevel(self._initial_log_level)

    def _apply_log_level(self, tunables: Tunables) -> None:
        level = self._log_level or tunables.log_level
        self._logger.setLevel(level if level is not None else self._initial_log_level)

"""The agent's configuration: the AgentConfig model, agent.toml loading and writing."""

from __future__ import annotations

from edge_agent.config.dump import dump_config
from edge_agent.config.load import load_config
from edge_agent.config.model import (
    DEFAULT_CACHE_MAX_BYTES,
    DEFAULT_HEARTBEAT_S,
    DEFAULT_HOLD_S,
    DEFAULT_MIXER_CONTROL,
    DEFAULT_OUTPUT,
    DEFAULT_PRE_ROLL_S,
    AgentConfig,
    ConfigError,
)

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_HOLD_S",
    "DEFAULT_MIXER_CONTROL",
    "DEFAULT_OUTPUT",
    "DEFAULT_PRE_ROLL_S",
    "AgentConfig",
    "ConfigError",
    "dump_config",
    "load_config",
]

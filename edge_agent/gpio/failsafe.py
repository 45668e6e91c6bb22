"""`python -m edge_agent.gpio.failsafe --config agent.toml`: force the amplifier relay off.

systemd runs it as ExecStopPost, after the agent stopped for any reason, including a crash, SIGKILL or a
watchdog kill, when the agent itself had no chance to switch the relay off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from edge_agent.config import ConfigError, load_config
from edge_agent.gpio import RelayError


def force_off(pin: int, active_high: bool = True, pin_factory: Any = None) -> None:
    """Drive the relay pin inactive, then release it."""
    from edge_agent.gpio.relay import GpioRelay

    # Opening the pin with initial_value=False already drives it to "off"; close() releases it.
    GpioRelay(pin, active_high=active_high, pin_factory=pin_factory).close()


def main(argv: list[str] | None = None) -> int:
    """Switch the configured relay off; return the exit status."""
    parser = argparse.ArgumentParser(prog="edge-agent-relay-off", description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        if config.relay_pin is not None:
            force_off(config.relay_pin, config.relay_active_high)
    except (ConfigError, RelayError, ImportError) as exc:
        print(f"edge-agent relay fail-safe: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

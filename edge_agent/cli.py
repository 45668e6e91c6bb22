"""`edge-agent --config agent.toml [--output file:DIR|alsa] [--state-dir DIR] [--log-level LEVEL]`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from edge_agent.agent import Agent
from edge_agent.config import ConfigError, load_config
from edge_agent.gpio import RelayError
from edge_agent.outputs import OutputError, parse_output
from edge_agent.sdnotify import Notifier
from edge_agent.service import supervise

log = logging.getLogger("edge_agent")


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="edge-agent", description="Play the station's programme on this speaker."
    )
    parser.add_argument(
        "--config", required=True, type=Path, help="agent.toml written by `broadcast device add`"
    )
    parser.add_argument("--output", help="file:DIR (plays.jsonl + audio) or alsa; overrides the config")
    parser.add_argument("--state-dir", type=Path, help="clip cache and persisted state; overrides the config")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO, or the station's log_level setting; given here, it wins over the station's",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the agent until SIGTERM or SIGINT; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level or "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return 2
    if args.state_dir is not None:
        config = dataclasses.replace(config, state_dir=args.state_dir.resolve())
    try:
        # Paths on the command line are relative to where the agent was started, as usual.
        spec = args.output or config.output
        if args.output and spec.startswith("file:"):
            spec = "file:" + str(Path(spec.removeprefix("file:")).resolve())
        output = parse_output(spec, ffmpeg=config.ffmpeg, device=config.alsa_device)
    except OutputError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        agent = Agent(config, output, log_level=args.log_level)
    except RelayError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return 2
    agent.start()
    try:
        supervise(agent, stop, Notifier())
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

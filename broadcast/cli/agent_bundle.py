"""The `broadcast agent-bundle` command: an offline install bundle of the edge agent for one architecture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from broadcast.config import Settings

HELP_WHEELS = (
    "where the agent's dependency wheels come from: pypi (default, pip download for the target), "
    "installed (repacked from this station's own pure-Python packages: no network), or a directory of wheels"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``agent-bundle`` to the ``broadcast`` command."""
    bundle = subparsers.add_parser(
        "agent-bundle", help="build an offline install bundle of the edge agent (wheels, .debs, install.sh)"
    )
    bundle.add_argument("--arch", required=True, choices=["armhf", "arm64", "amd64"])
    bundle.add_argument("--out", required=True, help="the bundle to write, e.g. loa-agent-armhf.tar.gz")
    bundle.add_argument("--with-relay", action="store_true", help="add ffmpeg (relaying internet radio)")
    bundle.add_argument("--config", help="bake one device's agent.toml in (it holds its MQTT password)")
    bundle.add_argument("--wheels", default="pypi", help=HELP_WHEELS)
    debs = bundle.add_mutually_exclusive_group()
    debs.add_argument("--no-debs", action="store_true", help="no Debian packages (the Pi has them)")
    debs.add_argument("--debs-from", metavar="DIR", help="ship the .debs of DIR instead of downloading")
    bundle.add_argument(
        "--apt-sources", metavar="FILE", help="a sources.list for the target (default: this host's)"
    )
    bundle.add_argument("--source", metavar="DIR", help="the project's source tree (default: this checkout)")
    bundle.add_argument(
        "--project-wheel", metavar="FILE", help="a built loa_xa wheel instead of building one"
    )
    bundle.set_defaults(func=cmd_agent_bundle)


def _checkout() -> Path:
    import broadcast

    return Path(broadcast.__file__).resolve().parents[1]


def cmd_agent_bundle(args: argparse.Namespace, settings: Settings) -> int:
    """Build the bundle and say what is in it."""
    from broadcast.agent_bundle import BundleError, BundleRequest, build

    request = BundleRequest(
        arch=args.arch,
        out=Path(args.out),
        source=Path(args.source) if args.source else _checkout(),
        with_relay=args.with_relay,
        config=Path(args.config) if args.config else None,
        project_wheel=Path(args.project_wheel) if args.project_wheel else None,
        wheels=args.wheels,
        debs="none" if args.no_debs else (args.debs_from or "download"),
        apt_sources=Path(args.apt_sources) if args.apt_sources else None,
    )
    try:
        bundle = build(request)
    except BundleError as exc:
        print(f"Lỗi: không tạo được gói cài đặt: {exc}", file=sys.stderr)
        return 2
    print(f"Đã tạo gói cài đặt cụm loa {bundle.path} ({args.arch}, loa-xa {bundle.version}, "
          f"{bundle.size / 1e6:.1f} MB)")  # fmt: skip
    print(f"  wheel: {', '.join(bundle.wheels)}")
    print(f"  gói Debian: {len(bundle.debs)} ({bundle.debs_size / 1e6:.1f} MB)")
    if request.config is not None:
        print("  Lưu ý: gói chứa mật khẩu MQTT của thiết bị (agent.toml): chỉ chép vào đúng thiết bị đó.")
    print(f"Trên cụm loa: tar xzf {bundle.path.name} && sudo {bundle.path.name.removesuffix('.tar.gz')}"
          "/install.sh [--config agent.toml]")  # fmt: skip
    return 0

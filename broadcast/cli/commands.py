"""The `broadcast` command: serve, accounts, tokens, devices, and the text/speech tools."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from broadcast.cli.database import open_database
from broadcast.config import Settings

if TYPE_CHECKING:
    pass


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.cli.serving import run_station

    if not settings.public_url:
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
        settings = settings.model_copy(update={"public_url": f"http://{host}:{args.port}"})
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # uvicorn shuts down cleanly on SIGTERM; outside its window (building the app) exit cleanly too, so
    # `finally` blocks run (quickstart's demo agent, the synthesis workers).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # HTTP as always, plus HTTPS on settings.https_port (0 = off): one process, one app, one lifespan.
    return run_station(settings, args.host, args.port, args.log_level)


def cmd_quickstart(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.cli.quickstart import first_run_setup, install_natural_voice, start_demo_agent

    if not settings.public_url:
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{args.port}"})
    settings = install_natural_voice(settings)  # before the samples are read aloud
    config = first_run_setup(settings)
    agent = start_demo_agent(config) if config else None
    try:
        return cmd_serve(args, settings)
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(timeout=10)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu: ")
    if first != getpass.getpass("Nhập lại mật khẩu: "):
        raise SystemExit("Hai lần nhập mật khẩu không khớp.")
    return first


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.people import accounts, audit
    from broadcast.storage.models import DEFAULT_COMMUNE

    # A province-wide account must be asked for: by default an account works for one commune.
    commune = None if args.province else (args.commune or DEFAULT_COMMUNE)
    db = open_database(settings)
    with db.session() as session:
        accounts.add_user(session, args.name, args.role, _read_password(args), commune)
        actor = os.environ.get("USER", "cli")
        audit.record(session, actor, "user.add", f"user:{args.name}", "cli", role=args.role, commune=commune)
    scope = "cấp tỉnh" if commune is None else f"xã {commune}"
    print(f"Đã tạo tài khoản {args.name} ({args.role}, {scope}).")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.people import accounts, audit

    db = open_database(settings)
    with db.session() as session:
        token = accounts.issue_token(session, args.name, "api")
        audit.record(session, os.environ.get("USER", "cli"), "token.create", f"user:{args.name}", "cli")
    print(token)
    return 0


def cmd_device_add(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.fleet import devices, station_address

    # Before any change: without a known station address the agent would refuse every programme entry.
    station_url = station_address.agent_url(settings.public_url, settings.data_dir)
    db = open_database(settings)
    out = Path(args.out)
    state_dir = Path(args.state_dir) if args.state_dir else Path(f"state-{args.device_id}")
    output = args.output or f"file:plays-{args.device_id}"
    with db.session() as session:
        actor = os.environ.get("USER", "cli")
        enrolment = devices.add_device(
            session,
            settings.broker,
            args.device_id,
            args.zone,
            state_dir,
            output,
            actor,
            commune=args.commune,
            address="cli",
            replace=args.replace,
            station_url=station_url,
        )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(enrolment.agent_toml)
    done = "Đã cấp lại (mật khẩu mới)" if args.replace else "Đã thêm"
    print(f"{done} thiết bị {args.device_id} vào vùng {args.zone}; cấu hình: {out}")
    print(f"Cụm loa sẽ tải bản tin từ {station_url}")
    if station_address.is_loopback(station_url):
        print(
            "Lưu ý: địa chỉ này chỉ dùng được cho cụm loa chạy trên chính máy trạm; cụm loa ở máy khác "
            "cần BROADCAST_PUBLIC_URL là địa chỉ mạng của trạm (rồi cấp lại bằng --replace)."
        )
    return 0


def cmd_device_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.fleet import devices

    db = open_database(settings)
    with db.session() as session:
        actor = os.environ.get("USER", "cli")
        revocation = devices.revoke_device(session, settings.broker, args.device_id, actor, "cli")
    if revocation.disconnected:
        ended = "broker đã nạp lại tài khoản và ngắt kết nối đang mở"
    elif settings.mqtt_url:
        ended = f"broker ngoài: hãy xoá tài khoản {args.device_id} ở broker đó"
    else:
        ended = "broker chưa chạy; tài khoản đã bị xoá khỏi tệp của broker"
    print(f"Đã thu hồi thiết bị {args.device_id}: không đăng nhập được nữa ({ended}).")
    return 0


def cmd_normalize(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.tts import normalize_text

    if args.text is not None:
        print(normalize_text(args.text))
        return 0
    for line in sys.stdin:
        stripped = line.rstrip("\r\n")
        print(normalize_text(stripped) if stripped.strip() else "", flush=True)
    return 0


def cmd_synth(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.clipstore.rendering import engine_config, render_bulletin, render_options
    from broadcast.tts import get_engine, normalize_text

    text = args.text if args.text is not None else sys.stdin.read()
    out = Path(args.output)
    if out.suffix.lower() == ".wav":  # raw speech of one engine, no chime, no loudness processing
        engine = get_engine(args.engine or settings.tts_engine, engine_config(settings.speech))
        pcm = engine.synthesize(normalize_text(text), args.voice or None)
        with wave.open(str(out), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(pcm.sample_rate)
            handle.writeframes(pcm.samples)
        print(f"{out}: {pcm.duration_s:.1f} s ({engine.name})")
        return 0
    rendered = render_bulletin(text, render_options(settings.speech, args.engine, args.voice))
    out.write_bytes(rendered.clip.data)
    clip = rendered.clip
    print(
        f"{out}: {clip.duration_s:.1f} s, {clip.loudness_lufs:.1f} LUFS, {rendered.engine}/{rendered.voice}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="broadcast", description="Commune loudspeaker station")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the station (web, API, broker, scheduler)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=cmd_serve)

    quick = sub.add_parser("quickstart", help="first-run set-up (admin, demo agent) then serve")
    quick.add_argument("--host", default="127.0.0.1")
    quick.add_argument("--port", type=int, default=8080)
    quick.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    quick.set_defaults(func=cmd_quickstart)

    from broadcast.cli import accounts as account_cli

    user = sub.add_parser("user", help="accounts").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["editor", "approver", "admin"])
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    scope = add.add_mutually_exclusive_group()
    scope.add_argument("--commune", help="the commune this account works for (default: 'default')")
    scope.add_argument("--province", action="store_true", help="a province account: sees every commune")
    add.set_defaults(func=cmd_user_add)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="print a new API bearer token for an account")
    create.add_argument("name")
    create.set_defaults(func=cmd_token_create)
    account_cli.register(user, token, _read_password)

    device = sub.add_parser("device", help="edge devices").add_subparsers(
        dest="device_command", required=True
    )
    dev_add = device.add_parser("add", help="enrol a device and write its agent.toml")
    dev_add.add_argument("device_id")
    dev_add.add_argument("--zone", required=True)
    dev_add.add_argument("--out", required=True)
    dev_add.add_argument("--state-dir", help="agent state dir (relative to the config file)")
    dev_add.add_argument("--output", help="agent output, file:DIR or alsa")
    dev_add.add_argument("--commune", help="commune of a new zone (default: 'default')")
    dev_add.add_argument(
        "--replace", action="store_true", help="re-enrol an existing or revoked device with a new password"
    )
    dev_add.set_defaults(func=cmd_device_add)
    dev_revoke = device.add_parser("revoke", help="lock a device out of the broker (ends its connection)")
    dev_revoke.add_argument("device_id")
    dev_revoke.set_defaults(func=cmd_device_revoke)

    norm = sub.add_parser("normalize", help="print how the station will read TEXT (or each stdin line)")
    norm.add_argument("text", nargs="?")
    norm.set_defaults(func=cmd_normalize)

    synth = sub.add_parser("synth", help="synthesise TEXT (or stdin) to an MP3 clip (or raw .wav)")
    synth.add_argument("text", nargs="?")
    synth.add_argument("-o", "--output", required=True)
    synth.add_argument("--engine")
    synth.add_argument("--voice")
    synth.set_defaults(func=cmd_synth)

    from broadcast.cli import communes as commune_cli
    from broadcast.cli import voices as voices_cli

    voices_cli.register(sub)
    commune_cli.register(sub)
    from broadcast.cli import keys as key_cli

    key_cli.register(sub)
    from broadcast.cli import agent_bundle as agent_bundle_cli

    agent_bundle_cli.register(sub)
    from broadcast.cli import backup as backup_cli

    backup_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; domain errors become one clear line on stderr and exit code 2."""
    from broadcast.audio import AudioError
    from broadcast.domain import DomainError
    from broadcast.tts import TtsError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, Settings()))
    except (DomainError, TtsError, AudioError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2

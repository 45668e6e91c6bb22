"""The `broadcast key` commands: rotate the command-signing key, list the keys agents trust."""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime

from broadcast.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``key rotate`` and ``key list`` to the ``broadcast`` command."""
    from broadcast.signing.key_rotation import DEFAULT_GRACE_S, DEFAULT_SWITCH_S

    key = subparsers.add_parser("key", help="the station's command-signing key").add_subparsers(
        dest="key_command", required=True
    )
    rotate = key.add_parser("rotate", help="make a new signing key; agents learn it without re-flashing")
    rotate.add_argument(
        "--switch-in",
        type=float,
        default=DEFAULT_SWITCH_S / 60,
        metavar="MINUTES",
        help="sign with the new key from this many minutes on (default %(default)g)",
    )
    rotate.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_S / 3600,
        metavar="HOURS",
        help="agents still accept the old key this long after the switch (default %(default)g)",
    )
    rotate.set_defaults(func=cmd_key_rotate)
    listing = key.add_parser("list", help="show the signing keys and their periods")
    listing.set_defaults(func=cmd_key_list)


def _when(ts: float | None) -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts).strftime("%d/%m/%Y %H:%M:%S")


def cmd_key_rotate(args: argparse.Namespace, settings: Settings) -> int:
    """Rotate the key, record it in the audit log, and say when each step happens."""
    from broadcast.domain import Invalid
    from broadcast.people import audit
    from broadcast.signing import key_rotation
    from broadcast.signing.keys import StationKeys
    from broadcast.storage.db import Database, migrate

    if not 0 <= args.switch_in <= 7 * 24 * 60 or not 0 <= args.grace <= 90 * 24:
        raise Invalid("Giờ chuyển: 0–10080 phút; thời gian ân hạn: 0–2160 giờ.")
    StationKeys(settings.secrets_dir).signing_key_raw()  # a station that never signed has its first key
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database)
    db = Database(settings.database)
    try:
        rotation = key_rotation.rotate(
            settings.secrets_dir, switch_in_s=args.switch_in * 60, grace_s=args.grace * 3600
        )
    except key_rotation.RotationError as exc:
        raise Invalid(str(exc)) from exc
    try:
        with db.session() as session:
            audit.record(
                session,
                os.environ.get("USER", "cli"),
                "key.rotate",
                f"key:{rotation.new_kid}",
                "cli",
                old=rotation.old_kid,
                switch_at=rotation.switch_at,
                old_not_after=rotation.old_not_after,
            )
    finally:
        db.dispose()
    print(f"Đã tạo khoá ký mới {rotation.new_kid} (khoá cũ {rotation.old_kid}).")
    print("Trạm đang chạy sẽ gửi khoá mới tới các loa trong vài giây (hoặc khi khởi động lại).")
    print(f"Từ {_when(rotation.switch_at)} trạm ký lệnh bằng khoá mới.")
    print(f"Sau {_when(rotation.old_not_after)} các loa không còn chấp nhận khoá cũ.")
    if args.grace * 3600 < settings.programme_window_h * 3600 + settings.command_ttl_s:
        print(
            "Cảnh báo: thời gian ân hạn ngắn hơn cửa sổ chương trình; các mục đã ký bằng khoá cũ "
            "sẽ bị loa từ chối sau khi hết ân hạn."
        )
    return 0


def cmd_key_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print each key: id, from when it signs, until when agents trust it, and which signs now."""
    from broadcast.signing import key_rotation
    from broadcast.signing.keys import StationKeys

    StationKeys(settings.secrets_dir).signing_key_raw()
    ring = key_rotation.load_keyring(settings.secrets_dir)
    if ring is None:
        print("Chưa đổi khoá lần nào: một khoá ký duy nhất.")
        return 0
    now = time.time()
    current = ring.current(now).kid
    print(f"Lần đổi khoá số {ring.serial}")
    for key in ring.keys:
        mark = "đang ký" if key.kid == current else ""
        print(f"{key.kid}  ký từ {_when(key.active_from)}  tin cậy đến {_when(key.not_after)}  {mark}")
    return 0

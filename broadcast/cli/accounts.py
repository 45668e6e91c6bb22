"""The `broadcast token list|revoke` and `broadcast user logout|disable|enable|password` commands."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from broadcast.config import Settings
from broadcast.people import credentials as account_admin

if TYPE_CHECKING:
    from broadcast.storage.db import Database

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _actor() -> str:
    return os.environ.get("USER", "cli")


def register(user: Subparsers, token: Subparsers, read_password: Callable[[argparse.Namespace], str]) -> None:
    """Add the revocation commands to the `user` and `token` command groups."""
    listing = token.add_parser("list", help="show live API tokens and web sessions (ids to revoke)")
    listing.add_argument("--user", help="only this account")
    listing.add_argument("--all", action="store_true", help="also revoked and expired ones")
    listing.set_defaults(func=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke one API token or web session by id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(func=cmd_token_revoke)

    logout = user.add_parser("logout", help="revoke every session and API token of an account")
    logout.add_argument("name")
    logout.set_defaults(func=cmd_user_logout)
    disable = user.add_parser("disable", help="lock an account out (revokes everything it holds)")
    disable.add_argument("name")
    disable.set_defaults(func=cmd_user_disable, disabled=True)
    enable = user.add_parser("enable", help="let a disabled account log in again")
    enable.add_argument("name")
    enable.set_defaults(func=cmd_user_disable, disabled=False)
    password = user.add_parser("password", help="set a new password (revokes every session and token)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    password.set_defaults(func=lambda a, s: cmd_user_password(a, s, read_password(a)))


def _db(settings: Settings) -> Database:
    from broadcast.cli.database import open_database

    return open_database(settings)


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    zone = ZoneInfo(settings.timezone)
    with _db(settings).session() as session:
        tokens = account_admin.list_tokens(session, None, args.user, include_inactive=args.all)
    print(f"{'id':>6}  {'tài khoản':<20} {'loại':<8} {'trạng thái':<10} {'tạo lúc':<16} hết hạn")
    for t in tokens:
        expires = t.expires_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if t.expires_at else "-"
        created = t.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        print(f"{t.id:>6}  {t.user:<20} {t.kind:<8} {t.state():<10} {created:<16} {expires}")
    if not tokens:
        print("Không có mã truy cập / phiên nào.")
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with _db(settings).session() as session:
        info = account_admin.revoke(session, None, _actor(), args.token_id, "cli")
    label = account_admin.KIND_LABELS.get(info.kind, info.kind).lower()
    print(f"Đã thu hồi {label} số {info.id} của {info.user}.")
    return 0


def cmd_user_logout(args: argparse.Namespace, settings: Settings) -> int:
    with _db(settings).session() as session:
        count = account_admin.logout_everywhere(session, None, _actor(), args.name, "cli")
    print(f"Đã đăng xuất {args.name} khỏi mọi thiết bị ({count} phiên / mã truy cập bị thu hồi).")
    return 0


def cmd_user_disable(args: argparse.Namespace, settings: Settings) -> int:
    with _db(settings).session() as session:
        count = account_admin.set_disabled(session, _actor(), args.name, args.disabled, "cli")
    if args.disabled:
        print(f"Đã khoá tài khoản {args.name} ({count} phiên / mã truy cập bị thu hồi).")
    else:
        print(f"Đã mở khoá tài khoản {args.name}.")
    return 0


def cmd_user_password(args: argparse.Namespace, settings: Settings, password: str) -> int:
    with _db(settings).session() as session:
        count = account_admin.reset_password(session, _actor(), args.name, password, "cli")
    print(f"Đã đặt mật khẩu mới cho {args.name} ({count} phiên / mã truy cập bị thu hồi).")
    return 0

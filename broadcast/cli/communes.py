"""The `broadcast commune` commands: add a commune to a province station and list them."""

from __future__ import annotations

import argparse
import os

from broadcast.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``commune add`` and ``commune list`` to the ``broadcast`` command."""
    commune = subparsers.add_parser("commune", help="communes (province tenancy)").add_subparsers(
        dest="commune_command", required=True
    )
    add = commune.add_parser("add", help="create a commune")
    add.add_argument("commune_id", help="short id, e.g. xa-an-binh (lowercase, digits, '-', '_')")
    add.add_argument("name", help="display name, e.g. 'Xã An Bình'")
    add.set_defaults(func=cmd_commune_add)
    listing = commune.add_parser("list", help="show communes with their zones, devices and accounts")
    listing.set_defaults(func=cmd_commune_list)


def cmd_commune_add(args: argparse.Namespace, settings: Settings) -> int:
    from broadcast.cli.database import open_database as database
    from broadcast.people import tenancy

    db = database(settings)
    with db.session() as session:
        commune = tenancy.add_commune(session, args.commune_id, args.name, os.environ.get("USER", "cli"))
        print(f"Đã thêm xã {commune.id} ({commune.name}).")
    return 0


def cmd_commune_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import func, select

    from broadcast.cli.database import open_database as database
    from broadcast.people import tenancy
    from broadcast.storage.models import Device, User, Zone

    db = database(settings)
    by_zone = select(Zone.commune_id, func.count()).select_from(Device).join(Zone, Zone.id == Device.zone)
    with db.session() as session:
        # .all(): dict() of a Result would treat it as a mapping (it has .keys()).
        zones = dict(session.execute(select(Zone.commune_id, func.count()).group_by(Zone.commune_id)).all())
        devices = dict(session.execute(by_zone.group_by(Zone.commune_id)).all())
        users = dict(session.execute(select(User.commune_id, func.count()).group_by(User.commune_id)).all())
        print("ma_xa\tten\tvung\tthiet_bi\ttai_khoan")
        for c in tenancy.list_communes(session):
            print(f"{c.id}\t{c.name}\t{zones.get(c.id, 0)}\t{devices.get(c.id, 0)}\t{users.get(c.id, 0)}")
        print(f"(cấp tỉnh)\t\t\t\t{users.get(None, 0)}")
    return 0

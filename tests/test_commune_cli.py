"""`broadcast commune`, `user add --commune/--province` and `device add --commune`.

In-process through `broadcast.cli.main` (fast); the listing runs once as a real process for the wiring.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from broadcast.cli import main
from broadcast.fleet import station_address
from broadcast.storage.models import User, Zone
from tests.test_cli import run

PASSWORD = "song-hong-chay-qua\n"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    for name in [k for k in os.environ if k.startswith("BROADCAST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_DATA_DIR", str(tmp_path / "var"))
    station_address.record(tmp_path / "var", "http://127.0.0.1:8080")  # as `broadcast serve` does

    def call(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing the arguments
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


def _add_user(cli: Cli, name: str, role: str, *scope: str) -> Result:
    return cli("user", "add", name, "--role", role, *scope, "--password-stdin", stdin=PASSWORD)


def test_communes_accounts_and_devices_from_the_command_line(tmp_path: Path, cli: Cli) -> None:
    assert cli("commune", "add", "xa-an", "Xã An Bình").returncode == 0
    again = cli("commune", "add", "xa-an", "Lần nữa")
    assert again.returncode == 2 and "đã tồn tại" in again.stderr

    officer = _add_user(cli, "an1", "editor", "--commune", "xa-an")
    assert officer.returncode == 0 and "xã xa-an" in officer.stdout
    province = _add_user(cli, "tinh1", "admin", "--province")
    assert province.returncode == 0 and "cấp tỉnh" in province.stdout
    plain = _add_user(cli, "xa1", "approver")
    assert plain.returncode == 0 and "xã default" in plain.stdout  # a province account must be asked for
    unknown = _add_user(cli, "ma1", "editor", "--commune", "xa-ma")
    assert unknown.returncode == 2 and "Không có xã" in unknown.stderr

    added = cli("device", "add", "loa-an", "--zone", "thon-an", "--commune", "xa-an",
                "--out", str(tmp_path / "a.toml"))  # fmt: skip
    assert added.returncode == 0, added.stderr
    joined = run(
        tmp_path, "device", "add", "loa-an-2", "--zone", "thon-an", "--out", str(tmp_path / "b.toml")
    )
    assert joined.returncode == 0, joined.stderr  # an existing zone keeps its commune
    moved = cli("device", "add", "loa-x", "--zone", "thon-an", "--commune", "default",
                "--out", str(tmp_path / "c.toml"))  # fmt: skip
    assert moved.returncode == 2 and "thuộc xã 'xa-an'" in moved.stderr

    both = cli("user", "add", "x1", "--role", "editor", "--province", "--commune", "xa-an", stdin=PASSWORD)
    assert both.returncode == 2 and "not allowed with" in both.stderr

    listing = run(tmp_path, "commune", "list")  # the real entry point
    assert listing.returncode == 0
    rows = [line.split("\t") for line in listing.stdout.splitlines()]
    assert ["xa-an", "Xã An Bình", "1", "2", "1"] in rows
    assert ["default", "Xã", "0", "0", "1"] in rows
    assert rows[-1][-1] == "1"  # one province account

    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'broadcast.db'}")
    with Session(engine) as session:
        communes = dict(session.execute(select(User.name, User.commune_id)).all())
        zone = session.get(Zone, "thon-an")
    engine.dispose()
    assert communes == {"an1": "xa-an", "tinh1": None, "xa1": "default"}
    assert zone is not None and zone.commune_id == "xa-an"

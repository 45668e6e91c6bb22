"""The station the browser tests drive: one real `broadcast serve` process and real agent processes."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from broadcast import cli
from tests.support.station import AgentProcess, StationProcess, running, wait_until

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the station's default programme time zone


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    role: str


EDITOR = Account("canbo", "mat-khau-bien-tap", "editor")
APPROVER = Account("chutich", "mat-khau-duyet-tin", "approver")
ADMIN = Account("quantri", "so-tay-cua-dai-xa", "admin")
# loa-1 runs for the whole package (plays, CSV); loa-2 is started and stopped by the devices test.
LIVE_DEVICE, LIVE_ZONE = "loa-1", "thon-1"
SPARE_DEVICE, SPARE_ZONE = "loa-2", "thon-2"
TEXT = "UBND xã thông báo lịch tiêm chủng ngày 15/5 lúc 7h30"


def local_now() -> datetime:
    return datetime.now(TIMEZONE)


def form_time(moment: datetime) -> str:
    """Return a moment as a datetime-local input value (local time, seconds)."""
    return moment.astimezone(TIMEZONE).strftime("%Y-%m-%dT%H:%M:%S")


def quiet_hours_away(now: datetime) -> tuple[str, str]:
    """Return (setting, start HH:MM) of a one-hour quiet span 11 h ahead.

    The default 22:00-05:00 would make a run in the Vietnamese evening refuse every slot; a span far from
    now keeps the suite independent of the clock and still gives a time the station must refuse.
    """
    start = (now + timedelta(hours=11)).strftime("%H:%M")
    end = (now + timedelta(hours=12)).strftime("%H:%M")
    return f"{start}-{end}", start


@dataclass
class BrowserStation:
    process: StationProcess
    agents: dict[str, AgentProcess]
    tokens: dict[str, str]
    quiet_start: str

    @property
    def url(self) -> str:
        return self.process.url

    def api(self, method: str, path: str, account: Account = EDITOR, body: Any = None) -> tuple[int, Any]:
        return self.process.request(method, path, self.tokens[account.name], body)

    def create_bulletin(self, title: str, text: str = TEXT, zones: tuple[str, ...] = (LIVE_ZONE,)) -> Any:
        """Write a bulletin through the API (as the editor) and return it."""
        status, bulletin = self.api(
            "POST", "/api/bulletins", body={"title": title, "text": text, "zones": list(zones)}
        )
        assert status == 201, bulletin
        return bulletin

    def ready_bulletin(self, title: str, text: str = TEXT) -> Any:
        """Write and approve a bulletin; return it approved."""
        bulletin = self.create_bulletin(title, text)
        status, approved = self.api("POST", f"/api/bulletins/{bulletin['id']}/approve", APPROVER)
        assert status == 200, approved
        return approved

    def bulletin_count(self) -> int:
        status, rows = self.api("GET", "/api/bulletins")
        assert status == 200, rows
        return len(rows)

    def device(self, device_id: str) -> Any:
        status, devices = self.api("GET", "/api/devices")
        assert status == 200, devices
        return next(d for d in devices if d["id"] == device_id)

    def played(self, bulletin_id: int) -> list[Any]:
        status, rows = self.api("GET", f"/api/plays?bulletin_id={bulletin_id}&outcome=played")
        assert status == 200, rows
        return list(rows)


@contextmanager
def _station_environment(station: StationProcess, stdin: str) -> Iterator[None]:
    """Give this process the station's BROADCAST_* environment and stdin for a while."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("BROADCAST_")}
    saved_stdin = sys.stdin
    for key in saved:
        del os.environ[key]
    os.environ.update({k: v for k, v in station.env.items() if k.startswith("BROADCAST_")})
    sys.stdin = io.StringIO(stdin)
    try:
        yield
    finally:
        sys.stdin = saved_stdin
        for key in [k for k in os.environ if k.startswith("BROADCAST_")]:
            del os.environ[key]
        os.environ.update(saved)


def _cli(station: StationProcess, *argv: str, stdin: str = "") -> str:
    """Run a `broadcast` subcommand in this process (a process per call costs seconds of imports)."""
    out = io.StringIO()
    with _station_environment(station, stdin), redirect_stdout(out):
        code = cli.main(list(argv))
    assert code == 0, f"broadcast {argv} exited {code}"
    return out.getvalue()


def _enrol(station: StationProcess, root: Path, device_id: str, zone: str) -> AgentProcess:
    config = root / f"{device_id}.toml"
    _cli(station, "device", "add", device_id, "--zone", zone, "--out", str(config))
    return AgentProcess(config=config, plays_dir=root / f"plays-{device_id}")


@contextmanager
def browser_station(root: Path) -> Iterator[BrowserStation]:
    """Start a station with an editor, an approver, an admin and a live agent; stop everything on exit."""
    root.mkdir(parents=True, exist_ok=True)
    quiet, quiet_start = quiet_hours_away(local_now())
    process = StationProcess(root / "station", extra_env={"BROADCAST_QUIET_HOURS": quiet})
    process.data_dir.mkdir()
    tokens = {}
    for account in (EDITOR, APPROVER, ADMIN):
        role = ("--role", account.role)
        _cli(process, "user", "add", account.name, *role, "--password-stdin", stdin=f"{account.password}\n")
        tokens[account.name] = _cli(process, "token", "create", account.name).strip()
    agents = {
        LIVE_DEVICE: _enrol(process, root, LIVE_DEVICE, LIVE_ZONE),
        SPARE_DEVICE: _enrol(process, root, SPARE_DEVICE, SPARE_ZONE),
    }
    with running(process, *agents.values()):
        process.start()
        agents[LIVE_DEVICE].start()
        station = BrowserStation(process, agents, tokens, quiet_start)
        online = wait_until(lambda: station.device(LIVE_DEVICE)["online"], timeout=20)
        assert online, f"{LIVE_DEVICE} never came online\n{process.log_tail()}"
        yield station

"""The station side of the Pi check: a real `broadcast serve`, enrolment, and a bulletin played on time."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.station import StationProcess, wait_until

TEXT = "Ủy ban nhân dân xã thông báo: kiểm tra loa lúc 7 giờ 30 sáng."


@dataclass
class Station:
    """One station for the whole run, with an editor and an approver token."""

    process: StationProcess
    editor: str = ""
    approver: str = ""

    @classmethod
    def start(cls, data_dir: Path) -> Station:
        data_dir.mkdir(parents=True)
        # BROADCAST_QUIET_HOURS="" (set by StationProcess): the check runs at any hour. Devices reach the
        # broker over TLS (the default), as on a pole; the chroot shares this machine's network.
        process = StationProcess(data_dir, extra_env={"BROADCAST_LIVE_ENGINE": "off"})
        process.cli(
            "user", "add", "canbo", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap\n"
        )
        process.cli(
            "user", "add", "chutich", "--role", "approver", "--password-stdin", stdin="mat-khau-duyet\n"
        )
        station = cls(process)
        station.editor = process.cli("token", "create", "canbo").strip()
        station.approver = process.cli("token", "create", "chutich").strip()
        process.start(timeout=60)
        return station

    def enrol(self, device_id: str, out: Path, alsa_device: str = "null") -> Path:
        """Enrol device_id in a zone of its own; write its agent.toml with ALSA output on alsa_device."""
        self.process.cli(
            "device", "add", device_id, "--zone", device_id, "--out", str(out), "--output", "alsa"
        )
        text = out.read_text()
        text, n = re.subn(r'(?m)^alsa_device = ".*"$', f'alsa_device = "{alsa_device}"', text)
        if n != 1:
            raise RuntimeError(f"no alsa_device line in {out}")
        out.write_text(text)
        return out

    def device(self, device_id: str) -> dict[str, Any] | None:
        status, devices = self.process.request("GET", "/api/devices?limit=1000", self.editor)
        if status != 200:
            return None
        return next((d for d in devices if d["id"] == device_id), None)

    def wait_online(self, device_id: str, timeout: float) -> float | None:
        """Seconds until the station lists device_id as online, or None."""
        began = time.monotonic()
        if wait_until(lambda: (self.device(device_id) or {}).get("online"), timeout, interval=0.5):
            return time.monotonic() - began
        return None

    def schedule(self, zone: str, lead_s: float) -> tuple[int, float]:
        """Create, approve and schedule a bulletin lead_s ahead in zone; return (bulletin id, start)."""
        status, bulletin = self.process.request(
            "POST",
            "/api/bulletins",
            self.editor,
            {"title": f"Kiểm tra {zone}", "text": TEXT, "zones": [zone]},
        )
        if status != 201:
            raise RuntimeError(f"create bulletin: {status} {bulletin}")
        status, approved = self.process.request(
            "POST", f"/api/bulletins/{bulletin['id']}/approve", self.approver
        )
        if status != 200:
            raise RuntimeError(f"approve: {status} {approved}")
        start_at = round(time.time() + lead_s, 3)
        body = {
            "bulletin_id": bulletin["id"],
            "start_at": datetime.fromtimestamp(start_at, UTC).isoformat(),
            "zones": [zone],
        }
        status, slot = self.process.request("POST", "/api/slots", self.editor, body)
        if status != 201:
            raise RuntimeError(f"schedule: {status} {slot}")
        return int(bulletin["id"]), start_at

    def play(self, device_id: str, bulletin_id: int, timeout: float) -> dict[str, Any] | None:
        """Wait for the device's play report of bulletin_id (any outcome); return it or None."""
        found: list[dict[str, Any]] = []

        def reported() -> bool:
            status, rows = self.process.request(
                "GET", f"/api/plays?device_id={device_id}&bulletin_id={bulletin_id}", self.editor
            )
            if status == 200 and rows:
                found[:] = rows
            return bool(found)

        wait_until(reported, timeout, interval=0.5)
        return found[0] if found else None

    def stop(self) -> None:
        self.process.stop()


def lateness_ms(play: dict[str, Any], start_at: float) -> float | None:
    if not play.get("started_at"):
        return None
    started = datetime.fromisoformat(str(play["started_at"]).replace("Z", "+00:00"))
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return round((started.timestamp() - start_at) * 1000, 1)

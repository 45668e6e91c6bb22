"""X-Forwarded-For is believed only from a configured proxy, and then only its rightmost untrusted hop."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.security.login_support import Browser, audit_rows, station_with_admin
from tests.support.station import StationProcess, running

pytestmark = pytest.mark.integration


def _seen_as(station: StationProcess, source: str, forwarded: str | None) -> str:
    """Fail one login from `source` (a loopback address) and return the address the audit log recorded."""
    name = f"u{secrets.token_hex(4)}"
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    status, _, _ = Browser(station.url, source=source).request(
        "POST", "/login", {"name": name, "password": "sai-mat-khau-roi"}, headers
    )
    assert status == 401
    [(_, address)] = [row for row in audit_rows(station, "login.failed") if row[0] == name]
    return address


def test_loopback_is_not_a_trusted_proxy_by_default(tmp_path: Path) -> None:
    station, _ = station_with_admin(tmp_path / "station")
    with running(station):
        station.start()
        assert _seen_as(station, "127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_only_the_configured_proxy_is_believed(tmp_path: Path) -> None:
    station, _ = station_with_admin(tmp_path / "station", BROADCAST_TRUSTED_PROXIES='["127.0.0.2"]')
    with running(station):
        station.start()
        assert _seen_as(station, "127.0.0.1", "203.0.113.9") == "127.0.0.1"  # not the proxy
        assert _seen_as(station, "127.0.0.2", "203.0.113.9") == "203.0.113.9"
        # A client prepending its own choice is not believed: the proxy appended the real peer.
        assert _seen_as(station, "127.0.0.2", "10.9.9.9, 198.51.100.7") == "198.51.100.7"
        assert _seen_as(station, "127.0.0.2", None) == "127.0.0.2"

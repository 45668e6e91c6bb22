"""Plain HTTP form posts against a real station process: cookies, browser headers, a source address."""

from __future__ import annotations

import http.client
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import create_engine, text

from tests.support.station import StationProcess

ADMIN = "quantri"
ADMIN_PASSWORD = "so-tay-cua-dai-xa-2024"


def station_with_admin(data_dir: Path, **env: str) -> tuple[StationProcess, str]:
    """Return a (not yet started) station with an admin account, and the admin's API token."""
    station = StationProcess(data_dir, extra_env={"BROADCAST_QUIET_HOURS": "", **env})
    station.data_dir.mkdir()
    station.cli("user", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=f"{ADMIN_PASSWORD}\n")
    return station, station.cli("token", "create", ADMIN).strip()


def audit_rows(station: StationProcess, action: str) -> list[tuple[str, str]]:
    """Return (actor, address) of one action's audit rows, read from the database (strangers' rows
    belong to no commune, so a commune admin's audit API does not list them)."""
    url = station.database_url or f"sqlite:///{station.data_dir / 'broadcast.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT actor, address FROM audit_log WHERE action = :action ORDER BY id")
            return [(row[0], row[1]) for row in connection.execute(query, {"action": action})]
    finally:
        engine.dispose()


@dataclass
class Browser:
    """A client that keeps cookies, optionally from a given loopback source address."""

    base_url: str
    source: str = "127.0.0.1"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        """Send one request; return (status, headers, body); cookies set are kept."""
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=60, source_address=(self.source, 0)
        )
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            for value in response.headers.get_all("set-cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers), text
        finally:
            connection.close()

    def login(self, name: str, password: str, token: str = "") -> int:
        form = {"name": name, "password": password}
        if token:
            form["csrf_token"] = token
        return self.request("POST", "/login", form)[0]


def form_token(page: str) -> str:
    """Return the hidden csrf_token of a rendered form."""
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


class LoginFlood:
    """`connections` threads posting random names to /login until stopped or `limit` requests are sent."""

    def __init__(self, base_url: str, connections: int = 40, limit: int = 4000) -> None:
        self.base_url = base_url
        self.connections = connections
        self.limit = limit
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent = 0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(connections)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> Counter[int]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=70)
        return self.statuses

    @property
    def sent(self) -> int:
        return self._sent

    def _run(self) -> None:
        stranger = Browser(self.base_url)
        while not self._stop.is_set():
            with self._lock:
                if self._sent >= self.limit:
                    return
                self._sent += 1
            try:
                status = stranger.login(f"u{secrets.token_hex(6)}", "doan-bua-mot-mat-khau")
            except OSError:
                status = 0
            with self._lock:
                self.statuses[status] += 1
            stranger.cookies.clear()
            time.sleep(0.001)

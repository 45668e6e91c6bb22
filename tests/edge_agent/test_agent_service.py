"""sd_notify datagrams received on a test socket; READY and WATCHDOG only when they are true."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.sdnotify import Notifier
from edge_agent.service import supervise


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)

    def messages(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return out


@pytest.fixture
def notify_path() -> Iterator[str]:
    # AF_UNIX paths are limited to 108 bytes: a short directory, not pytest's deep tmp_path.
    directory = tempfile.mkdtemp(prefix="sdn-")
    yield os.path.join(directory, "notify")
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    os.rmdir(directory)


def test_notify_sends_one_datagram(notify_path: str) -> None:
    systemd = NotifySocket(notify_path)
    notifier = Notifier({"NOTIFY_SOCKET": notify_path})
    assert notifier.enabled and notifier.notify("READY=1", "STATUS=hello")
    assert systemd.messages() == ["READY=1\nSTATUS=hello"]


def test_abstract_socket_address() -> None:
    name = f"loa-test-{os.getpid()}"
    systemd = NotifySocket("\0" + name)
    assert Notifier({"NOTIFY_SOCKET": "@" + name}).notify("WATCHDOG=1")
    assert systemd.messages() == ["WATCHDOG=1"]


def test_without_systemd_nothing_is_sent(tmp_path: Path) -> None:
    assert not Notifier({}).enabled
    assert Notifier({}).notify("READY=1") is False
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).notify("READY=1") is False  # logged, no raise


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_sec(env: dict[str, str], expected: float | None) -> None:
    assert Notifier(env).watchdog_s == expected


class FakeAgent:
    def __init__(self) -> None:
        self.link = False
        self.ok = True

    def healthy(self) -> bool:
        return self.ok

    def connected(self) -> bool:
        return self.link


def _run(agent: FakeAgent, notifier: Notifier, **kwargs: float) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=supervise, args=(agent, stop, notifier), kwargs=kwargs, daemon=True)
    thread.start()
    return stop, thread


def test_ready_after_connecting_and_watchdog_only_while_healthy(notify_path: str) -> None:
    systemd = NotifySocket(notify_path)
    agent = FakeAgent()
    notifier = Notifier({"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "200000"})  # ping every 0.1 s
    stop, thread = _run(agent, notifier, tick_s=0.02, ready_timeout_s=30)
    time.sleep(0.25)
    before = systemd.messages()
    assert "READY=1" not in "".join(before)  # not connected yet
    assert 2 <= before.count("WATCHDOG=1") <= 4
    agent.link = True
    time.sleep(0.1)
    assert "READY=1\nSTATUS=connected to the broker" in systemd.messages()
    agent.ok = False  # say the player thread died
    time.sleep(0.15)
    systemd.messages()
    time.sleep(0.3)
    assert "WATCHDOG=1" not in systemd.messages()  # systemd will kill and restart us
    agent.link = False
    time.sleep(0.1)
    assert systemd.messages() == ["STATUS=broker unreachable; playing from cache"]
    stop.set()
    thread.join(2)
    assert systemd.messages() == ["STOPPING=1"]


def test_ready_anyway_when_the_broker_stays_unreachable(notify_path: str) -> None:
    systemd = NotifySocket(notify_path)
    stop, thread = _run(
        FakeAgent(), Notifier({"NOTIFY_SOCKET": notify_path}), tick_s=0.02, ready_timeout_s=0.2
    )
    time.sleep(0.1)
    assert systemd.messages() == []
    time.sleep(0.2)
    assert systemd.messages() == ["READY=1\nSTATUS=broker unreachable; playing from cache"]
    stop.set()
    thread.join(2)

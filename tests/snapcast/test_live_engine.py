"""LiveEngine with real snapserver and snapclient processes: routing, audio through a channel, restarts."""

from __future__ import annotations

import fcntl
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast.snapcast import LiveEngine
from broadcast.snapcast.source import ChannelInput
from tests.support.free_port import free_port
from tests.support.snapcast import Listener, require_snapserver, silent, snapserver_config, tone
from tests.support.station import wait_until

pytestmark = pytest.mark.integration


class Routes:
    """The domain's answer, as a table the test edits: host id -> stream (absent: silence)."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}

    def __call__(self, host_id: str) -> str | None:
        return self.table.get(host_id)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[LiveEngine, Routes]]:
    require_snapserver(client=True)
    routes = Routes()
    live = LiveEngine(snapserver_config(tmp_path / "snap", buffer_ms=400), routes)
    live.start()
    try:
        yield live, routes
    finally:
        live.stop()


def _stream_of(engine: LiveEngine, host_id: str, connected: bool = True) -> str | None:
    for client in engine.clients():
        if client.host_id == host_id and client.connected == connected:
            return client.stream_id
    return None


def _play_tone(channel: ChannelInput, seconds: float) -> float:
    """Write a 1 kHz tone in real time (40 ms per write, as the browser sends); return when it began."""
    began = time.monotonic()
    block = tone(seconds=0.04)
    for k in range(int(seconds / 0.04)):
        channel.write(block)
        time.sleep(max(0.0, began + (k + 1) * 0.04 - time.monotonic()))
    return began


def test_clients_hear_the_stream_lookup_names_and_refresh_moves_them(
    engine: tuple[LiveEngine, Routes],
) -> None:
    live, routes = engine
    routes.table = {"loa-a": "live-1"}
    spawned = time.monotonic()
    a, b = Listener(live.stream_port, "loa-a"), Listener(live.stream_port, "loa-b")
    try:
        assert wait_until(lambda: _stream_of(live, "loa-a") == "live-1", 10), live.clients()
        print(f"connect -> on its stream: {time.monotonic() - spawned:.2f} s (snapclient start included)")
        assert wait_until(lambda: _stream_of(live, "loa-b") == "idle", 5)
        groups = {c.group_id for c in live.clients()}
        assert len(groups) == 2  # each client alone in its group: moving one never moves another

        began = _play_tone(live.input(1), 1.5)
        onset = a.tone_onset(began)
        assert onset is not None, "the client routed to live-1 did not hear the tone"
        print(f"tone written -> heard by the client: {onset - began:.3f} s (buffer 400 ms)")
        assert silent(b.pcm_since(began)), "the idle client heard something"

        routes.table = {"loa-b": "live-1"}  # the session moved from a's zone to b's
        assert live.refresh() == 2
        assert (_stream_of(live, "loa-a"), _stream_of(live, "loa-b")) == ("idle", "live-1")
        began = _play_tone(live.input(1), 1.5)
        assert b.tone_onset(began) is not None, "refresh() did not move b onto live-1"
        after_switch = a.pcm_since(began + 0.8)  # the buffer (0.4 s) of what a already had has played
        assert silent(after_switch), "a still hears live-1 after refresh() put it on idle"
        assert live.input(1).dropped == 0

        b.close()  # a device that leaves waits on idle: back, it must not replay a session not its own
        assert wait_until(lambda: _stream_of(live, "loa-b", connected=False) == "idle", 5), live.clients()
        b = Listener(live.stream_port, "loa-b")  # known to snapserver now: Client.OnConnect, not OnUpdate
        assert wait_until(lambda: _stream_of(live, "loa-b") == "live-1", 5), live.clients()
    finally:
        a.close()
        b.close()


def _non_loopback_addresses() -> list[str]:
    """Return this machine's IPv4 addresses outside 127/8 (none in a bare network namespace)."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15])
                )  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                found.append(address)
    return found


def _listening_addresses(port: int) -> set[str]:
    """Return the local IPv4 addresses a TCP socket listens on `port` at (/proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def test_control_and_inputs_listen_on_loopback_only(engine: tuple[LiveEngine, Routes]) -> None:
    live, _ = engine
    for port in (live.cfg.control_port, *live.cfg.source_ports):
        assert _listening_addresses(port) == {"127.0.0.1"}
        for address in _non_loopback_addresses():
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((address, port), timeout=2).close()


def test_after_a_snapserver_restart_clients_are_routed_again(engine: tuple[LiveEngine, Routes]) -> None:
    live, routes = engine
    routes.table = {"loa-a": "live-1"}
    a = Listener(live.stream_port, "loa-a")
    try:
        assert wait_until(lambda: _stream_of(live, "loa-a") == "live-1", 10)
        channel = live.input(2)
        channel.write(bytes(9600))
        assert wait_until(lambda: channel.connected and channel.written == 9600, 5)
        live.server.kill()  # the channel's connection breaks with it: the input must reconnect
        routes.table = {"loa-a": "live-2"}  # changed while snapserver was down: nobody could be told
        killed = time.monotonic()
        assert wait_until(lambda: live.server.restarts == 1 and live.control.connected, 20)
        # 1.1-2.0 s on a quiet machine (python -m tests.snapcast.measure_routing). snapclient 0.26 itself
        # can hang for good when it reconnects while the new snapserver is still starting (seen under CPU
        # load: "Connected", then no server settings ever). The agent only leaves such a silent stream
        # (edge_agent/live.py; it does not rejoin that session: a known gap). This test starts a new client
        # to check the station's part: whichever client connects after the restart is put on the stream
        # the domain names now.
        if not wait_until(lambda: _stream_of(live, "loa-a") == "live-2", 10):
            a.close()
            a = Listener(live.stream_port, "loa-a")
        assert wait_until(lambda: _stream_of(live, "loa-a") == "live-2", 20), live.clients()
        print(f"snapserver killed -> client back, on its new stream: {time.monotonic() - killed:.2f} s")
        began = _play_tone(channel, 1.0)
        assert a.tone_onset(began) is not None
        assert channel.connects == 2
    finally:
        a.close()


def test_a_channel_input_without_snapserver_drops_and_never_blocks() -> None:
    channel = ChannelInput(free_port(), max_buffer_s=0.2)
    try:
        block = tone(seconds=0.04)
        started = time.monotonic()
        for _ in range(100):  # 4 s of audio, written at once
            channel.write(block)
        assert time.monotonic() - started < 0.5
        assert wait_until(lambda: channel.dropped == 100 * len(block), 5), channel.dropped
        assert channel.queued == 0 and channel.written == 0
        with pytest.raises(ValueError, match="whole 16-bit samples"):
            channel.write(b"\x00")
    finally:
        channel.close()

"""The durable report outbox and the reporter that sends it until the broker acknowledges each report."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from broadcast import protocol
from edge_agent.outbox import Outbox
from edge_agent.reporter import Reporter


def _rejected(command_id: str) -> protocol.CommandRejected:
    return protocol.CommandRejected(device_id="loa-01", command_id=command_id, reason="hỏng tệp")


def test_reports_survive_a_power_cut_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path)
    first, second = outbox.add(b'{"a":1}'), outbox.add('{"b":"lệnh"}'.encode())
    outbox.ack(first)
    outbox.ack(first)  # a duplicate PUBACK changes nothing
    # No close(): a power cut. Every add and ack was fsynced.
    reopened = Outbox(path)
    assert reopened.pending() == [(second, '{"b":"lệnh"}'.encode())]
    third = reopened.add(b'{"c":3}')
    assert third > second  # keys are never reused while a report may still be waiting
    reopened.ack(second)
    reopened.close()
    assert [payload for _, payload in Outbox(path).pending()] == [b'{"c":3}']


def test_torn_last_line_is_tolerated_and_compacted_away(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path)
    outbox.add(b'{"a":1}')
    outbox.close()
    with path.open("a") as handle:
        handle.write('{"k": 2, "m": "{\\"b\\"')  # power cut in the middle of an append
    reopened = Outbox(path)
    assert [payload for _, payload in reopened.pending()] == [b'{"a":1}']
    reopened.add(b'{"c":3}')
    reopened.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["m"] for line in lines] == ['{"a":1}', '{"c":3}']


def test_outbox_is_bounded_and_compacts_acknowledged_lines(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(path, max_pending=3)
    keys = [outbox.add(f'{{"n":{n}}}'.encode()) for n in range(5)]
    assert [key for key, _ in outbox.pending()] == keys[2:]  # the oldest went
    for _ in range(300):
        outbox.ack(outbox.add(b"{}"))
    outbox.close()
    assert len(path.read_text().splitlines()) < 300  # rewritten along the way, not 600 lines long


class FakeLink:
    """A transport stand-in: publish_report returns message ids, the test decides which get PUBACKs."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.published: list[tuple[int, bytes]] = []
        self.acks: list[int] = []
        self._mids = itertools.count(1)
        self._lock = threading.Lock()

    def publish_report(self, payload: bytes) -> int | None:
        if not self.connected.is_set():
            return None
        with self._lock:
            mid = next(self._mids)
            self.published.append((mid, payload))
        return mid

    def take_acks(self) -> list[int]:
        with self._lock:
            acks, self.acks = self.acks, []
        return acks

    def ack_all(self) -> None:
        with self._lock:
            self.acks += [mid for mid, _ in self.published]


def _wait(what: str, check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_reporter_sends_after_reconnect_and_forgets_on_puback(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "outbox.jsonl"), FakeLink()
    reporter = Reporter(outbox, link)
    reporter.start()
    try:
        reporter.report(_rejected("cmd-1"))  # made while the broker is unreachable
        time.sleep(0.3)
        assert link.published == [] and len(outbox.pending()) == 1
        link.connected.set()
        _wait("the report published", lambda: len(link.published) == 1)
        time.sleep(0.5)
        assert len(link.published) == 1  # in flight: paho retries it, the reporter waits for the PUBACK
        link.ack_all()
        _wait("the outbox emptied", lambda: outbox.pending() == [])
        sent = json.loads(link.published[0][1])
        assert (sent["type"], sent["command_id"]) == ("rejected", "cmd-1")
    finally:
        reporter.stop()


def test_reporter_resends_what_was_never_acknowledged(tmp_path: Path) -> None:
    outbox, link = Outbox(tmp_path / "outbox.jsonl"), FakeLink()
    link.connected.set()
    reporter = Reporter(outbox, link, resend_s=0.3)
    reporter.start()
    try:
        reporter.report(_rejected("cmd-2"))
        _wait("sent twice", lambda: len(link.published) >= 2)
        link.ack_all()
        _wait("the outbox emptied", lambda: outbox.pending() == [])
    finally:
        reporter.stop()
    # A report left over from before a restart goes out first thing on the next start.
    outbox.add(protocol.encode_agent_message(_rejected("cmd-3")))
    later = Reporter(outbox, link)
    later.start()
    try:
        _wait("the leftover report sent", lambda: b"cmd-3" in link.published[-1][1])
    finally:
        later.stop()

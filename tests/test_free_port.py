"""Test ports are handed out once: never twice in a process, never to two processes, never a bound one."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import socket
from typing import Any

import pytest

from tests.support import free_port as ports

SPAN = 40  # a narrow range, so the processes below would collide at once without the claims


def _pick(low: int, count: int, start: Any, results: Any) -> None:
    """Run in a child process: take `count` ports of [low, low + SPAN) when told to; report them."""
    ports._LOW, ports._HIGH = low, low + SPAN - 1
    start.wait(30)
    taken: list[int | str] = []
    for _ in range(count):
        try:
            taken.append(ports.free_port())
        except RuntimeError as exc:
            taken.append(str(exc))
    results.put(taken)
    start.wait(30)  # hold the claims until every child has reported


def _unclaimed(port: int) -> bool:
    """Return whether no other process claims `port` (checked by claiming it and letting go)."""
    try:
        fcntl.lockf(ports.lock_fd(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port, os.SEEK_SET)
    except OSError:
        return False
    fcntl.lockf(ports.lock_fd(), fcntl.LOCK_UN, 1, port, os.SEEK_SET)
    return True


def _free_span() -> int:
    """Return the start of SPAN consecutive ports nothing listens on and no one (this process too) claims."""
    for low in range(31000 - SPAN, 20000, -SPAN):
        span = range(low, low + SPAN)
        if not ports._held & set(span) and all(ports._unbound(p) and _unclaimed(p) for p in span):
            return low
    raise AssertionError("no free span of ports")


def test_two_processes_never_get_the_same_port() -> None:
    low = _free_span()
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(2), spawn.Queue()
    children = [spawn.Process(target=_pick, args=(low, SPAN // 2 + 5, start, results)) for _ in range(2)]
    for child in children:
        child.start()
    taken = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
    numbers = [p for picks in taken for p in picks if isinstance(p, int)]
    assert len(numbers) == len(set(numbers)) == SPAN  # every port once; the ten extra asks were refused
    assert sorted(p for picks in taken for p in picks if isinstance(p, str)) == ["no free port found"] * 10


def test_a_port_is_given_once_in_a_process_and_never_while_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    low = _free_span()
    monkeypatch.setattr(ports, "_LOW", low)
    monkeypatch.setattr(ports, "_HIGH", low + 9)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", low))
        listener.listen()
        given = [ports.free_port() for _ in range(9)]
        assert sorted(given) == list(range(low + 1, low + 10))
        with pytest.raises(RuntimeError, match="no free port"):
            ports.free_port()

"""The coordinator: the station side (broker, accounts, session) and the worker processes hosting agents."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from bench.simulator import worker
from bench.simulator.ingest import Ingest
from bench.simulator.records import (
    AgentRecord,
    AgentSpec,
    Built,
    Collect,
    Connect,
    Connected,
    Heartbeats,
    HeartbeatsSent,
    RawConnect,
    Records,
    Reply,
    Request,
    Stop,
    Stopped,
    WorkerSpec,
)
from bench.simulator.station import BenchStation, StationKey
from broadcast import protocol
from broadcast.mqtt.credentials import STATION_USER, new_password

_R = TypeVar("_R", bound=Reply)
_TICKS = os.sysconf("SC_CLK_TCK")


def default_state_root() -> Path:
    """Return tmpfs if there is one: 5,000 agents' fsyncs on one disk serialise what 5,000 Pis do apart."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


@dataclass(frozen=True)
class FleetSpec:
    """How many agents, how they are zoned, and how the simulator runs them."""

    n_agents: int
    zone_size: int | None = None  # None: every agent in one zone
    workers: int = 0  # 0: one per CPU
    fetch: bool = False  # True: agents GET and verify each new clip from a local HTTP server
    report_plays: bool = True  # publish a PlayReport per start, as the real agent
    connect_window: int = 32  # connects in flight per worker: Mosquitto listens with a backlog of 100
    state_root: Path | None = None
    station_key: StationKey | None = None
    station_user: str = STATION_USER  # the account the fleet's own station session logs in with
    extra_users: tuple[str, ...] = ()  # bench-only accounts with the station's rights (observers)
    station_url: str | None = None  # where a real station serves clips (agents refuse clip URLs elsewhere)
    parse_ingest: bool = True
    tls: bool = False  # agents connect over TLS to the managed broker's TLS listener, pinning its CA


@dataclass
class ConnectResult:
    """How a connect phase went across all workers."""

    ok: int
    failed: int
    seconds: float
    errors: list[str] = field(default_factory=list)


def memory_mb(pid: int) -> dict[str, float]:
    """Return a process's resident memory now and at its peak, in MB (0 if it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    kb = {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mb": round(kb.get("VmRSS", 0) / 1024, 1), "peak_rss_mb": round(kb.get("VmHWM", 0) / 1024, 1)}


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of a process (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class Fleet:
    """N simulated agents in worker processes, one broker, one station session; use as a context manager."""

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        size = spec.zone_size or spec.n_agents
        self.devices = [
            AgentSpec(f"loa-{i:05d}", new_password(), (f"zone-{i // size:03d}",))
            for i in range(spec.n_agents)
        ]
        self.zones = tuple(sorted({zone for device in self.devices for zone in device.zones}))
        self.ingest = Ingest(parse=spec.parse_ingest)
        self.ingest.expect_online = spec.n_agents
        self.station = BenchStation(
            self.devices,
            self.ingest,
            key=spec.station_key,
            station_user=spec.station_user,
            extra_users=spec.extra_users,
            fetch=spec.fetch,
            station_url=spec.station_url,
            tls=spec.tls,
        )
        self._dirs: list[Path] = []
        self._workers: list[tuple[BaseProcess, Connection]] = []
        self.build_s = 0.0
        self.stopped: list[Stopped] = []

    # --- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> Fleet:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the station side (broker, clip server, session) and the workers (built, not connected)."""
        worker.raise_fd_limit()  # inherited by Mosquitto: 5,000 agents are 5,000 sockets
        root = Path(tempfile.mkdtemp(prefix="loa-sim-"))
        self._dirs.append(root)
        state_root = self.spec.state_root or default_state_root()
        state = Path(tempfile.mkdtemp(prefix="loa-sim-agents-", dir=state_root))
        self._dirs.append(state)
        self.station.start(root)
        self._start_workers(state)

    def _start_workers(self, state: Path) -> None:
        count = self.spec.workers or os.cpu_count() or 2
        context = multiprocessing.get_context("spawn")  # never fork a process that runs paho threads
        for index in range(count):
            # Round-robin, so every zone is spread over every worker and shares its CPU.
            spec = WorkerSpec(
                index=index,
                agents=tuple(self.devices[index::count]),
                host="127.0.0.1",
                port=self.station.device_port,
                public_key=self.station.key.public_b64,
                station_url=self.station.station_url,
                state_dir=state,
                fetch=self.spec.fetch,
                report_plays=self.spec.report_plays,
                connect_window=self.spec.connect_window,
                tls_ca_pem=self.station.ca_pem,
            )
            parent, child = context.Pipe()
            process = context.Process(
                target=worker.main, args=(spec, child), name=f"sim-worker-{index}", daemon=True
            )
            process.start()
            child.close()
            self._workers.append((process, parent))
        began = time.perf_counter()
        self._gather(Built, timeout=120 + self.spec.n_agents / 50)
        self.build_s = time.perf_counter() - began

    def close(self) -> None:
        """Stop the workers, the station session, the clip server and the broker; remove the temp dirs."""
        workers, self._workers = self._workers, []
        for _, conn in workers:
            with contextlib.suppress(OSError):
                conn.send(Stop())
        deadline = time.monotonic() + 20
        for process, conn in workers:
            try:
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    reply = conn.recv()
                    if isinstance(reply, Stopped):
                        self.stopped.append(reply)
            except (EOFError, OSError):
                pass
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
            conn.close()
        self.station.close()
        for directory in self._dirs:
            shutil.rmtree(directory, ignore_errors=True)
        self._dirs = []

    # --- talking to workers ---------------------------------------------------------------------------

    def _send(self, request: Request) -> None:
        for _, conn in self._workers:
            conn.send(request)

    def _gather(self, kind: type[_R], timeout: float, message_id: str | None = None) -> list[_R]:
        """Return one reply of `kind` from every worker, or raise TimeoutError / RuntimeError.

        Replies to an earlier request that timed out are dropped (Records by their message id).
        """
        pending = {conn: process for process, conn in self._workers}
        replies: list[_R] = []
        deadline = time.monotonic() + timeout
        while pending:
            ready = wait(list(pending), max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"{len(pending)} worker(s) sent no {kind.__name__} within {timeout:.0f} s")
            for conn in ready:
                assert isinstance(conn, Connection)
                try:
                    reply: Any = conn.recv()
                except EOFError:
                    raise RuntimeError(
                        f"worker {pending[conn].name} died (exit {pending[conn].exitcode})"
                    ) from None
                stale = (
                    isinstance(reply, Records) and message_id is not None and reply.message_id != message_id
                )
                if isinstance(reply, kind) and not stale:
                    replies.append(reply)
                    del pending[conn]
        return replies

    @property
    def worker_pids(self) -> list[int]:
        return [process.pid for process, _ in self._workers if process.pid is not None]

    def cpu(self) -> dict[str, float]:
        """Return CPU seconds used so far by the broker, the workers (together) and this process."""
        times = os.times()
        return {
            "broker": cpu_seconds(self.station.broker_pid) if self.station.broker_pid else 0.0,
            "workers": sum(cpu_seconds(pid) for pid in self.worker_pids),
            "coordinator": times.user + times.system,
        }

    def broker_memory(self) -> dict[str, float]:
        """Return the broker's resident memory now and at its peak (MB)."""
        pid = self.station.broker_pid
        return memory_mb(pid) if pid else {"rss_mb": 0.0, "peak_rss_mb": 0.0}

    # --- phases ---------------------------------------------------------------------------------------

    def connect(self, timeout_s: float = 300.0) -> ConnectResult:
        """Connect every agent (session, subscriptions, online status); return when all are ready."""
        return self._connect(Connect(timeout_s), timeout_s)

    def raw_connect(self, timeout_s: float = 300.0) -> ConnectResult:
        """Baseline: a bare CONNECT/CONNACK per identity, all held open together, then closed."""
        return self._connect(RawConnect(timeout_s), timeout_s)

    def _connect(self, request: Connect | RawConnect, timeout_s: float) -> ConnectResult:
        began = time.time()
        self._send(request)
        replies = self._gather(Connected, timeout_s + 30)
        errors = [error for reply in replies for error in reply.errors]
        finished = max(reply.finished_at for reply in replies)
        return ConnectResult(
            sum(r.ok for r in replies), sum(r.failed for r in replies), finished - began, errors
        )

    def collect(self, message_id: str, topic: str, timeout_s: float) -> tuple[list[AgentRecord], list[str]]:
        """Return every agent's records for message_id and the targeted agents that recorded nothing."""
        self._send(Collect(message_id, topic, timeout_s))
        replies = self._gather(Records, timeout_s + 30, message_id)
        records = [record for reply in replies for record in reply.records]
        return records, sorted(device for reply in replies for device in reply.missing)

    def heartbeats(self, rate_per_s: float, duration_s: float) -> tuple[int, float, float]:
        """Make the agents publish heartbeats at a total rate; return (published, first, last instant)."""
        count = len(self._workers)
        self._send(Heartbeats(rate_per_s / count, duration_s))
        replies = self._gather(HeartbeatsSent, duration_s + 30)
        return (
            sum(r.sent for r in replies),
            min(r.started_at for r in replies),
            max(r.finished_at for r in replies),
        )

    # --- messages (the station side does the work) ------------------------------------------------------

    def publish(self, topic: str, payload: bytes, expiry_s: float) -> None:
        """Publish as the station does: QoS1, message expiry, wait for the broker's PUBACK."""
        self.station.publish(topic, payload, expiry_s)

    def play_command(
        self,
        *,
        start_at: float,
        priority: protocol.Priority = "normal",
        zones: tuple[str, ...] | None = None,
        expires_in: float = 60.0,
        private_key: bytes | None = None,
    ) -> tuple[protocol.PlayCommand, bytes]:
        """Return a play command for `zones` (default: all) signed by the station (or by private_key)."""
        return self.station.play_command(
            start_at=start_at,
            zones=zones or self.zones,
            priority=priority,
            expires_in=expires_in,
            private_key=private_key,
        )

    def raw_probe(self, size: int) -> tuple[str, bytes]:
        """Return (probe id, payload) of exactly `size` bytes that agents only timestamp."""
        return self.station.raw_probe(size)

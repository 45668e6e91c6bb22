"""A worker process: hosts its share of simulated agents on one ClientLoop and answers the coordinator."""

from __future__ import annotations

import contextlib
import gc
import resource
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from bench.simulator.agent import SimAgent
from bench.simulator.client import new_client
from bench.simulator.fetch import Fetcher
from bench.simulator.loop import ClientLoop
from bench.simulator.records import (
    AgentRecord,
    Built,
    Collect,
    Connect,
    Connected,
    Heartbeats,
    HeartbeatsSent,
    RawConnect,
    Records,
    Request,
    Stop,
    Stopped,
    WorkerSpec,
)
from broadcast import protocol
from edge_agent.config import AgentConfig
from edge_agent.transport import tls_context

_HEARTBEAT_TICK_S = 0.01


def _tls_config(spec: WorkerSpec) -> AgentConfig:
    """Return an agent config carrying only what the agent's TLS context is built from."""
    return AgentConfig(
        device_id="tls",
        zones=("tls",),
        station_url=spec.station_url,
        station_public_key=spec.public_key,
        mqtt_host=spec.host,
        mqtt_port=spec.port,
        mqtt_username="tls",
        mqtt_password="",
        mqtt_tls=True,
        mqtt_ca_pem=spec.tls_ca_pem,
        state_dir=spec.state_dir,
    )


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit (each agent holds a socket and a file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass
class _Phase:
    """A connect (or raw connect) in progress: a queue of agents, at most `window` in flight."""

    kind: str
    queue: deque[SimAgent]
    deadline: float
    started_at: float = field(default_factory=time.time)
    inflight: int = 0
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    raw_clients: list[mqtt.Client] = field(default_factory=list)


@dataclass
class _Collecting:
    request: Collect
    targets: set[str]
    deadline: float


class Worker:
    """The agents of one process, the loop that drives them, and the request handling."""

    def __init__(self, spec: WorkerSpec, conn: Connection) -> None:
        self.spec = spec
        self.conn = conn
        self.loop = ClientLoop()
        self.loop.after_read = self._drain_inbox
        self.report_plays = spec.report_plays
        self.inbox: deque[tuple[SimAgent, str, bytes, float]] = deque()
        self.records: dict[str, list[AgentRecord]] = {}
        self.done: dict[str, set[str]] = {}
        self.collecting: list[_Collecting] = []
        self.deferred: list[Callable[[], None]] = []
        self.phase: _Phase | None = None
        self.fetcher = Fetcher(self.loop) if spec.fetch else None
        self.tls = tls_context(_tls_config(spec)) if spec.tls_ca_pem else None
        self.agents: list[SimAgent] = []
        self.stopping = False
        self.disconnects = 0
        self.handled = 0
        self.handle_s = 0.0
        self.errors: list[str] = []

    # --- Host protocol (called by agents) -------------------------------------------------------------

    def receive(self, agent: SimAgent, topic: str, payload: bytes, received: float) -> None:
        self.inbox.append((agent, topic, payload, received))

    def record(self, record: AgentRecord) -> None:
        self.records.setdefault(record.message_id, []).append(record)
        self.done.setdefault(record.message_id, set()).add(record.device_id)

    def defer(self, action: Callable[[], None]) -> None:
        self.deferred.append(action)

    def link_ready(self, agent: SimAgent, error: str | None) -> None:
        if agent.ready_once or self.phase is None or self.phase.kind != "agents":
            return
        agent.ready_once = True
        self._phase_step(error)

    def link_lost(self, agent: SimAgent) -> None:
        self.disconnects += 1

    def fetch(
        self, agent: SimAgent, command: protocol.PlayCommand, done: Callable[[str | None], None]
    ) -> bool:
        if self.fetcher is None:
            return False
        dest = agent.clips / command.clip.sha256
        if dest.exists():
            return False  # cached, as the real agent's pre-fetched alert templates
        self.fetcher.submit(command.clip.url, command.clip.sha256, command.clip.size, dest, done)
        return True

    # --- main loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        """Build the agents, then serve requests until Stop (or the coordinator goes away)."""
        began = time.perf_counter()
        self.agents = [SimAgent(spec, self.spec, self) for spec in self.spec.agents]
        self._settle()
        self.conn.send(Built(self.spec.index, len(self.agents), time.perf_counter() - began))
        self.loop.add_reader(self.conn, self._on_request)
        while not self.stopping:
            self.loop.run_once()
            while self.deferred:
                actions, self.deferred = self.deferred, []
                for action in actions:
                    action()
            self.loop.flush()
            self._check_phase()
            self._check_collecting()
        self._shutdown()

    def _drain_inbox(self) -> None:
        while self.inbox:
            agent, topic, payload, received = self.inbox.popleft()
            began = time.perf_counter()
            try:
                agent.handle(topic, payload, received)
            except Exception:
                # One broken handler must not take the whole fleet share down; the coordinator sees it.
                self.errors.append(traceback.format_exc(limit=3))
            self.handle_s += time.perf_counter() - began
            self.handled += 1

    def _on_request(self) -> None:
        try:
            request: Request = self.conn.recv()
        except (EOFError, OSError):
            self.stopping = True  # the coordinator died: do not linger
            return
        if isinstance(request, Connect):
            self._start_phase("agents", request.timeout_s)
        elif isinstance(request, RawConnect):
            self._start_phase("raw", request.timeout_s)
        elif isinstance(request, Collect):
            targets = self._targets(request.topic)
            self.collecting.append(_Collecting(request, targets, time.monotonic() + request.timeout_s))
        elif isinstance(request, Heartbeats):
            self._start_heartbeats(request)
        elif isinstance(request, Stop):
            self.stopping = True

    def _targets(self, topic: str) -> set[str]:
        parts = topic.split("/")
        if len(parts) == 5 and parts[2] == "dev":
            return {a.spec.device_id for a in self.agents if a.spec.device_id == parts[3]}
        if len(parts) == 5 and parts[2] == "zone":
            return {a.spec.device_id for a in self.agents if parts[3] in a.spec.zones}
        return set()

    def _check_collecting(self) -> None:
        if not self.collecting:
            return
        now = time.monotonic()
        for waiting in list(self.collecting):
            got = self.done.get(waiting.request.message_id, set())
            if waiting.targets <= got or now >= waiting.deadline:
                message_id = waiting.request.message_id
                records = tuple(self.records.pop(message_id, []))
                self.done.pop(message_id, None)
                missing = tuple(sorted(waiting.targets - got))
                self.conn.send(Records(self.spec.index, message_id, records, missing))
                self.collecting.remove(waiting)
                self._settle()

    def _settle(self) -> None:
        """Collect this phase's cyclic garbage, then move every survivor out of the collector's sight."""
        gc.collect()
        gc.freeze()

    # --- connecting -----------------------------------------------------------------------------------

    def _start_phase(self, kind: str, timeout_s: float) -> None:
        self.phase = _Phase(kind, deque(self.agents), time.monotonic() + timeout_s)
        self._pump()

    def _pump(self) -> None:
        phase = self.phase
        while phase is not None and phase.queue and phase.inflight < self.spec.connect_window:
            agent = phase.queue.popleft()
            phase.inflight += 1
            if phase.kind == "agents":
                agent.connect()
            else:
                self._raw_connect(agent)

    def _phase_step(self, error: str | None) -> None:
        phase = self.phase
        if phase is None:
            return
        phase.inflight -= 1
        if error is None:
            phase.ok += 1
        else:
            phase.failed += 1
            if len(phase.errors) < 5:
                phase.errors.append(error)
        self._pump()

    def _check_phase(self) -> None:
        phase = self.phase
        if phase is None:
            return
        finished = not phase.queue and phase.inflight == 0
        if not finished and time.monotonic() < phase.deadline:
            return
        failed = phase.failed + len(phase.queue) + phase.inflight
        self.conn.send(
            Connected(self.spec.index, phase.ok, failed, phase.started_at, time.time(), tuple(phase.errors))
        )
        self.phase = None
        for client in phase.raw_clients:
            client.disconnect()
        self.loop.flush()  # writes each DISCONNECT, after which paho closes the socket
        self.loop.detach(*phase.raw_clients)
        self._settle()

    def _raw_connect(self, agent: SimAgent) -> None:
        """Connect a bare client under the agent's identity: CONNECT/CONNACK only, nothing else."""
        client = new_client(agent.spec.device_id, agent.spec.password, self.tls)

        def on_connect(
            c: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object
        ) -> None:
            self._phase_step(f"refused: {reason}" if reason.is_failure else None)

        def on_disconnect(
            c: mqtt.Client, userdata: object, flags: object, reason: object, props: object
        ) -> None:
            if client.tls_error:
                self._phase_step(f"tls: {client.tls_error}")

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        self.loop.attach(client)
        assert self.phase is not None
        self.phase.raw_clients.append(client)
        try:
            client.connect(self.spec.host, self.spec.port, keepalive=self.spec.keepalive_s, clean_start=True)
        except OSError as exc:
            self._phase_step(f"connect: {exc}")

    # --- heartbeats -----------------------------------------------------------------------------------

    def _start_heartbeats(self, request: Heartbeats) -> None:
        started_mono, started = time.monotonic(), time.time()
        state = {"sent": 0, "next": 0, "published": 0}

        def tick() -> None:
            elapsed = min(time.monotonic() - started_mono, request.duration_s)
            due = int(request.rate_per_s * elapsed) - state["sent"]
            now = time.time()
            for _ in range(due):
                agent = self.agents[state["next"] % len(self.agents)]
                state["next"] += 1
                state["sent"] += 1
                state["published"] += agent.heartbeat(now)
            if elapsed >= request.duration_s:
                self.conn.send(HeartbeatsSent(self.spec.index, state["published"], started, time.time()))
            else:
                self.loop.call_later(_HEARTBEAT_TICK_S, tick)

        tick()

    # --- shutdown -------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        for agent in self.agents:
            agent.disconnect()
        self.loop.flush()
        if self.fetcher is not None:
            self.fetcher.close()
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(
                Stopped(
                    self.spec.index, self.disconnects, self.handled, self.handle_s, tuple(self.errors[:5])
                )
            )
        self.loop.close()


def main(spec: WorkerSpec, conn: Connection) -> None:
    """Entry point of a worker process."""
    raise_fd_limit()
    # A real agent's heap is small. One process holding thousands of agents makes every automatic full
    # collection walk them all: stalls of tens of ms, and a quadratic connect phase (GC tripled its CPU).
    # Collect only between phases instead (see _settle).
    gc.disable()
    Worker(spec, conn).run()

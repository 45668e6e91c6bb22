"""The composition root: wire config, cache, stores, handler, playout, output and MQTT together."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from broadcast import protocol
from edge_agent.cache import ClipCache, ClipError
from edge_agent.config import AgentConfig
from edge_agent.handlers import Accepted, decide
from edge_agent.outputs import Output, PlayRequest
from edge_agent.pending import PendingStore
from edge_agent.playout import Outcome, Playout
from edge_agent.seen import SeenStore
from edge_agent.transport import Inbound, MqttTransport

log = logging.getLogger(__name__)

_FETCH_WORKERS = 2  # an emergency clip must not wait behind one slow normal download


def _version() -> str:
    try:
        return metadata.version("loa-xa")
    except metadata.PackageNotFoundError:
        return ""


class Agent:
    """One edge agent: receive commands, fetch clips early, play them on time, report back."""

    def __init__(self, config: AgentConfig, output: Output) -> None:
        self.config = config
        state = config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.seen = SeenStore(state / "seen.jsonl")
        self.pending = PendingStore(state / "pending")
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.transport = MqttTransport(config, self.inbox, version=_version())
        self.playout = Playout(
            output,
            config.device_id,
            self.transport.publish_event,
            on_done=self._done,
            on_started=lambda command: self.pending.remove(command.id),
        )
        self.cache = ClipCache(state / "clips", config.cache_max_bytes, in_use=self.playout.pending_shas)
        self._stopping = threading.Event()
        self._fetchers = ThreadPoolExecutor(_FETCH_WORKERS, thread_name_prefix="fetch")
        self._worker = threading.Thread(target=self._work, name="commands", daemon=True)

    def start(self) -> None:
        """Restore the persisted programme, then start playing and listening."""
        self.playout.start()
        self._restore()
        self._worker.start()
        self.transport.start()
        log.info("agent %s started (zones %s)", self.config.device_id, ",".join(self.config.zones))

    def stop(self) -> None:
        """Stop taking commands, stop playing, say offline and disconnect."""
        self._stopping.set()
        if self._worker.is_alive():
            self._worker.join(timeout=2)
        self._fetchers.shutdown(wait=False, cancel_futures=True)
        self.playout.stop()
        self.transport.stop()
        self.seen.close()
        log.info("agent %s stopped", self.config.device_id)

    def handle(self, payload: bytes, topic: str = "") -> None:
        """Decide on one received payload and, if accepted, persist it and start fetching its clip."""
        decision = decide(payload, time.time(), self.config, self.seen)
        if not isinstance(decision, Accepted):
            if decision.report:
                log.warning(
                    "rejected command %s from %s: %s", decision.command_id or "?", topic, decision.reason
                )
                self._report_rejection(decision.command_id, decision.reason)
            else:
                log.debug("ignored command %s: %s", decision.command_id, decision.reason)
            return
        command = decision.command
        log.info(
            "received command %s (%s, starts in %.1f s): %s",
            command.id,
            command.priority,
            command.start_at - time.time(),
            command.title,
        )
        self.seen.add(command.id, command.expires_at)
        self.pending.save(command.id, payload)
        self._fetchers.submit(self._fetch_and_schedule, command)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                inbound = self.inbox.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.handle(inbound.payload, inbound.topic)
            except Exception:
                # One bad message (or a full disk) must not end the loop that receives every later one.
                log.exception("failed to handle a message on %s", inbound.topic)

    def _restore(self) -> None:
        """Reschedule commands accepted before a restart; they are verified again like new ones."""
        for key, payload in self.pending.load():
            decision = decide(payload, time.time(), self.config, frozenset())
            if isinstance(decision, Accepted):
                log.info("restored command %s from the persisted programme", decision.command.id)
                self._fetchers.submit(self._fetch_and_schedule, decision.command)
                continue
            log.warning("dropping persisted command %s: %s", decision.command_id or key, decision.reason)
            self.pending.discard(key)
            if decision.command_id:
                self._report_rejection(decision.command_id, decision.reason)

    def _fetch_and_schedule(self, command: protocol.PlayCommand) -> None:
        try:
            path = self.cache.ensure(command.clip, deadline=command.expires_at, stop=self._stopping)
        except ClipError as exc:
            if self._stopping.is_set():
                return  # stays persisted; fetched again after the restart
            log.warning("rejected command %s: clip fetch failed: %s", command.id, exc)
            self._report_rejection(command.id, f"clip fetch failed: {exc}")
            self.pending.remove(command.id)
            return
        except Exception:
            log.exception("fetch of command %s crashed", command.id)
            self._report_rejection(command.id, "clip fetch failed: internal error")
            self.pending.remove(command.id)
            return
        log.info("fetched clip %s for command %s", command.clip.sha256[:12], command.id)
        self.playout.schedule(PlayRequest(command, path, self.config.device_id))

    def _done(self, command: protocol.PlayCommand, outcome: Outcome) -> None:
        # A started play is already forgotten (a restart must not play it twice); "stopped" never began
        # and stays persisted for after the restart.
        if outcome != "stopped":
            self.pending.remove(command.id)

    def _report_rejection(self, command_id: str, reason: str) -> None:
        self.transport.publish_event(
            protocol.CommandRejected(
                device_id=self.config.device_id, command_id=command_id, reason=reason[:500]
            )
        )

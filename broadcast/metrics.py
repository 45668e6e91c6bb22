"""The station's Prometheus metrics: every definition, the helpers the rest of the station calls, the scrape.

Domain and adapter modules call the helpers below and never import prometheus_client themselves.

Workers. With PROMETHEUS_MULTIPROC_DIR set (several `broadcast serve` workers), each worker writes its
values to files in that directory and a scrape of any worker adds up all of them (prometheus_client's
multiprocess mode). prometheus_client reads the variable when it is first imported, so it belongs in the
workers' environment; the directory must exist and be empty when they start. Without it, a scrape shows
the one process that answers.

The counts read from the database (devices, plays, bulletins) are never written to those files: they are
read once per scrape by `DatabaseCollector`, so N workers do not count them N times.
"""

from __future__ import annotations

import atexit
import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import REGISTRY, Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus reads

# A `_created` series beside every counter: noise nobody here graphs. (These three prometheus_client
# functions carry no annotations.)
disable_created_metrics()  # type: ignore[no-untyped-call]

# --- what the workers count (summed across workers in multiprocess mode) ---------------------------------

AGENT_MESSAGES = Counter(
    "loa_agent_messages_total",
    "Agent reports taken from the (shared) subscription and applied (all workers in multiprocess mode).",
)
REPORTS_DROPPED = Counter(
    "loa_reports_dropped_total",
    "Agent reports dropped unstored: over the device's rate, lane full, or about a command never issued "
    "to the device.",
    ["reason"],
)
REPORT_QUEUE = Gauge(
    "loa_report_queue",
    "Agent reports waiting for ingest, by lane (urgent: alert acks).",
    ["lane"],
    multiprocess_mode="livesum",
)
MQTT_CONNECTED = Gauge(
    "loa_mqtt_connected",
    "Whether the station's MQTT client is connected (every live worker's, in multiprocess mode).",
    multiprocess_mode="livemin",
)

# --- latencies ---------------------------------------------------------------------------------------------

ALERT_DELIVERY = Histogram(
    "loa_alert_delivery_seconds",
    "From an alert command's issue (raised, or confirmed under the two-person rule) to a loudspeaker's "
    "acknowledgement, by command kind (alert, alert_speech, cancel).",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
MQTT_PUBLISH = Histogram(
    "loa_mqtt_publish_seconds",
    "From publishing a signed command to the broker's acknowledgement (PUBACK), by what was published.",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MQTT_PUBLISH_FAILURES = Counter(
    "loa_mqtt_publish_failures_total",
    "Publishes of signed commands the broker did not acknowledge (timeout, refusal, no link), by kind.",
    ["kind"],
)
HTTP_REQUEST = Histogram(
    "loa_http_request_seconds",
    "HTTP requests by route template (never the raw path), method and status class.",
    ["route", "method", "status"],
)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# --- backups (broadcast/backup/scheduled.py; the worker that ran one sets them) -----------------------------

BACKUP_LAST_SUCCESS = Gauge(
    "loa_backup_last_success_timestamp_seconds",
    "When the last successful backup finished (unix seconds; 0: none since the station started).",
    multiprocess_mode="max",
)
BACKUP_LAST_DURATION = Gauge(
    "loa_backup_last_duration_seconds",
    "How long the last successful backup took.",
    multiprocess_mode="mostrecent",
)
BACKUP_LAST_SIZE = Gauge(
    "loa_backup_last_size_bytes",
    "Bytes the last successful backup wrote to its destination (clips already there are not copied).",
    multiprocess_mode="mostrecent",
)
BACKUP_FAILURES = Counter("loa_backup_failures_total", "Backups (scheduled or by hand) that failed.")


def agent_message_taken() -> None:
    """Count one agent report taken from the subscription (after its handler ran)."""
    AGENT_MESSAGES.inc()


def know_drop_reasons(reasons: Iterable[str]) -> None:
    """Show every drop reason from the start, at 0, not only once the first report is dropped."""
    for reason in reasons:
        REPORTS_DROPPED.labels(reason=reason)


def report_dropped(reason: str) -> None:
    """Count one agent report dropped unstored."""
    _dropped(reason).inc()


def report_lanes_empty(lanes: Iterable[str]) -> None:
    """Show each lane's queue at 0 (a new MQTT client's lanes are empty)."""
    for lane in lanes:
        REPORT_QUEUE.labels(lane=lane).set(0)


def report_queued(lane: str, change: int) -> None:
    """Note that `change` reports joined (positive) or left (negative) a lane's queue."""
    _queue(lane).inc(change)


# A flood passes the two helpers above for every message: their children are looked up once (a few
# lanes and reasons), not through labels() each time.
@functools.cache
def _dropped(reason: str) -> Counter:
    return REPORTS_DROPPED.labels(reason=reason)


@functools.cache
def _queue(lane: str) -> Gauge:
    return REPORT_QUEUE.labels(lane=lane)


def mqtt_link(connected: bool) -> None:
    """Note that the station's MQTT client connected or lost the broker."""
    MQTT_CONNECTED.set(int(connected))


def alert_acknowledged(kind: str, seconds: float) -> None:
    """Note a loudspeaker's first acknowledgement of an alert command `seconds` after it was issued."""
    ALERT_DELIVERY.labels(kind=kind).observe(max(0.0, seconds))


@contextmanager
def publish_timer(kind: str) -> Iterator[None]:
    """Time one publish until the broker's acknowledgement; a publish that raises counts as a failure."""
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        MQTT_PUBLISH_FAILURES.labels(kind=kind).inc()
        raise
    MQTT_PUBLISH.labels(kind=kind).observe(time.perf_counter() - started)


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    """Note one answered HTTP request by its route template (bounded labels: unknown methods are `other`)."""
    method = method.upper() if method.upper() in HTTP_METHODS else "other"
    HTTP_REQUEST.labels(route=route, method=method, status=f"{status // 100}xx").observe(seconds)


def backup_succeeded(finished_at: float, seconds: float, size_bytes: int) -> None:
    """Note a backup that finished at `finished_at` (unix seconds), after `seconds`, writing `size_bytes`."""
    BACKUP_LAST_SUCCESS.set(finished_at)
    BACKUP_LAST_DURATION.set(seconds)
    BACKUP_LAST_SIZE.set(size_bytes)


def backup_failed() -> None:
    """Count one failed backup."""
    BACKUP_FAILURES.inc()


# --- the scrape --------------------------------------------------------------------------------------------


class DatabaseCounts(Protocol):
    """What a scrape reads from the database (reports/census.py answers it)."""

    @property
    def devices(self) -> int: ...
    @property
    def devices_online(self) -> int: ...
    @property
    def plays(self) -> Mapping[str, int]: ...
    @property
    def bulletins(self) -> Mapping[str, int]: ...


class DatabaseCollector(Collector):
    """The database's counts, read when scraped: the same whichever worker answers, counted once."""

    def __init__(self, counts: Callable[[], DatabaseCounts]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        counts = self._counts()
        yield GaugeMetricFamily("loa_devices", "Registered loudspeaker agents.", value=counts.devices)
        yield GaugeMetricFamily(
            "loa_devices_online", "Agents whose last status was online.", value=counts.devices_online
        )
        plays = CounterMetricFamily("loa_plays", "Play reports by outcome.", labels=["outcome"])
        for outcome, count in sorted(counts.plays.items()):
            plays.add_metric([outcome], count)
        yield plays
        bulletins = GaugeMetricFamily("loa_bulletins", "Bulletins by status.", labels=["status"])
        for status, count in sorted(counts.bulletins.items()):
            bulletins.add_metric([status], count)
        yield bulletins


class _ThisProcess(Collector):
    """Everything this process registered (its metrics above, plus process and Python runtime ones)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess() -> bool:
    """Return True if the workers share their metrics through PROMETHEUS_MULTIPROC_DIR."""
    return bool(os.environ.get(MULTIPROC_ENV))


def scrape(counts: Callable[[], DatabaseCounts]) -> bytes:
    """Return the text exposition: all workers' metrics (or this process's), then the database's counts."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(counts))
    return generate_latest(registry)


if multiprocess():  # a worker that stops takes its live gauges (queue, link) out of the sum
    atexit.register(lambda: mark_process_dead(os.getpid()))  # type: ignore[no-untyped-call]

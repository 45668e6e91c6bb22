"""/metrics on a real in-process station: the database's counts, and HTTP latency with bounded labels."""

from __future__ import annotations

import hashlib

from broadcast.storage.models import Device
from tests.api.conftest import Api
from tests.support import metrics

REQUESTS = "loa_http_request_seconds_count"


def _scrape(api: Api) -> str:
    response = api.client.get("/metrics")  # no credentials: a scraper has none (as before)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return str(response.text)


def test_the_database_counts_are_read_at_each_scrape(api: Api) -> None:
    text = _scrape(api)
    assert metrics.value(text, "loa_devices") == 1
    assert metrics.value(text, "loa_devices_online") == 0
    assert metrics.value(text, "loa_mqtt_connected") == 1
    assert metrics.value(text, "loa_report_queue", {"lane": "urgent"}) == 0
    assert metrics.value(text, "loa_reports_dropped_total", {"reason": "unknown_command"}) >= 0
    with api.station.db.session() as session:
        device = session.get(Device, "loa-1")
        assert device is not None
        device.online = True
    text = _scrape(api)
    assert metrics.value(text, "loa_devices_online") == 1  # the database now, not a cached number
    assert metrics.samples(text, "loa_plays_total") == []  # no play reported yet


def test_a_hundred_raw_paths_make_one_route_label(api: Api) -> None:
    before = _scrape(api)
    names = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(100)]
    for name in names:
        assert api.client.get(f"/clips/{name}.mp3").status_code == 404
        assert api.client.get(f"/no-such-page/{name}").status_code == 404
    after = _scrape(api)
    routes = {s.labels["route"] for s in metrics.samples(after, REQUESTS)}
    assert not any(name in route for route in routes for name in names)
    for route in ("/clips/{name}", "unmatched"):
        grown = metrics.total(after, REQUESTS, route=route) - metrics.total(before, REQUESTS, route=route)
        assert grown == 100, route
    labels = {"route": "/clips/{name}", "method": "GET", "status": "4xx"}
    assert metrics.value(after, REQUESTS, labels) >= 100


def test_methods_and_statuses_are_classes(api: Api) -> None:
    before = _scrape(api)
    api.client.request("BREW", "/healthz")
    api.client.get("/api/devices", headers=api.editor)
    after = _scrape(api)
    statuses = {s.labels["status"] for s in metrics.samples(after, REQUESTS)}
    assert statuses <= {"1xx", "2xx", "3xx", "4xx", "5xx"}
    brewed = {"route": "/healthz", "method": "other", "status": "4xx"}
    assert metrics.total(after, REQUESTS, **brewed) - metrics.total(before, REQUESTS, **brewed) == 1
    listed = {"route": "/api/devices", "method": "GET", "status": "2xx"}
    assert metrics.total(after, REQUESTS, **listed) - metrics.total(before, REQUESTS, **listed) == 1

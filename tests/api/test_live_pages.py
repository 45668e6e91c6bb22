"""The live page's server side on a station whose live engine is off (tests/conftest.py's default)."""

from __future__ import annotations

import re

import pytest

from broadcast import domain
from broadcast.web.live_pages import EVERY_ZONE, chosen_zones
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.mark.parametrize(
    ("ticked", "zones"),
    [
        (["thon-1"], ["thon-1"]),
        (["thon-2", " thon-1 ", "thon-2"], ["thon-2", "thon-1"]),
        ([EVERY_ZONE], None),
        (["thon-1", EVERY_ZONE], None),  # "Mọi vùng" wins over single zones
    ],
)
def test_chosen_zones(ticked: list[str], zones: list[str] | None) -> None:
    assert chosen_zones(ticked) == zones


@pytest.mark.parametrize("ticked", [None, [], ["", "  "]])
def test_no_zone_is_refused(ticked: list[str] | None) -> None:
    with pytest.raises(domain.Invalid, match="Mọi vùng"):
        chosen_zones(ticked)


def _login(api: Api, name: str, password: str) -> str:
    assert api.client.post("/login", data={"name": name, "password": password}).status_code == 200
    match = CSRF.search(api.client.get("/bulletins").text)
    assert match
    return match.group(1)


def test_live_off_is_said_on_the_page_and_refused_as_json(api: Api) -> None:
    assert api.station.live is None
    token = _login(api, "chutich", "mat-khau-duyet-tin")
    page = api.client.get("/live")
    assert page.status_code == 200
    assert 'data-available="no"' in page.text and "BROADCAST_LIVE_ENGINE=off" in page.text
    assert 'href="/live"' in page.text  # the approver's navigation has it

    nothing = api.client.post("/live/start", data={"csrf_token": token})
    assert nothing.status_code == 422 and "Mọi vùng" in nothing.json()["detail"]
    off = api.client.post("/live/start", data={"csrf_token": token, "zones": EVERY_ZONE})
    assert off.status_code == 409 and off.json()["detail"] == api.station.live_reason
    stop = api.client.post("/live/live-x/stop", data={"csrf_token": token})
    assert stop.status_code == 409
    forged = api.client.post("/live/start", data={"csrf_token": "0" * 64, "zones": EVERY_ZONE})
    assert forged.status_code == 403


def test_an_editor_gets_the_forbidden_page_and_no_link(api: Api) -> None:
    token = _login(api, "canbo", "mat-khau-bien-tap")
    assert 'href="/live"' not in api.client.get("/bulletins").text
    page = api.client.get("/live")
    assert page.status_code == 403 and "Không có quyền truy cập" in page.text
    refused = api.client.post("/live/start", data={"csrf_token": token, "zones": EVERY_ZONE})
    assert refused.status_code == 403 and "người duyệt tin" in refused.json()["detail"]


def test_the_page_names_the_https_address_when_https_is_on(api: Api) -> None:
    _login(api, "chutich", "mat-khau-duyet-tin")
    api.station.settings.https_port = 0
    assert 'id="https-off"' in api.client.get("/live").text
    api.station.settings.https_port = 8443  # the page only names it; the browser shows it on plain HTTP
    page = api.client.get("/live").text
    assert 'id="https-link" href="https://testserver:8443/live"' in page


def test_the_live_api_of_a_station_without_live_broadcasts_says_so(api: Api) -> None:
    for method, path in (("POST", "/api/live"), ("GET", "/api/live"), ("POST", "/api/live/live-0/stop")):
        body: dict[str, object] | None = {} if method == "POST" else None
        response = api.client.request(method, path, headers=api.approver, json=body)
        assert response.status_code == 409, (path, response.text)
        assert response.json()["detail"] == api.station.live_reason

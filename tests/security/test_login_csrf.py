"""Login CSRF is closed: a browser's cross-site post, or one without the login form's token, is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.login_support import ADMIN, ADMIN_PASSWORD, Browser, form_token, station_with_admin
from tests.support.station import StationProcess, running

pytestmark = pytest.mark.integration

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationProcess]:
    station, _token = station_with_admin(tmp_path_factory.mktemp("csrf") / "station")
    with running(station):
        station.start()
        yield station


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_site_login_is_refused_with_a_clear_message(
    station: StationProcess, headers: dict[str, str]
) -> None:
    browser = Browser(station.url, headers=BROWSER)
    token = form_token(browser.request("GET", "/login")[2])
    status, _, page = browser.request(
        "POST", "/login", {"name": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": token}, headers
    )
    assert status == 403
    assert "trang web khác" in page
    assert "loa_session" not in browser.cookies


@pytest.mark.parametrize("token", ["", "0" * 64, "stolen"])
def test_a_browser_post_without_the_forms_own_token_is_refused(station: StationProcess, token: str) -> None:
    browser = Browser(station.url, headers=BROWSER)
    browser.request("GET", "/login")
    status, _, page = browser.request(
        "POST", "/login", {"name": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert status == 403
    assert "tải lại trang" in page
    assert "loa_session" not in browser.cookies


def test_another_browsers_token_does_not_fit_this_browsers_cookie(station: StationProcess) -> None:
    attacker = Browser(station.url, headers=BROWSER)
    token = form_token(attacker.request("GET", "/login")[2])
    victim = Browser(station.url, headers=BROWSER)
    victim.request("GET", "/login")  # a seed cookie of its own
    assert victim.login(ADMIN, ADMIN_PASSWORD, token) == 403


def test_the_login_form_itself_works_from_the_same_site(station: StationProcess) -> None:
    browser = Browser(station.url, headers=BROWSER)
    token = form_token(browser.request("GET", "/login")[2])
    same_site = {"Origin": station.url, "Sec-Fetch-Site": "same-origin"}
    form = {"name": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": token}
    status, headers, _ = browser.request("POST", "/login", form, same_site)
    assert status == 303 and headers["location"] == "/"
    assert "loa_session" in browser.cookies


def test_a_script_that_is_not_a_browser_logs_in_without_a_form(station: StationProcess) -> None:
    assert Browser(station.url).login(ADMIN, ADMIN_PASSWORD) == 303

"""Browser tests: one real station process and one headless Debian Chromium shared by the package.

Playwright drives `/usr/bin/chromium` (env BROWSER_CHROMIUM) through `executable_path`. `launch()` gives the
browser a fresh temporary --user-data-dir (removed on close); each test gets new, isolated contexts, so an
editor and an approver can be logged in side by side. Screenshots land in BROWSER_ARTIFACTS (default
var/artifacts/screenshots, relative to the repository), plus failures/<test>-<n>.png when a test fails.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, StorageState, sync_playwright

from tests.browser.harness import APPROVER, EDITOR, BrowserStation, browser_station
from tests.browser.ui import Browsing

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS_ENV = "BROWSER_ARTIFACTS"
CHROMIUM_ENV = "BROWSER_CHROMIUM"
# What a root, network-less CI machine needs; autoplay lets the preview test call play() without a click.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def artifacts_dir() -> Path:
    """Return the screenshot directory (env BROWSER_ARTIFACTS; a relative path is under the repo)."""
    configured = Path(os.environ.get(ARTIFACTS_ENV, "var/artifacts/screenshots"))
    return configured if configured.is_absolute() else REPO / configured


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Keep each phase's report on the item so fixtures can screenshot a failed test."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserStation]:
    with browser_station(tmp_path_factory.mktemp("browser-station")) as running_station:
        yield running_station


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = Path(os.environ.get(CHROMIUM_ENV, "/usr/bin/chromium"))
    if not os.access(executable, os.X_OK):
        pytest.fail(
            f"Chromium not found at {executable}: the browser tests need Debian's chromium. "
            f"Run scripts/bootstrap.sh (installs chromium and chromium-driver), or set {CHROMIUM_ENV}.",
            pytrace=False,
        )
    if "PYTEST_XDIST_WORKER" not in os.environ:  # workers would delete each other's
        shutil.rmtree(artifacts_dir() / "failures", ignore_errors=True)  # keep only this run's failures
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def sessions() -> dict[str, StorageState]:
    """Each account's logged-in cookies, filled by its first login through the form."""
    return {}


@pytest.fixture
def browsing(
    request: pytest.FixtureRequest,
    browser: Browser,
    station: BrowserStation,
    sessions: dict[str, StorageState],
) -> Iterator[Browsing]:
    """Open pages (optionally logged in); screenshot every open page if the test fails."""
    session = Browsing(browser, station.url, artifacts_dir(), sessions)
    try:
        yield session
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(r.failed for r in reports.values()):
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            session.screenshot_all(f"failures/{name}")
            print(f"--- station log (tail)\n{station.process.log_tail()}")  # shown with the failure
        session.close()


@pytest.fixture
def editor(browsing: Browsing) -> Page:
    return browsing.open(EDITOR)


@pytest.fixture
def approver(browsing: Browsing) -> Page:
    return browsing.open(APPROVER)

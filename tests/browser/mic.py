"""A second Chromium whose microphone is a fake (tone bursts), and pages in it, for the microphone tests.

Playwright's sync API cannot be started twice in one thread, so the package's browser launches it; the
package's browser has no fake microphone (most tests need none).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, StorageState

from tests.browser.conftest import CHROMIUM_ENV, CHROMIUM_FLAGS, artifacts_dir
from tests.browser.harness import BrowserStation
from tests.browser.ui import Browsing
from tests.support.fake_mic import chromium_flags, tone_bursts


@contextmanager
def mic_browser(
    like: Browser, tmp_path_factory: pytest.TempPathFactory, extra_flags: Sequence[str] = ()
) -> Iterator[Browser]:
    """Launch Chromium (from `like`'s Playwright) with the fake microphone; close it on exit."""
    wav = tone_bursts(tmp_path_factory.mktemp("fake-mic") / "mic.wav")
    executable = Path(os.environ.get(CHROMIUM_ENV, "/usr/bin/chromium"))
    flags = [*CHROMIUM_FLAGS, *extra_flags, *chromium_flags(wav)]
    launched = like.browser_type.launch(executable_path=str(executable), headless=True, args=flags)
    try:
        yield launched
    finally:
        launched.close()


@contextmanager
def mic_browsing(
    request: pytest.FixtureRequest, mic: Browser, station: BrowserStation, sessions: dict[str, StorageState]
) -> Iterator[Browsing]:
    """Open pages in the fake-microphone browser; screenshot them if the test failed."""
    session, failed = Browsing(mic, station.url, artifacts_dir(), sessions), request.session.testsfailed
    try:
        yield session
    finally:
        if request.session.testsfailed > failed:
            session.screenshot_all(f"failures/{request.node.name}-mic")
        session.close()

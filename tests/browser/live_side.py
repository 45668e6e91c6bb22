"""The station's side of the live page's calls, played by Playwright's routing (no live service needed).

`StationSide` answers POST /live/start and /live/{id}/stop and the audio WebSocket, records what the page
sent, and says what a station would say (`say(state, devices, elapsed, reason)`).
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from playwright.sync_api import Page, Route, WebSocketRoute

SESSION = "ls-test-1"
FRAME_BYTES = 320 * 2  # 20 ms of mono 16 kHz Int16


@dataclass
class StationSide:
    """The station's answers to the page's live calls (start, stop, the audio socket), and what it got."""

    starts: list[dict[str, list[str]]] = field(default_factory=list)
    stops: list[dict[str, list[str]]] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    closed: list[int | None] = field(default_factory=list)
    socket: WebSocketRoute | None = None
    refuse: str = ""

    def install(self, page: Page) -> None:
        page.route("**/live", self._page)
        page.route("**/live/start", self._start)
        page.route(f"**/live/{SESSION}/stop", self._stop)
        page.route_web_socket(f"**/api/live/{SESSION}/audio", self._connect)

    def _page(self, route: Route) -> None:  # the real page, as if this station's live engine were on
        response = route.fetch()
        html = response.text().replace('data-available="no"', 'data-available="yes"')
        route.fulfill(response=response, body=html)

    def _start(self, route: Route) -> None:
        self.starts.append(parse_qs(route.request.post_data or ""))
        if self.refuse:
            route.fulfill(status=409, json={"detail": self.refuse})
            return
        ws = f"/api/live/{SESSION}/audio"
        route.fulfill(json={"id": SESSION, "ws": ws, "state": "starting"})

    def _stop(self, route: Route) -> None:
        self.stops.append(parse_qs(route.request.post_data or ""))
        route.fulfill(json={"id": SESSION, "state": "ended"})

    def _connect(self, socket: WebSocketRoute) -> None:
        self.socket = socket
        finished: list[int | None] = []

        def closed(code: int | None, reason: str | None) -> None:  # the page closed it
            self.closed.append(code)
            if not finished:  # with a handler set, Playwright leaves finishing the close to it
                finished.append(code)
                socket.close(code=code, reason=reason)

        socket.on_message(lambda message: self.frames.append(message) if isinstance(message, bytes) else None)
        socket.on_close(closed)
        self.say("starting", 0, 0.0)

    def hang_up(self, code: int, reason: str) -> None:
        """Close the socket from the station's side, as the API does when it refuses the audio."""
        assert self.socket is not None, "the page never opened the socket"
        self.socket.close(code=code, reason=reason)

    def say(self, state: str, devices: int, elapsed: float, reason: str | None = None) -> None:
        assert self.socket is not None, "the page never opened the socket"
        message = {"state": state, "devices": devices, "elapsed_s": elapsed, "reason": reason}
        self.socket.send(json.dumps(message))


def until(page: Page, done: Callable[[], object], seconds: float = 10.0) -> None:
    """Let Playwright deliver the socket's messages until `done()` holds (time.sleep would not)."""
    for _ in range(int(seconds / 0.05)):
        if done():
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out")


def peak_and_crossings(frame: bytes) -> tuple[float, int]:
    """Return a frame's peak (0..1) and how often the signal crosses zero."""
    samples = struct.unpack(f"<{len(frame) // 2}h", frame)
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return max(abs(v) for v in samples) / 32768, crossings

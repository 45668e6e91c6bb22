"""Live broadcast end to end: a Chromium whose microphone plays tone bursts speaks to real agents.

Its own station (live on, short renewals and drop bound) with two agents in thon-1 and one in thon-2.
The browser's outgoing audio frames are timed by a script wrapped around WebSocket.send (test-side only),
so a burst's latency is the moment its first loud frame left the browser to the burst's onset in each
agent's recording (wall clock, same machine), and skew is the spread of one burst's onsets across the
zone. Tight figures are in bench/live_path.py; the bounds here hold on a loaded 2-core machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import APPROVER, _cli, _enrol
from tests.browser.mic import mic_browser
from tests.browser.ui import login
from tests.support.free_port import free_port_block
from tests.support.live_audio import live_onsets, matched
from tests.support.snapcast import require_snapserver
from tests.support.station import AgentProcess, StationProcess, running, wait_until

ZONE, OTHER_ZONE = "thon-1", "thon-2"
HEARD, ELSEWHERE = ("loa-a1", "loa-a2"), "loa-b1"
# Heard while it is said, not played back later: goal 1 s, measured 0.66 s by bench/live_path.py. 2.7 s was
# seen with five other sessions' tests on the two cores (load 12), so the bound here only rules out replay.
LATENCY_BOUND_S = 5.0
SKEW_BOUND_S = 0.08  # goal 20 ms (bench)
DROP_S = 2.0

# Note when each binary frame leaves the page and how loud it is (peak of its 16-bit samples).
_TIME_SENDS = """
window.__sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    const pcm = data instanceof ArrayBuffer
      ? new Int16Array(data) : new Int16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    let peak = 0;
    for (let i = 0; i < pcm.length; i++) peak = Math.max(peak, Math.abs(pcm[i]));
    window.__sent.push([Date.now() / 1000, peak]);
  }
  return send.call(this, data);
};
"""


@dataclass
class LiveStation:
    process: StationProcess
    agents: dict[str, AgentProcess]
    token: str

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.process.request(method, path, self.token, body)


@pytest.fixture(scope="module")
def live_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStation]:
    require_snapserver(client=True)
    root = tmp_path_factory.mktemp("live-e2e")
    env = {
        "BROADCAST_LIVE_ENGINE": "snapcast",
        "BROADCAST_LIVE_PORT": str(free_port_block(4)),
        "BROADCAST_LIVE_BIND": "127.0.0.1",
        "BROADCAST_LIVE_PUBLIC_HOST": "127.0.0.1",
        "BROADCAST_LIVE_RENEW_S": "1",
        "BROADCAST_LIVE_DROP_S": str(DROP_S),
    }
    process = StationProcess(root / "station", extra_env=env)
    process.data_dir.mkdir()
    role = ("--role", APPROVER.role)
    _cli(process, "user", "add", APPROVER.name, *role, "--password-stdin", stdin=f"{APPROVER.password}\n")
    token = _cli(process, "token", "create", APPROVER.name).strip()
    zones = {HEARD[0]: ZONE, HEARD[1]: ZONE, ELSEWHERE: OTHER_ZONE}
    agents = {device: _enrol(process, root, device, zone) for device, zone in zones.items()}
    with running(process, *agents.values()):
        process.start()
        for agent in agents.values():
            agent.start()
        station = LiveStation(process, agents, token)
        online = lambda: all(d["online"] for d in station.api("GET", "/api/devices")[1])  # noqa: E731
        assert wait_until(online, timeout=30), process.log_tail()
        yield station


@pytest.fixture(scope="module")
def mic(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with mic_browser(browser, tmp_path_factory) as launched:
        yield launched


@pytest.fixture
def officer(mic: Browser, live_station: LiveStation) -> Iterator[Page]:
    context = mic.new_context(base_url=live_station.process.url)
    context.add_init_script(_TIME_SENDS)
    page = context.new_page()
    login(page, APPROVER)
    yield page
    context.close()


def _go_live(page: Page, title: str) -> str:
    page.goto("/live")
    page.get_by_label(ZONE, exact=True).check()
    page.get_by_label("Tiêu đề (không bắt buộc)").fill(title)
    page.get_by_role("button", name="Bắt đầu phát").click()
    expect(page.locator("#on-air")).to_be_visible(timeout=30_000)
    session_id = page.locator("#live").get_attribute("data-session")
    assert session_id
    return session_id


def _lines(agent: AgentProcess, session_id: str, kind: str) -> list[dict[str, Any]]:
    return [p for p in agent.plays() if p.get("session_id") == session_id and p.get("kind") == kind]


def _ended_after(agent: AgentProcess, session_id: str, moment: float) -> Callable[[], list[dict[str, Any]]]:
    """Return a check for the agent's leaving of the session after `moment`."""
    return lambda: [p for p in _lines(agent, session_id, "live_end") if p["ended_at"] > moment]


def _sent_onsets(page: Page) -> list[float]:
    """Return when each tone burst's first loud frame left the page."""
    onsets: list[float] = []
    quiet = True
    for at, peak in page.evaluate("window.__sent"):
        if quiet and peak > 8000:
            onsets.append(float(at))
        quiet = peak < 1000
    return onsets


def test_the_zone_hears_the_officer_in_step_and_stop_ends_it(
    officer: Page, live_station: LiveStation
) -> None:
    session_id = _go_live(officer, "Thông báo thử")
    time.sleep(4.5)  # three bursts of the fake microphone (one every 1.3 s)
    officer.get_by_role("button", name="Dừng phát").click()
    expect(officer.locator("#live-state")).to_contain_text("Đã dừng phát.")
    for device in HEARD:
        assert wait_until(lambda d=device: _lines(live_station.agents[d], session_id, "live_end"), 10)
        assert _lines(live_station.agents[device], session_id, "live_end")[0]["cause"] == "stopped"
    assert not [p for p in live_station.agents[ELSEWHERE].plays() if p.get("session_id") == session_id]

    sent = _sent_onsets(officer)
    assert len(sent) >= 2, sent
    heard = []
    for device in HEARD:
        agent = live_station.agents[device]
        heard.append(matched(sent, live_onsets(agent.plays_dir, agent.plays(), session_id)))
    both = [(a, b, s) for s, a, b in zip(sent, *heard, strict=True) if a is not None and b is not None]
    assert len(both) >= 2, (sent, heard)
    for a, b, s in both:
        assert 0 < a - s < LATENCY_BOUND_S and 0 < b - s < LATENCY_BOUND_S, (a - s, b - s)
        assert abs(a - b) < SKEW_BOUND_S, abs(a - b)
    status, stored = live_station.api("GET", f"/api/live/{session_id}")
    assert status == 200 and stored["devices"] == sorted(HEARD) and stored["end_reason"] == "stopped", stored


def test_an_alert_preempts_live_and_a_dropped_officer_ends_it(
    officer: Page, live_station: LiveStation
) -> None:
    session_id = _go_live(officer, "Họp dân khẩn")
    first = HEARD[0]
    agent = live_station.agents[first]
    assert wait_until(lambda: _lines(agent, session_id, "live"), 10)
    status, alert = live_station.api(
        "POST", "/api/alerts", {"text": "Nước lên nhanh, sơ tán.", "zones": [ZONE], "repeat": 1}
    )
    assert status == 201, alert

    def interrupted() -> list[dict[str, Any]]:
        return [p for p in _lines(agent, session_id, "live_end") if p["cause"] == "interrupted"]

    assert wait_until(interrupted, 10), agent.plays()[-4:]

    # The alert's line is written when its siren starts, a moment after the live line it cut.
    def alert_plays() -> list[dict[str, Any]]:
        return [p for p in agent.plays() if p.get("kind") == "alert"]

    assert wait_until(alert_plays, 10), agent.plays()[-4:]
    assert alert_plays()[0]["started_at"] >= interrupted()[0]["started_at"]
    expect(officer.locator("#live-state")).to_contain_text("Cảnh báo khẩn cấp", timeout=10_000)
    # The alert over, the next renewal brings the loudspeaker back to the session.
    assert wait_until(lambda: len(_lines(agent, session_id, "live")) >= 2, 40), agent.plays()[-4:]

    dropped_at = time.time()
    officer.context.close()  # the phone lost the page: no "Dừng phát", the socket just goes
    for device in HEARD:
        ended = _ended_after(live_station.agents[device], session_id, dropped_at)
        assert wait_until(ended, DROP_S + 8), live_station.agents[device].plays()[-3:]
        assert ended()[0]["ended_at"] - dropped_at < DROP_S + 6
    status, stored = live_station.api("GET", f"/api/live/{session_id}")
    assert stored["end_reason"] == "dropped", stored

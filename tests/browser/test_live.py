"""The live page's own parts: who may open it, the microphone and its meter, the HTTPS advice, the form,
and what the page sends and shows over the live WebSocket.

One session runs for real from the page (the station's snapserver, the package's agent joining); the
timing of live audio across loudspeakers is tested in tests/live. Refusals, a dropped session and the
wire format (Int16 little-endian, 16 kHz, 20 ms a message) are checked with the station's side of the
two live POSTs and the socket played by Playwright's routing. The page on a station with live
broadcasting off: tests/api/test_live_pages.py.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, StorageState, expect

from tests.browser.harness import APPROVER, LIVE_DEVICE, LIVE_ZONE, BrowserStation
from tests.browser.live_side import FRAME_BYTES, StationSide, peak_and_crossings, until
from tests.browser.mic import mic_browser, mic_browsing
from tests.browser.ui import TIMEOUT_MS, Browsing, csrf_token, login, unlabelled_controls
from tests.support.snapcast import require_snapserver
from tests.support.station import wait_until

INSECURE_HOST = "loa-xa.test"  # resolves to 127.0.0.1 inside the browser, but is not "localhost": no mic
DEFAULT_HTTPS_PORT = 8443
PHONE = {"width": 375, "height": 740}
_SIDEWAYS_JS = "document.documentElement.scrollWidth"

# Sample the meter every 40 ms for 1.6 s: the fake mic has a 0.3 s tone every 1.3 s.
_METER_JS = """
() => new Promise(resolve => {
  const meter = document.getElementById("live-meter"), seen = [];
  const timer = setInterval(() => seen.push(meter.value), 40);
  setTimeout(() => { clearInterval(timer); resolve(seen); }, 1600);
})
"""


@pytest.fixture(scope="module")
def mic(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A Chromium whose microphone plays tone bursts; INSECURE_HOST reaches the station over plain HTTP."""
    with mic_browser(
        browser, tmp_path_factory, [f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"]
    ) as b:
        yield b


@pytest.fixture
def mic_pages(
    request: pytest.FixtureRequest, mic: Browser, station: BrowserStation, sessions: dict[str, StorageState]
) -> Iterator[Browsing]:
    with mic_browsing(request, mic, station, sessions) as session:
        yield session


def test_an_editor_cannot_open_the_live_page_or_start(editor: Page) -> None:
    editor.goto("/bulletins")
    expect(editor.get_by_role("link", name="Phát trực tiếp")).to_have_count(0)
    token = csrf_token(editor)
    response = editor.goto("/live")
    assert response is not None and response.status == 403
    expect(editor.get_by_role("heading", name="Không có quyền truy cập")).to_be_visible()
    expect(editor.get_by_text("chỉ dành cho người duyệt tin và quản trị viên")).to_be_visible()
    for path in ("/live/start", "/live/some-session/stop"):
        forged = editor.request.post(path, form={"csrf_token": token, "zones": "*"})
        assert forged.status == 403, (path, forged.status)
        assert "người duyệt tin" in forged.json()["detail"]


def test_the_meter_moves_with_the_microphone(mic_pages: Browsing, station: BrowserStation) -> None:
    page = mic_pages.open(APPROVER)
    page.goto("/bulletins")
    page.get_by_role("link", name="Phát trực tiếp").click()
    expect(page.get_by_role("heading", name="Phát trực tiếp", level=1)).to_be_visible()
    assert unlabelled_controls(page) == []
    expect(page.locator("#insecure")).to_be_hidden()

    page.get_by_role("button", name="Thử micro").click()
    expect(page.locator("#live")).to_have_attribute("data-mic", "on")
    expect(page.locator("#live-hint")).to_contain_text("Micro đã sẵn sàng")
    levels = page.evaluate(_METER_JS)
    assert max(levels) > 0.3, levels  # a tone burst (half of full scale)
    assert min(levels) < 0.05, levels  # and the silence between bursts
    mic_pages.screenshot(page, "pages/live")


def test_the_live_form_zones_and_refusals(mic_pages: Browsing, station: BrowserStation) -> None:
    page = mic_pages.open(APPROVER)
    page.goto("/live")
    every, zone = page.get_by_label("Mọi vùng"), page.get_by_label(LIVE_ZONE, exact=True)
    zone.check()
    every.check()  # "Mọi vùng" and single zones exclude each other
    expect(zone).not_to_be_checked()
    zone.check()
    expect(every).not_to_be_checked()

    token = csrf_token(page)
    nothing = page.request.post("/live/start", form={"csrf_token": token, "title": "Thử"})
    assert nothing.status == 422 and "Mọi vùng" in nothing.json()["detail"]
    forged = page.request.post("/live/start", form={"csrf_token": "sai", "zones": "*"})
    assert forged.status == 403


def test_plain_http_explains_that_the_microphone_needs_https(
    mic: Browser, mic_pages: Browsing, station: BrowserStation
) -> None:
    https_port = int(station.process.env.get("BROADCAST_HTTPS_PORT", DEFAULT_HTTPS_PORT))
    base = station.url.replace("127.0.0.1", INSECURE_HOST)
    context = mic.new_context(base_url=base, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    mic_pages.contexts.append(context)  # closed (and screenshotted on failure) with the others
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    login(page, APPROVER)  # the cookie of 127.0.0.1 does not belong to this host
    assert page.evaluate("window.isSecureContext") is False
    page.goto("/live")
    advice = page.locator("#insecure")
    expect(advice).to_be_visible()
    expect(advice).to_contain_text("HTTPS")
    if https_port:
        link = page.locator("#https-link")
        expect(link).to_have_attribute("href", f"https://{INSECURE_HOST}:{https_port}/live")
    else:
        expect(page.locator("#https-off")).to_be_visible()
    expect(page.get_by_role("button", name="Bắt đầu phát")).to_be_disabled()
    expect(page.get_by_role("button", name="Thử micro")).to_be_disabled()
    mic_pages.screenshot(page, "live-insecure")

    page.goto("/bulletins")  # the recorder says the same, briefly, and stays hidden
    expect(page.locator("#rec-insecure")).to_be_visible()
    expect(page.locator("#recorder")).to_be_hidden()


def test_the_page_streams_the_microphone_and_follows_the_station(mic_pages: Browsing) -> None:
    page = mic_pages.open(APPROVER, viewport=PHONE, is_mobile=True, has_touch=True)  # a phone
    side = StationSide()
    side.install(page)
    page.goto("/live")
    page.get_by_label(LIVE_ZONE, exact=True).check()
    page.get_by_label("Tiêu đề (không bắt buộc)").fill("Nước lên")
    page.get_by_role("button", name="Bắt đầu phát").click()

    state = page.locator("#live-state")
    expect(state).to_contain_text("Đang phát chuông báo… chờ tín hiệu ĐANG PHÁT rồi hãy nói")
    expect(page.locator("#on-air")).to_be_hidden()  # not before the station says so
    (sent,) = side.starts
    assert sent["zones"] == [LIVE_ZONE] and sent["title"] == ["Nước lên"] and sent["csrf_token"][0], sent

    until(page, lambda: len(side.frames) >= 90)  # 1.8 s: at least one tone burst
    assert {len(f) for f in side.frames} == {FRAME_BYTES}
    loud = [peak_and_crossings(f) for f in side.frames if peak_and_crossings(f)[0] > 0.2]
    assert loud, [round(peak_and_crossings(f)[0], 3) for f in side.frames]
    assert all(36 <= c <= 44 for _, c in loud[1:-1]), loud  # 1 kHz: 40 zero crossings in 20 ms

    side.say("on_air", 2, 1.5)
    on_air = page.locator("#on-air")
    expect(on_air).to_be_visible()
    expect(on_air).to_contain_text("ĐANG PHÁT TRỰC TIẾP")
    expect(page.locator("#live-devices")).to_have_text("2")
    expect(page.locator("#live-elapsed")).to_have_text("0:02", timeout=3_000)  # counts on between messages
    expect(page.locator("#live")).to_have_attribute("data-state", "on_air")
    assert page.evaluate(_SIDEWAYS_JS) <= PHONE["width"]  # nothing to scroll sideways on a phone
    stop = page.get_by_role("button", name="Dừng phát").bounding_box()
    assert stop is not None and stop["width"] > PHONE["width"] / 2, stop  # big enough to hit at once
    mic_pages.screenshot(page, "pages/live-on-air-phone")

    page.get_by_role("button", name="Dừng phát").click()
    expect(state).to_have_text("Đã dừng phát.")
    assert side.stops and side.stops[0]["csrf_token"] == sent["csrf_token"]
    until(page, lambda: side.closed)
    assert side.closed[0] == 1000
    expect(on_air).to_be_hidden()
    expect(page.get_by_role("button", name="Bắt đầu phát")).to_be_enabled()


def test_the_page_shows_a_refusal_and_why_a_broadcast_ended(mic_pages: Browsing) -> None:
    page = mic_pages.open(APPROVER)
    side = StationSide(refuse="Đang có một buổi phát trực tiếp khác tới vùng này.")
    side.install(page)
    page.goto("/live")
    page.get_by_label("Mọi vùng").check()
    page.get_by_label("Tiêu đề (không bắt buộc)").press("Enter")  # only the button starts a broadcast
    page.wait_for_timeout(300)
    assert side.starts == []
    start = page.get_by_role("button", name="Bắt đầu phát")
    start.click()
    state = page.locator("#live-state")
    expect(state).to_have_text(side.refuse)
    assert side.starts[0]["zones"] == ["*"]

    side.refuse = ""
    start.click()
    until(page, lambda: side.socket is not None)
    side.say("on_air", 1, 0.0)
    expect(page.locator("#on-air")).to_be_visible()
    side.say("ended", 1, 4.0, "Không nhận được tiếng từ micro quá 3 giây.")
    expect(state).to_have_text(
        "Buổi phát trực tiếp đã kết thúc. Lý do: Không nhận được tiếng từ micro quá 3 giây."
    )
    expect(page.locator("#on-air")).to_be_hidden()
    expect(start).to_be_visible()

    side.socket = None  # a socket the station refuses (not the officer's session): a Vietnamese reason
    start.click()
    until(page, lambda: side.socket is not None)
    side.hang_up(1008, "not allowed")
    expect(state).to_contain_text("trạm không nhận tiếng từ phiên đăng nhập này")


def test_a_real_session_from_the_page_goes_on_air_and_stops(
    mic_pages: Browsing, station: BrowserStation
) -> None:
    require_snapserver(client=True)
    page = mic_pages.open(APPROVER)
    page.goto("/live")
    live = page.locator("#live")
    expect(live).to_have_attribute("data-available", "yes")
    page.get_by_label(LIVE_ZONE, exact=True).check()
    page.get_by_label("Tiêu đề (không bắt buộc)").fill("Thử phát trực tiếp")
    page.get_by_role("button", name="Bắt đầu phát").click()
    expect(page.locator("#live-state")).to_contain_text("chờ tín hiệu ĐANG PHÁT")
    on_air = page.locator("#on-air")
    expect(on_air).to_be_visible(timeout=30_000)  # after the chime, once the zone's speaker joined
    expect(page.locator("#live-devices")).to_have_text("1")
    session_id = live.get_attribute("data-session")
    assert session_id

    page.get_by_role("button", name="Dừng phát").click()
    expect(page.locator("#live-state")).to_contain_text("Đã dừng phát.")
    expect(on_air).to_be_hidden()
    agent = station.agents[LIVE_DEVICE]

    def left() -> list[dict[str, object]]:
        return [p for p in agent.plays() if p.get("session_id") == session_id and p["kind"] == "live_end"]

    assert wait_until(left, timeout=15), agent.plays()[-3:]
    assert left()[0]["cause"] == "stopped"
    entry = page.locator(f"[data-live-id='{session_id}']")

    def archived() -> bool:  # the recording is stored in the background after the end
        page.reload()
        return entry.locator("audio").count() == 1

    assert wait_until(archived, timeout=20)
    expect(entry).to_contain_text("«Thử phát trực tiếp»")
    expect(entry).to_contain_text("1 cụm loa")
    src = entry.locator("audio").get_attribute("src")
    assert src is not None and src.startswith("/clips/")
    archive = page.request.get(src)
    assert archive.status == 200 and archive.headers["content-type"] == "audio/mpeg"


# A 1 kHz sine at 44.1 kHz in 960-sample frames through the capture's resampler: 48 kHz frames come out.
_RESAMPLE_JS = """
() => {
  const out = [], from = 44100, frames = 46;  // 1 s of input
  const feed = LoaCapture.resampler(from, frame => out.push(Array.from(frame)));
  for (let f = 0; f < frames; f++) {
    const frame = new Float32Array(960);
    for (let i = 0; i < 960; i++) frame[i] = 0.5 * Math.sin(2 * Math.PI * 1000 * (f * 960 + i) / from);
    feed(frame);
  }
  return out;
}
"""


def test_a_microphone_at_another_rate_is_resampled_to_48k(editor: Page) -> None:
    editor.goto("/bulletins")  # the bulletin form loads capture.js too (for "Ghi âm")
    frames = editor.evaluate(_RESAMPLE_JS)
    assert len(frames) == 46 * 960 * 48000 // 44100 // 960  # every whole 48 kHz frame, no more
    assert {len(f) for f in frames} == {960}
    for frame in frames:
        pcm = struct.pack(f"<{len(frame)}h", *(round(v * 32767) for v in frame))
        peak, crossings = peak_and_crossings(pcm)
        assert 0.49 < peak <= 0.5 and 39 <= crossings <= 41, (peak, crossings)  # still 1 kHz at 48 kHz

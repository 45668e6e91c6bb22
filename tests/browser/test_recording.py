"""Recording in the browser, approval and scheduled play of the recording, end to end.

The editor records with Chromium's fake microphone (tone bursts), listens back, saves: the WAV the browser
made goes through the ordinary upload path. An approver approves it, the editor schedules it seconds
ahead, and the real agent plays it at that second (its file sink keeps the played clip).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, StorageState, expect

from tests.browser.harness import EDITOR, LIVE_DEVICE, LIVE_ZONE, BrowserStation, form_time, local_now
from tests.browser.mic import mic_browser, mic_browsing
from tests.browser.ui import Browsing, path_is, unlabelled_controls
from tests.support.station import wait_until

TITLE = "Thông báo ghi âm trên trình duyệt"
RECORD_S = 2  # what the recorder's clock shows when the editor stops
PHONE = {"width": 375, "height": 740}  # the whole recording is done on a phone-sized screen

# The file the recorder put into the form's file input: its WAV header and what the samples hold.
_WAV_JS = """
async input => {
  const file = input.files[0], buf = await file.arrayBuffer(), v = new DataView(buf);
  const tag = at => String.fromCharCode(...new Uint8Array(buf, at, 4));
  const count = (buf.byteLength - 44) / 2;
  let peak = 0, quiet = 0;
  for (let i = 0; i < count; i++) {
    const s = Math.abs(v.getInt16(44 + 2 * i, true)) / 32768;
    if (s > peak) peak = s;
    if (s < 0.01) quiet++;
  }
  return {name: file.name, type: file.type, riff: tag(0), wave: tag(8), format: v.getUint16(20, true),
          channels: v.getUint16(22, true), rate: v.getUint32(24, true), bits: v.getUint16(34, true),
          data: v.getUint32(40, true), size: buf.byteLength, peak: peak, quiet: quiet / count};
}
"""
_DURATION_JS = """
audio => new Promise((resolve, reject) => {
  const done = () => resolve(audio.duration);
  if (audio.readyState >= 1) return done();
  audio.addEventListener("loadedmetadata", done);
  audio.addEventListener("error", () => reject(new Error("media error " + audio.error.code)));
  setTimeout(() => reject(new Error("no metadata")), 5000);
})
"""


@pytest.fixture(scope="module")
def mic(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with mic_browser(browser, tmp_path_factory) as launched:
        yield launched


@pytest.fixture
def recorder_page(
    request: pytest.FixtureRequest, mic: Browser, station: BrowserStation, sessions: dict[str, StorageState]
) -> Iterator[Page]:
    """The editor's bulletin form in the fake-microphone browser, on a phone-sized screen."""
    with mic_browsing(request, mic, station, sessions) as session:
        yield session.open(EDITOR, viewport=PHONE, is_mobile=True, has_touch=True)


def test_record_in_the_browser_approve_and_play_it_on_schedule(
    recorder_page: Page, approver: Page, browsing: Browsing, station: BrowserStation
) -> None:
    editor = recorder_page
    editor.goto("/bulletins")
    recorder = editor.locator("#recorder")
    expect(recorder).to_be_visible()
    assert unlabelled_controls(editor) == []
    editor.get_by_label("Tiêu đề").fill(TITLE)
    editor.get_by_label(LIVE_ZONE).check()

    editor.get_by_role("button", name="Ghi âm", exact=True).click()
    expect(recorder).to_have_attribute("data-state", "recording")
    expect(editor.get_by_label("Nội dung")).not_to_have_attribute("required", re.compile(".*"))
    expect(editor.locator("#rec-time")).to_have_text(f"0:0{RECORD_S}", timeout=15_000)
    editor.get_by_role("button", name="Dừng ghi").click()
    expect(recorder).to_have_attribute("data-state", "done")
    expect(editor.get_by_role("button", name="Ghi lại")).to_be_visible()

    wav = editor.locator("#audio").evaluate(_WAV_JS)
    assert (wav["riff"], wav["wave"], wav["format"], wav["channels"]) == ("RIFF", "WAVE", 1, 1), wav
    assert (wav["rate"], wav["bits"], wav["type"]) == (16000, 16, "audio/wav"), wav
    assert wav["data"] == wav["size"] - 44 and re.fullmatch(r"ghi-am-\d{8}-\d{4}\.wav", wav["name"]), wav
    seconds = wav["data"] / 32000  # 16-bit at 16 kHz
    assert RECORD_S <= seconds < RECORD_S + 1.5, wav
    assert wav["peak"] > 0.2 and wav["quiet"] > 0.3, wav  # the tone bursts and the silence between them
    listened = editor.locator("#rec-playback").evaluate(_DURATION_JS)
    assert abs(listened - seconds) < 0.1, (listened, seconds)
    expect(editor.get_by_label("Nội dung")).not_to_have_attribute("required", re.compile(".*"))
    assert editor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    browsing.screenshot(editor, "bulletin-recorded-phone")

    editor.get_by_role("button", name="Gửi duyệt", exact=True).click()
    expect(editor).to_have_url(re.compile(r"/bulletins/\d+$"))
    bulletin_id = int(editor.url.rsplit("/", 1)[1])
    status, stored = station.api("GET", f"/api/bulletins/{bulletin_id}")
    assert status == 200 and stored["source"] == "upload" and stored["audio_url"], stored
    assert stored["duration_s"] > seconds, stored  # the chime comes first

    path = f"/bulletins/{bulletin_id}"
    approver.goto(path)
    approver.get_by_role("button", name="Duyệt bản tin này").click()
    expect(approver.locator(".status").first).to_have_text("Đã duyệt")
    approved = station.api("GET", path.replace("/bulletins", "/api/bulletins"))[1]
    sha = approved["audio_url"].rsplit("/", 1)[1].removesuffix(".mp3")

    agent = station.agents[LIVE_DEVICE]
    start = (local_now() + timedelta(seconds=10)).replace(microsecond=0)  # room for a slow, busy box
    editor.goto(path)
    editor.get_by_label("Một lần", exact=True).check()
    editor.get_by_label("Thời điểm phát (một lần)").fill(form_time(start))
    editor.get_by_role("button", name="Xếp lịch").click()
    expect(editor).to_have_url(path_is(path))

    def ours() -> list[dict[str, object]]:
        return [p for p in agent.plays() if p["clip_sha256"] == sha]

    assert wait_until(ours, timeout=40), station.process.log_tail()
    play = ours()[0]
    assert abs(float(str(play["started_at"])) - start.timestamp()) < 2, play
    assert abs(float(str(play["duration_s"])) - approved["duration_s"]) < 1, (play, approved)
    assert (agent.plays_dir / str(play["file"])).stat().st_size > 0  # the sink kept what it played
    assert wait_until(lambda: station.played(bulletin_id), timeout=15)  # and the station heard of it

"""Writing a bulletin, seeing how the machine will read it, and hearing the preview in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from broadcast.tts.normalize import normalize_text
from tests.browser.harness import LIVE_ZONE, TEXT, BrowserStation
from tests.browser.ui import Browsing, path_is

# The announcer's reading of TEXT; the normaliser's own output must contain it.
READING = "ngày mười lăm tháng năm lúc bảy giờ ba mươi"

_PLAY_JS = """
audio => new Promise((resolve, reject) => {
  const seen = [];
  const timer = setTimeout(() => reject(new Error("no progress; events: " + seen.join(","))), 8000);
  audio.addEventListener("playing", () => seen.push("playing"));
  audio.addEventListener("error", () => reject(new Error("media error " + audio.error.code)));
  audio.addEventListener("timeupdate", () => {
    seen.push("timeupdate");
    if (audio.currentTime > 0 && seen.includes("playing")) {
      clearTimeout(timer);
      resolve({currentTime: audio.currentTime, duration: audio.duration, paused: audio.paused});
    }
  });
  audio.play().catch(reject);
})
"""


def test_write_a_bulletin_and_see_its_spoken_form(
    editor: Page, browsing: Browsing, station: BrowserStation
) -> None:
    expected = normalize_text(TEXT)
    assert expected.startswith("Ủy ban nhân dân xã thông báo") and READING in expected

    editor.goto("/bulletins")
    editor.get_by_label("Tiêu đề").fill("Lịch tiêm chủng tháng 5")
    content = editor.get_by_label("Nội dung")
    content.fill(TEXT)
    expect(editor.locator("#count")).to_have_text(f"({len(TEXT)} ký tự)")  # live character count
    editor.get_by_role("button", name="Xem trước cách máy đọc").click()
    expect(editor.locator("#preview")).to_have_text(expected)
    expect(editor.locator("#preview-unknown")).to_be_hidden()  # UBND is known: no spelling warning
    editor.get_by_label(LIVE_ZONE).check()
    browsing.screenshot(editor, "bulletin-form")

    editor.get_by_role("button", name="Gửi duyệt", exact=True).click()
    expect(editor).to_have_url(re.compile(r"/bulletins/\d+$"))
    expect(editor.locator("#spoken")).to_have_text(expected)
    expect(editor.locator(".status").first).to_have_text("Chờ duyệt")
    browsing.screenshot(editor, "bulletin-detail")

    bulletin_id = int(editor.url.rsplit("/", 1)[1])
    status, stored = station.api("GET", f"/api/bulletins/{bulletin_id}")
    assert status == 200 and stored["spoken_text"] == expected
    assert stored["text"] == TEXT and stored["zones"] == [LIVE_ZONE]


def test_preview_player_really_plays(editor: Page, station: BrowserStation) -> None:
    bulletin = station.create_bulletin("Nghe thử trong trình duyệt")
    editor.goto(f"/bulletins/{bulletin['id']}")
    audio = editor.locator("audio")
    src = audio.get_attribute("src")
    assert src is not None and src == bulletin["audio_url"]

    clip = editor.request.get(src)  # with the officer's session, as the player fetches it
    assert clip.status == 200
    assert clip.headers["content-type"] == "audio/mpeg"
    body = clip.body()
    assert body[:3] == b"ID3" or body[0] == 0xFF, body[:8]

    state = audio.evaluate(_PLAY_JS)
    assert state["currentTime"] > 0 and not state["paused"]
    assert abs(state["duration"] - bulletin["duration_s"]) < 0.5, state


def test_unknown_abbreviation_is_warned_before_saving(editor: Page) -> None:
    editor.goto("/bulletins")
    editor.get_by_label("Nội dung").fill("Họp TKXQ tại nhà văn hoá thôn.")
    editor.get_by_role("button", name="Xem trước cách máy đọc").click()
    warning = editor.locator("#preview-unknown")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("TKXQ")
    expect(editor).to_have_url(path_is("/bulletins"))  # a preview saves nothing


def test_save_a_draft_then_send_it(editor: Page, station: BrowserStation) -> None:
    editor.goto("/bulletins")
    editor.get_by_label("Tiêu đề").fill("Bản nháp họp dân")
    editor.get_by_label("Nội dung").fill("Tối nay họp dân tại nhà văn hoá.")
    editor.get_by_label(LIVE_ZONE).check()
    editor.get_by_role("button", name="Lưu nháp").click()
    expect(editor).to_have_url(re.compile(r"/bulletins/\d+$"))
    expect(editor.locator(".status").first).to_have_text("Bản nháp")
    expect(editor.locator("#draft-note")).to_contain_text("chỉ bạn thấy")
    bulletin_id = int(editor.url.rsplit("/", 1)[1])
    assert station.api("GET", f"/api/bulletins/{bulletin_id}")[1]["status"] == "unsent"

    editor.get_by_role("button", name="Gửi duyệt", exact=True).click()
    expect(editor.locator(".status").first).to_have_text("Chờ duyệt")
    expect(editor.locator("#history")).to_contain_text("Gửi duyệt")

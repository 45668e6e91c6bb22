"""Problems of a schedule are shown while the officer chooses the time, before anything is saved."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserStation, local_now
from tests.browser.ui import Browsing, path_is


def test_a_quiet_hours_time_is_pointed_out_before_saving(
    editor: Page, browsing: Browsing, station: BrowserStation
) -> None:
    bulletin = station.ready_bulletin("Lịch thu gom rác")
    path = f"/bulletins/{bulletin['id']}"
    status, slots_before = station.api("GET", "/api/slots")
    assert status == 200

    editor.goto(path)
    editor.get_by_label("Hằng ngày", exact=True).check()
    editor.get_by_label("Giờ phát hằng ngày").fill(station.quiet_start)  # inside the station's quiet hours
    region = editor.locator("[data-slot-check-output]")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_contain_text("Cần sửa trước khi lưu")
    expect(region).to_contain_text(f"Lịch phát lúc {station.quiet_start}")
    expect(region).to_contain_text("giờ yên tĩnh ban đêm")
    expect(editor).to_have_url(path_is(path))  # nothing was submitted
    assert station.api("GET", "/api/slots")[1] == slots_before
    browsing.screenshot(editor, "schedule-quiet-hours-problem")

    fine = (local_now() + timedelta(hours=7)).strftime("%H:%M")
    editor.get_by_label("Giờ phát hằng ngày").fill(fine)
    expect(region).to_contain_text("Không thấy vấn đề gì")
    expect(region).not_to_contain_text("giờ yên tĩnh")
    editor.get_by_role("button", name="Xếp lịch").click()
    expect(editor).to_have_url(path_is(path))
    # The slot list's item starts with the rule (the history's "Đã xếp lịch phát hằng ngày lúc …" does not).
    slot = editor.get_by_role("listitem").filter(has_text=re.compile(rf"^\s*Hằng ngày lúc {fine}"))
    expect(slot).to_be_visible()

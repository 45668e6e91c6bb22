"""Placing an approved bulletin in the programme and finding it in the week view."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.harness import LIVE_ZONE, BrowserStation, form_time, local_now
from tests.browser.ui import Browsing, path_is

DAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def test_schedule_an_approved_bulletin_and_see_it_in_the_week(
    editor: Page, browsing: Browsing, station: BrowserStation
) -> None:
    title = "Lịch cắt điện tuần này"
    bulletin = station.ready_bulletin(title, "Điện lực thông báo cắt điện từ 7h đến 11h30 ngày 20/6.")
    start = (local_now() + timedelta(hours=2)).replace(microsecond=0)

    editor.goto(f"/bulletins/{bulletin['id']}")
    editor.get_by_label("Một lần", exact=True).check()
    editor.get_by_label("Thời điểm phát (một lần)").fill(form_time(start))
    editor.get_by_role("button", name="Xếp lịch").click()
    expect(editor).to_have_url(path_is(f"/bulletins/{bulletin['id']}"))
    # The officer is told what was booked (when, where, next play); the history says it too.
    expect(editor.locator("#scheduled")).to_contain_text(f"Đã xếp lịch phát một lần lúc {start:%H:%M}")
    expect(editor.locator("#scheduled")).to_contain_text(f"Lần phát tới: {start:%H:%M}")
    expect(editor.locator("#history")).to_contain_text("Đã xếp lịch phát")
    expect(editor.get_by_role("listitem").filter(has_text=re.compile(r"^Một lần lúc"))).to_contain_text(
        f"{start:%H:%M:%S %d/%m/%Y} — vùng {LIVE_ZONE}"
    )

    editor.get_by_role("link", name="Chương trình").click()
    expect(editor).to_have_url(path_is("/programme"))
    editor.get_by_label("Cụm loa").select_option(LIVE_ZONE)
    editor.get_by_role("button", name="Xem").click()
    day = editor.get_by_role("heading", name=f"{DAY_NAMES[start.weekday()]} {start:%d/%m}")
    expect(day).to_be_visible()
    # The day's table (the heading's next sibling) lists the item at its start time.
    row = day.locator("xpath=following-sibling::table[1]").get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text(f"{start:%H:%M:%S}")
    expect(row).to_contain_text("Bản tin")
    expect(row).to_contain_text("Thường")
    slots = editor.get_by_role("row").filter(has_text=f"Một lần {start:%H:%M %d/%m/%Y}")
    expect(slots).to_contain_text(title)
    browsing.screenshot(editor, "programme")

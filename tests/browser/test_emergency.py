"""The emergency page: the first submit only asks for confirmation, going back sends nothing."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.harness import APPROVER, LIVE_DEVICE, LIVE_ZONE, SPARE_ZONE, BrowserStation
from tests.browser.ui import Browsing, path_is
from tests.support.station import wait_until

ALERT = "Bão số 3 đổ bộ lúc 14h. Đề nghị bà con chằng chống nhà cửa, không ra khơi."


def _recent_alerts(page: Page) -> int:
    return page.locator("section", has_text="Cảnh báo gần đây").get_by_role("link").count()


def test_emergency_needs_a_second_click_and_going_back_sends_nothing(
    approver: Page, browsing: Browsing, station: BrowserStation
) -> None:
    agent = station.agents[LIVE_DEVICE]
    approver.goto("/bulletins")
    approver.get_by_role("link", name="CẢNH BÁO KHẨN CẤP").click()
    expect(approver).to_have_url(path_is("/emergency"))
    browsing.screenshot(approver, "emergency")
    before, plays_before = _recent_alerts(approver), len(agent.plays())

    approver.get_by_label("Nội dung cảnh báo").fill(ALERT)
    approver.get_by_label(LIVE_ZONE, exact=True).check()
    approver.get_by_label("Số lần lặp").fill("1")
    approver.get_by_role("button", name="Tiếp tục…").click()
    dialog = approver.get_by_role("alertdialog", name="Xác nhận phát cảnh báo")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(ALERT)
    expect(dialog).to_contain_text(f"Phát tới: {LIVE_ZONE}, lặp 1 lần.")
    browsing.screenshot(approver, "emergency-confirm")
    assert _recent_alerts(approver) == before  # the first submit sent nothing

    dialog.get_by_role("link", name="Quay lại, không phát").click()
    expect(approver.get_by_role("alertdialog")).to_have_count(0)
    expect(approver.get_by_label("Nội dung cảnh báo")).to_be_visible()
    assert _recent_alerts(approver) == before
    assert len(agent.plays()) == plays_before

    # The deliberate path: continue, then confirm; the alert reaches the live agent; cancel stops it.
    approver.get_by_label("Nội dung cảnh báo").fill(ALERT)
    approver.get_by_label(LIVE_ZONE, exact=True).check()
    approver.get_by_label("Số lần lặp").fill("1")
    approver.get_by_role("button", name="Tiếp tục…").click()
    approver.get_by_role("button", name="ĐÚNG, PHÁT CẢNH BÁO NGAY").click()
    expect(approver).to_have_url(re.compile(r"/emergency/\d+$"))
    expect(approver.get_by_role("heading", level=1)).to_contain_text("ĐANG PHÁT")
    expect(approver.locator("#progress")).to_contain_text("(1 đã nhận)", timeout=15_000)
    browsing.screenshot(approver, "emergency-sent")
    approver.get_by_role("button", name=re.compile("HUỶ CẢNH BÁO")).click()
    expect(approver.get_by_role("heading", level=1)).to_contain_text("ĐÃ HUỶ")


def test_a_finished_drill_says_it_is_over_and_stops_polling(
    approver: Page, browsing: Browsing, station: BrowserStation
) -> None:
    # One short repeat: a drill is over about test tone + speech + interval after it went out.
    body = {"text": "Diễn tập.", "zones": [SPARE_ZONE], "repeat": 1, "interval": 3, "test": True}
    status, alert = station.api("POST", "/api/alerts", APPROVER, body)
    assert status == 201 and alert["test"], alert
    path = f"/emergency/{alert['id']}"

    def speech_done() -> bool:
        return bool(
            station.api("GET", f"/api/alerts/{alert['id']}", APPROVER)[1]["speech_status"] != "pending"
        )

    assert wait_until(speech_done, timeout=30), "the drill's speech never finished"
    approver.goto(path)
    heading = approver.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Báo động thử")
    expect(heading).to_contain_text("ĐANG PHÁT")
    expect(approver.locator("#alert-refresh")).to_have_count(1)  # on the air: the page follows it

    def over() -> bool:  # the page, not the test, decides when it has played out
        approver.goto(path)
        return "ĐÃ PHÁT XONG" in (heading.text_content() or "")

    assert wait_until(over, timeout=30, interval=1.0)
    expect(approver.locator("#alert-over")).to_contain_text("đã kết thúc")
    expect(approver.locator("#alert-refresh")).to_have_count(0)  # no more reloading every 3 s
    expect(approver.get_by_role("button", name=re.compile("HUỶ CẢNH BÁO"))).to_have_count(0)
    browsing.screenshot(approver, "alert-finished")
    approver.goto("/emergency")
    # Anchored: "Số 3" must not match another alert's "Bão số 3".
    recent = approver.locator("#recent-alerts li", has_text=re.compile(rf"^\s*Số {alert['id']}\b"))
    expect(recent).to_contain_text("[Báo động thử]")
    expect(recent).to_contain_text("Đã phát xong")

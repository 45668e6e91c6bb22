"""Bad input in the forms: a readable Vietnamese message, what the officer typed kept, nothing stored."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.harness import LIVE_ZONE, BrowserStation, form_time, local_now
from tests.browser.ui import Browsing, path_is

HUGE = ("Thông báo của Ủy ban nhân dân xã về lịch tiêm chủng. " * 2000).strip()  # > 100 kB


def _bulletin_form(page: Page, title: str, text: str) -> None:
    page.goto("/bulletins")
    page.get_by_label("Tiêu đề").fill(title)
    page.get_by_label("Nội dung").fill(text)
    page.get_by_label(LIVE_ZONE, exact=True).check()
    page.get_by_role("button", name="Gửi duyệt", exact=True).click()


def test_empty_bulletin_text(editor: Page, station: BrowserStation) -> None:
    before = station.bulletin_count()
    _bulletin_form(editor, "Bản tin trống", "")
    content = editor.get_by_label("Nội dung")
    # The browser itself stops an empty required field; nothing reaches the server.
    assert content.evaluate("el => el.validity.valueMissing")
    expect(editor.get_by_role("alert")).to_have_count(0)

    _bulletin_form(editor, "Bản tin trống", "   \n   ")  # passes `required`, not the server
    expect(editor.get_by_role("alert")).to_have_text("Nội dung: không được để trống.")
    expect(editor.get_by_label("Tiêu đề")).to_have_value("Bản tin trống")
    expect(editor.get_by_label(LIVE_ZONE, exact=True)).to_be_checked()
    assert station.bulletin_count() == before


def test_oversized_bulletin_text_is_refused_and_kept(
    editor: Page, browsing: Browsing, station: BrowserStation
) -> None:
    assert len(HUGE.encode()) > 100_000
    before = station.bulletin_count()
    _bulletin_form(editor, "Bản tin quá dài", HUGE)
    expect(editor.get_by_role("alert")).to_contain_text(f"Nội dung: quá dài ({len(HUGE)} ký tự, tối đa")
    assert editor.get_by_label("Nội dung").input_value() == HUGE
    expect(editor.get_by_label("Tiêu đề")).to_have_value("Bản tin quá dài")
    browsing.screenshot(editor, "bulletin-form-error")
    assert station.bulletin_count() == before


def test_bad_schedule_times_are_explained_and_kept(editor: Page, station: BrowserStation) -> None:
    bulletin = station.ready_bulletin("Lịch sai giờ")
    path = f"/bulletins/{bulletin['id']}"
    editor.goto(path)
    past = form_time(local_now() - timedelta(days=1))
    editor.get_by_label("Một lần", exact=True).check()
    editor.get_by_label("Thời điểm phát (một lần)").fill(past)
    editor.get_by_role("button", name="Xếp lịch").click()
    expect(editor.get_by_role("alert")).to_contain_text("Thời điểm phát đã qua")
    expect(editor.get_by_label("Thời điểm phát (một lần)")).to_have_value(past)

    editor.get_by_label("Hằng ngày", exact=True).check()
    editor.get_by_label("Giờ phát hằng ngày").fill(station.quiet_start)
    editor.get_by_role("button", name="Xếp lịch").click()
    expect(editor.get_by_role("alert")).to_contain_text("giờ yên tĩnh")
    expect(editor.get_by_label("Giờ phát hằng ngày")).to_have_value(station.quiet_start)
    expect(editor.get_by_label("Hằng ngày", exact=True)).to_be_checked()
    expect(editor.get_by_role("heading", name="Lịch đã xếp")).to_have_count(0)  # nothing stored


def test_stream_relay_in_quiet_hours_is_explained_and_kept(approver: Page, station: BrowserStation) -> None:
    approver.goto(f"/programme?zone={LIVE_ZONE}")
    approver.get_by_label("Tên chương trình").fill("Thời sự VOV1")
    approver.get_by_label("Địa chỉ luồng").fill("http://127.0.0.1:9/vov1.mp3")
    start = station.quiet_start
    approver.get_by_label("Giờ bắt đầu").fill(start)
    approver.get_by_label("Thời lượng (phút)").fill("30")
    approver.get_by_role("button", name="Thêm tiếp sóng").click()
    expect(approver.get_by_role("alert")).to_contain_text("giờ yên tĩnh")
    expect(approver.get_by_label("Tên chương trình")).to_have_value("Thời sự VOV1")
    expect(approver.get_by_label("Địa chỉ luồng")).to_have_value("http://127.0.0.1:9/vov1.mp3")
    expect(approver.get_by_label("Giờ bắt đầu")).to_have_value(start)


def test_blank_emergency_text_is_explained(approver: Page) -> None:
    approver.goto("/emergency")
    approver.get_by_label("Nội dung cảnh báo").fill("   ")
    approver.get_by_label(LIVE_ZONE, exact=True).check()
    approver.get_by_role("button", name="Tiếp tục…").click()
    expect(approver.get_by_role("alert")).to_have_text("Hãy nhập nội dung cảnh báo.")
    expect(approver.get_by_role("alertdialog")).to_have_count(0)  # no confirmation step for nothing
    expect(approver.get_by_label(LIVE_ZONE, exact=True)).to_be_checked()


def test_bad_dictionary_entry_is_explained_and_kept(editor: Page) -> None:
    editor.goto("/dictionary")
    editor.get_by_label("Từ viết tắt").fill("H T X")
    editor.get_by_label("Cách đọc").fill("hợp tác xã")
    editor.get_by_role("button", name="Lưu").click()
    expect(editor).to_have_url(path_is("/dictionary"))
    expect(editor.get_by_role("alert")).to_contain_text("Từ viết tắt không hợp lệ")
    expect(editor.get_by_label("Từ viết tắt")).to_have_value("H T X")
    expect(editor.get_by_label("Cách đọc")).to_have_value("hợp tác xã")

"""Labels on every control of the main pages, keyboard-only use, a phone-sized screen; screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.harness import EDITOR, LIVE_ZONE, BrowserStation
from tests.browser.ui import Browsing, path_is, unlabelled_controls

PHONE = {"width": 390, "height": 844}


def test_every_control_on_the_main_pages_has_a_label(
    approver: Page, browsing: Browsing, station: BrowserStation
) -> None:
    bulletin = station.create_bulletin("Kiểm tra nhãn")
    pages = {
        "bulletins": "/bulletins",
        "bulletin-detail": f"/bulletins/{bulletin['id']}",
        "approvals": "/approvals",
        "programme": "/programme",
        "devices": "/devices",
        "emergency": "/emergency",
        "dictionary": "/dictionary",
        "reports": "/reports",
    }
    optional = {"approvals", "reports"}  # pages other work adds; checked once they exist
    problems: dict[str, list[str]] = {}
    for name, path in pages.items():
        response = approver.goto(path)
        assert response is not None
        if name in optional and response.status == 404:
            continue
        assert response.status == 200, (path, response.status)
        expect(approver.locator("html")).to_have_attribute("lang", "vi")
        # The emergency page is one click away from every page.
        expect(approver.get_by_role("link", name="CẢNH BÁO KHẨN CẤP")).to_be_visible()
        problems[path] = unlabelled_controls(approver)
        browsing.screenshot(approver, f"pages/{name}")

    anonymous = browsing.open()
    anonymous.goto("/login")
    problems["/login"] = unlabelled_controls(anonymous)
    browsing.screenshot(anonymous, "pages/login")
    assert {path: found for path, found in problems.items() if found} == {}


def test_bulletin_form_with_the_keyboard_only(editor: Page, station: BrowserStation) -> None:
    editor.goto("/bulletins")
    title = editor.get_by_label("Tiêu đề")
    for _ in range(20):  # from the top of the page, Tab through the header to the first field
        if title.evaluate("el => el === document.activeElement"):
            break
        editor.keyboard.press("Tab")
    expect(title).to_be_focused()
    editor.keyboard.type("Họp dân thôn 1")
    editor.keyboard.press("Tab")
    expect(editor.get_by_label("Nội dung")).to_be_focused()
    editor.keyboard.type("Tối nay 19h30 họp dân tại nhà văn hoá thôn 1.")
    editor.keyboard.press("Tab")
    expect(editor.get_by_role("button", name="Xem trước cách máy đọc")).to_be_focused()
    editor.keyboard.press("Enter")  # buttons work from the keyboard too
    expect(editor.locator("#preview")).to_contain_text("mười chín giờ ba mươi")
    editor.keyboard.press("Tab")
    expect(editor.get_by_label("Thường", exact=True)).to_be_focused()  # the checked priority
    editor.keyboard.press("Tab")
    zone = editor.get_by_label(LIVE_ZONE, exact=True)
    expect(zone).to_be_focused()
    editor.keyboard.press("Space")
    expect(zone).to_be_checked()
    while not editor.get_by_role("button", name="Gửi duyệt", exact=True).evaluate(
        "el => el === document.activeElement"
    ):
        editor.keyboard.press("Tab")  # past any other zones and the engine choice
        assert editor.evaluate("document.activeElement.form !== null"), "focus left the form"
    editor.keyboard.press("Enter")
    expect(editor).to_have_url(re.compile(r"/bulletins/\d+$"))
    expect(editor.get_by_role("heading", name="Họp dân thôn 1")).to_be_visible()
    bulletin_id = int(editor.url.rsplit("/", 1)[1])
    assert station.api("GET", f"/api/bulletins/{bulletin_id}")[1]["zones"] == [LIVE_ZONE]


def test_bulletin_form_fits_a_phone(browsing: Browsing) -> None:
    phone = browsing.open(EDITOR, viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto("/bulletins")
    expect(phone).to_have_url(path_is("/bulletins"))
    for control in (
        phone.get_by_label("Tiêu đề"),
        phone.get_by_label("Nội dung"),
        phone.get_by_role("button", name="Gửi duyệt", exact=True),
    ):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    # Nothing makes the officer scroll sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    browsing.screenshot(phone, "bulletin-form-phone")

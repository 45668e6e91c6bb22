"""Logging in and out in a real browser, with the mouse and with the keyboard only."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import EDITOR
from tests.browser.ui import Browsing, path_is


def test_login_and_logout(browsing: Browsing) -> None:
    page = browsing.open()
    page.goto("/bulletins")
    expect(page).to_have_url(path_is("/login"))  # pages need a session
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    browsing.screenshot(page, "login")

    page.get_by_label("Tên đăng nhập").fill(EDITOR.name)
    page.get_by_label("Mật khẩu").fill(EDITOR.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(path_is("/"))  # the officer's desk
    expect(page.get_by_text(f"{EDITOR.name} (")).to_be_visible()
    expect(page.get_by_role("heading", name="Bàn làm việc")).to_be_visible()
    page.goto("/bulletins")
    expect(page.get_by_role("heading", name="Danh sách bản tin")).to_be_visible()
    browsing.screenshot(page, "bulletins")

    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(path_is("/login"))
    page.goto("/devices")
    expect(page).to_have_url(path_is("/login"))  # the session really ended


def test_failed_login_says_why_in_vietnamese_and_keeps_the_name(browsing: Browsing) -> None:
    page = browsing.open()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(EDITOR.name)
    page.get_by_label("Mật khẩu").fill("khong-phai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()

    expect(page.get_by_role("alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    expect(page.get_by_label("Tên đăng nhập")).to_have_value(EDITOR.name)
    expect(page.get_by_label("Mật khẩu")).to_have_value("")  # never echoed back
    browsing.screenshot(page, "login-failed")
    # Retyping only the password is enough.
    page.get_by_label("Mật khẩu").fill(EDITOR.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(path_is("/"))


def test_login_with_the_keyboard_only(browsing: Browsing) -> None:
    page = browsing.open()
    page.goto("/login")
    expect(page.get_by_label("Tên đăng nhập")).to_be_focused()  # autofocus: start typing at once
    page.keyboard.type(EDITOR.name)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mật khẩu")).to_be_focused()
    page.keyboard.type(EDITOR.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is("/"))

"""Approval by a second person: the editor who wrote a bulletin cannot approve it, an approver can."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.harness import BrowserStation
from tests.browser.ui import Browsing, csrf_token


def test_editor_cannot_approve_and_a_second_user_can(
    editor: Page, approver: Page, browsing: Browsing, station: BrowserStation
) -> None:
    bulletin = station.create_bulletin("Thông báo cần duyệt")
    path = f"/bulletins/{bulletin['id']}"

    editor.goto(path)
    expect(editor.locator(".status").first).to_have_text("Chờ duyệt")
    expect(editor.get_by_role("button", name="Duyệt bản tin này")).to_have_count(0)
    expect(editor.get_by_text("Bản tin đang chờ người duyệt")).to_be_visible()
    expect(editor.get_by_role("button", name="Xếp lịch")).to_have_count(0)  # not before approval
    # The server, not just the missing button, refuses: a forged post with the editor's session.
    forged = editor.request.post(f"{path}/approve", form={"csrf_token": csrf_token(editor)}, max_redirects=0)
    assert forged.status == 403, forged.status
    assert station.api("GET", f"/api/bulletins/{bulletin['id']}")[1]["status"] == "draft"

    approver.goto(path)
    expect(approver.get_by_text("Hãy nghe thử toàn bộ trước khi duyệt.")).to_be_visible()
    browsing.screenshot(approver, "approval")
    approver.get_by_role("button", name="Duyệt bản tin này").click()
    expect(approver.locator(".status").first).to_have_text("Đã duyệt")
    expect(approver.get_by_text("Đã duyệt lúc")).to_be_visible()
    assert station.api("GET", f"/api/bulletins/{bulletin['id']}")[1]["status"] == "ready"

    editor.reload()  # the editor now sees it approved and may place it in the programme
    expect(editor.locator(".status").first).to_have_text("Đã duyệt")
    expect(editor.get_by_role("button", name="Xếp lịch")).to_be_visible()

"""Drafts: "Lưu nháp" keeps a bulletin for its author, "Gửi duyệt" queues it; scheduling confirms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcast.bulletins import history as bulletin_history
from broadcast.bulletins import review as bulletin_review
from broadcast.bulletins import scheduling
from broadcast.scheduler.slots import SlotRule, zone
from tests.api.conftest import Api
from tests.api.workflow_support import APPROVER, EDITOR, web_client

GOOD = {"title": "Họp dân", "text": "Tối nay 19h30 họp dân tại nhà văn hoá thôn 1.", "zones": ["thon-1"]}


@pytest.mark.parametrize(
    ("status", "edit", "reject", "submit"),
    [("unsent", True, False, True), ("draft", True, True, False), ("rejected", True, False, True)],
)
def test_a_saved_draft_is_edited_and_sent_not_reviewed(
    status: str, edit: bool, reject: bool, submit: bool
) -> None:
    assert bulletin_review.can_edit(status) is edit
    assert bulletin_review.can_reject(status) is reject
    assert bulletin_review.can_submit(status) is submit


def test_scheduling_is_said_in_words() -> None:
    tz = "Asia/Ho_Chi_Minh"
    once = SlotRule(start_at=datetime(2026, 5, 15, 0, 30, tzinfo=UTC))  # 07:30 in Vietnam, a Friday
    assert scheduling.when_text(once, tz) == "một lần lúc 07:30 Thứ Sáu 15/05/2026"
    assert scheduling.when_text(SlotRule(daily_at="06:00"), tz) == "hằng ngày lúc 06:00"
    weekdays = SlotRule(daily_at="06:00", days=frozenset({0, 6}))
    assert scheduling.when_text(weekdays, tz) == "hằng ngày lúc 06:00 (Thứ Hai, Chủ nhật)"
    line = bulletin_history.describe(
        "scheduled", {"when": "hằng ngày lúc 06:00", "zones": ["Thôn 1"], "next": "06:00 Thứ Hai 18/05/2026"}
    )
    assert line == "Đã xếp lịch phát hằng ngày lúc 06:00 cho Thôn 1 (lần phát tới: 06:00 Thứ Hai 18/05/2026)"


def test_a_draft_waits_for_its_author_is_sent_later_and_scheduling_confirms(api: Api) -> None:
    saved = api.client.post("/api/bulletins", json={**GOOD, "draft": True}, headers=api.editor)
    assert saved.status_code == 201, saved.text
    draft = saved.json()
    assert draft["status"] == "unsent" and draft["audio_url"]  # read aloud: the author can listen
    # Only its author sees it: not in the approver's list or queue, not approvable, not found.
    assert api.client.get(f"/api/bulletins/{draft['id']}", headers=api.approver).status_code == 404
    listed = api.client.get("/api/bulletins", headers=api.approver).json()
    assert draft["id"] not in [b["id"] for b in listed]
    mine = api.client.get("/api/bulletins?status=unsent", headers=api.editor).json()
    assert [b["id"] for b in mine] == [draft["id"]]
    approver, _ = web_client(api, APPROVER)
    assert "Họp dân" not in approver.get("/approvals").text
    # The API without the flag keeps its contract: the bulletin waits for review.
    plain = api.client.post("/api/bulletins", json={**GOOD, "title": "Khác"}, headers=api.editor).json()
    assert plain["status"] == "draft"

    sent = api.client.post(f"/api/bulletins/{draft['id']}/submit", headers=api.editor)
    assert sent.status_code == 200 and sent.json()["status"] == "draft"
    again = api.client.post(f"/api/bulletins/{draft['id']}/submit", headers=api.editor)
    assert again.status_code == 409
    assert "Họp dân" in approver.get("/approvals").text
    history = api.client.get(f"/api/bulletins/{draft['id']}/history", headers=api.editor).json()
    assert [e["summary"] for e in history] == ["Lưu nháp", "Gửi duyệt"]

    # The web form: two buttons; then scheduling confirms and enters the history.
    editor, csrf = web_client(api, EDITOR)
    form = {"csrf_token": csrf, "title": "Nháp", "text": GOOD["text"], "zones": ["thon-1"]}
    saved = editor.post("/bulletins", data={**form, "action": "draft"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = editor.get(saved.headers["location"]).text
    assert "Bản nháp" in page and "Gửi duyệt" in page and "Gửi duyệt lại" not in page
    assert "/clips/" in page  # listen before sending
    draft_id = int(saved.headers["location"].rsplit("/", 1)[1])
    assert "Gửi duyệt ngay sau khi lưu" in editor.get(f"/bulletins/{draft_id}/edit").text  # editable
    editor.post(f"/bulletins/{draft_id}/submit", data={"csrf_token": csrf}, follow_redirects=False)
    assert "Chờ duyệt" in editor.get(f"/bulletins/{draft_id}").text

    sent = editor.post("/bulletins", data={**form, "title": "Gửi ngay"}, follow_redirects=False)
    sent_id = int(sent.headers["location"].rsplit("/", 1)[1])
    assert api.client.get(f"/api/bulletins/{sent_id}", headers=api.editor).json()["status"] == "draft"
    api.client.post(f"/api/bulletins/{sent_id}/approve", headers=api.approver).raise_for_status()

    start = datetime.now(UTC).astimezone(zone(api.station.settings.timezone)) + timedelta(hours=2)
    done = editor.post(
        f"/bulletins/{sent_id}/schedule",
        data={"csrf_token": csrf, "mode": "once", "start_at": start.strftime("%Y-%m-%dT%H:%M:%S")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    confirmed = editor.get(done.headers["location"]).text
    when = scheduling.moment_text(start, api.station.settings.timezone)
    assert f"Đã xếp lịch phát một lần lúc {when}" in confirmed and f"Lần phát tới: {when}" in confirmed
    history = api.client.get(f"/api/bulletins/{sent_id}/history", headers=api.editor).json()
    assert history[-1]["action"] == "scheduled" and history[-1]["actor"] == "canbo"
    assert history[-1]["summary"].startswith(f"Đã xếp lịch phát một lần lúc {when} cho ")

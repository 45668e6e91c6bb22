"""Review: send back with a reason, edit, submit again, the history of every step, the approval queue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from broadcast import domain
from broadcast.bulletins import history as bulletin_history
from broadcast.bulletins import review as bulletin_review
from broadcast.storage.models import Bulletin, BulletinEvent
from tests.api.conftest import Api
from tests.api.workflow_support import APPROVER, EDITOR, running_station, web_client

TEXT = "Tối nay 19h30 họp dân tại nhà văn hoá thôn 1."
GOOD = {"title": "Họp dân", "text": TEXT, "zones": ["thon-1"]}

# --- pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "edit", "reject", "submit"),
    [("draft", True, True, False), ("ready", False, True, False), ("rejected", True, False, True)],
)
def test_what_each_status_allows(status: str, edit: bool, reject: bool, submit: bool) -> None:
    assert bulletin_review.can_edit(status) is edit
    assert bulletin_review.can_reject(status) is reject
    assert bulletin_review.can_submit(status) is submit
    assert domain.can_air(status) is (status == "ready")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "không được để trống"),
        ("   ", "không được để trống"),
        ("sai", "quá ngắn"),
        ("x" * 501, "quá dài"),
    ],
)
def test_a_reason_must_say_what_to_change(reason: str, message: str) -> None:
    with pytest.raises(domain.Invalid, match=message):
        bulletin_review.check_reason(reason)
    assert bulletin_review.check_reason("  Ghi rõ giờ họp.  ") == "Ghi rõ giờ họp."


@pytest.mark.parametrize(
    ("old", "new", "changes"),
    [
        ("họp lúc 19h30 tại nhà văn hoá", "họp lúc 20h tại nhà văn hoá", [("19h30", "20h")]),
        ("họp dân", "họp dân thôn 1", [("", "thôn 1")]),
        ("họp dân khẩn", "họp dân", [("khẩn", "")]),
        ("a b c", "a b c", []),
    ],
)
def test_text_changes_are_summarised_word_by_word(old: str, new: str, changes: list[tuple[str, str]]) -> None:
    found, total = bulletin_history.text_changes(old, new)
    assert [(c.old, c.new) for c in found] == changes
    assert total == len(changes)


def test_long_edits_keep_a_bounded_summary() -> None:
    old = " ".join(f"từ{i}" for i in range(400))
    new = " ".join(f"từ{i}" if i % 20 else f"đổi{i}" for i in range(400))
    found, total = bulletin_history.text_changes(old, new)
    assert total == 20 and len(found) == bulletin_history.MAX_CHANGES
    detail = bulletin_history.edit_detail({"text": old, "title": "A"}, {"text": new, "title": "A"})
    assert detail["fields"] == ["text"] and detail["text_changes_total"] == 20
    huge, _ = bulletin_history.text_changes("a", "b " * 500)
    assert len(huge[0].new) == bulletin_history.MAX_SNIPPET


@pytest.mark.parametrize(
    ("action", "detail", "line"),
    [
        ("edited", {"fields": ["text", "zones"]}, "Sửa bản tin: đổi nội dung, vùng phát"),
        ("rejected", {"reason": "Thiếu địa điểm"}, "Trả lại: Thiếu địa điểm"),
        ("rerendered", {"changed": False}, "Đọc lại: âm thanh không đổi"),
        ("approved", {}, "Duyệt"),
        ("something-new", {}, "something-new"),
    ],
)
def test_history_lines(action: str, detail: dict[str, Any], line: str) -> None:
    assert bulletin_history.describe(action, detail) == line


# --- through the API ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_station(tmp_path_factory.mktemp("review-station")) as running:
        yield running


def _create(api: Api, **changes: Any) -> dict[str, Any]:
    response = api.client.post("/api/bulletins", json={**GOOD, **changes}, headers=api.editor)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _events(api: Api) -> int:
    with api.station.db.session() as session:
        return session.scalar(select(func.count()).select_from(BulletinEvent)) or 0


def test_send_back_edit_submit_approve(api: Api) -> None:
    bulletin = _create(api)
    path = f"/api/bulletins/{bulletin['id']}"
    refused = api.client.post(f"{path}/reject", json={"reason": "Ghi rõ địa điểm."}, headers=api.editor)
    assert refused.status_code == 403 and "người duyệt" in refused.json()["detail"]
    for body in ({"reason": ""}, {"reason": "sai"}, {}, {"reason": "Ghi rõ.", "extra": 1}):
        before = _events(api)
        bad = api.client.post(f"{path}/reject", json=body, headers=api.approver)
        assert bad.status_code == 422, (body, bad.text)
        assert _events(api) == before
    rejected = api.client.post(
        f"{path}/reject", json={"reason": "Ghi rõ địa điểm họp."}, headers=api.approver
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reject_reason"] == "Ghi rõ địa điểm họp."
    twice = api.client.post(f"{path}/reject", json={"reason": "Lần nữa nhé."}, headers=api.approver)
    assert twice.status_code == 409
    not_yet = api.client.post(f"{path}/approve", headers=api.approver)
    assert not_yet.status_code == 409 and "gửi duyệt lại" in not_yet.json()["detail"]
    assert (
        api.client.get("/api/bulletins?status=rejected", headers=api.editor).json()[0]["id"] == bulletin["id"]
    )

    new_text = "Tối nay 20h họp dân tại nhà văn hoá thôn 1, mang theo sổ hộ khẩu."
    edited = api.client.put(path, json={**GOOD, "text": new_text}, headers=api.editor)
    assert edited.status_code == 200, edited.text
    assert "hai mươi giờ" in edited.json()["spoken_text"]
    assert edited.json()["clip_sha256"] != bulletin["clip_sha256"]
    assert edited.json()["status"] == "rejected"  # still with the editor until submitted
    same = api.client.put(path, json={**GOOD, "text": new_text}, headers=api.editor)
    assert same.json()["clip_sha256"] == edited.json()["clip_sha256"]
    bad_edit = api.client.put(path, json={**GOOD, "text": "  "}, headers=api.editor)
    assert bad_edit.status_code == 422
    assert api.client.get(path, headers=api.editor).json()["text"] == new_text  # unchanged

    submitted = api.client.post(f"{path}/submit", headers=api.editor)
    assert submitted.status_code == 200 and submitted.json()["status"] == "draft"
    assert submitted.json()["reject_reason"] == ""
    assert api.client.post(f"{path}/submit", headers=api.editor).status_code == 409
    approved = api.client.post(f"{path}/approve", headers=api.approver)
    assert approved.status_code == 200 and approved.json()["status"] == "ready"
    locked = api.client.put(path, json={**GOOD, "text": "Đổi sau khi duyệt."}, headers=api.editor)
    assert locked.status_code == 409 and "trả lại" in locked.json()["detail"]

    history = api.client.get(f"{path}/history", headers=api.editor).json()
    assert [e["action"] for e in history] == ["created", "rejected", "edited", "submitted", "approved"]
    assert [e["actor"] for e in history] == ["canbo", "chutich", "canbo", "canbo", "chutich"]
    assert history[1]["detail"]["reason"] == "Ghi rõ địa điểm họp."
    changes = history[2]["detail"]["text_changes"]
    assert {"old": "19h30", "new": "20h"} in changes
    assert {"old": "1.", "new": "1, mang theo sổ hộ khẩu."} in changes
    assert history[2]["summary"] == "Sửa bản tin: đổi nội dung"
    assert api.client.get("/api/bulletins/99999/history", headers=api.editor).status_code == 404


def test_withdrawing_an_approval_stops_it_airing(api: Api) -> None:
    bulletin = _create(api, title="Thu hồi")
    path = f"/api/bulletins/{bulletin['id']}"
    api.client.post(f"{path}/approve", headers=api.approver)
    editor, _ = web_client(api, EDITOR)
    locked = editor.get(f"/bulletins/{bulletin['id']}/edit")
    assert locked.status_code == 409 and "Người duyệt cần trả lại bản tin trước" in locked.text
    withdrawn = api.client.post(
        f"{path}/reject", json={"reason": "Sai ngày họp, sửa lại."}, headers=api.approver
    )
    assert withdrawn.json()["status"] == "rejected" and withdrawn.json()["approved_at"] is None
    with api.station.db.session() as session:
        assert not domain.can_air(session.get(Bulletin, bulletin["id"]).status)  # type: ignore[union-attr]


def test_status_filter(api: Api) -> None:
    draft = _create(api, title="Lọc")
    drafts = api.client.get("/api/bulletins?status=draft", headers=api.editor).json()
    assert draft["id"] in [b["id"] for b in drafts] and {b["status"] for b in drafts} == {"draft"}
    bad = api.client.get("/api/bulletins?status=pending", headers=api.editor)
    assert bad.status_code == 422 and "Trạng thái không hợp lệ" in bad.json()["detail"]


# --- the web pages ------------------------------------------------------------------------------


def test_approval_queue_listen_then_decide(api: Api) -> None:
    first = _create(api, title="Hàng chờ một")
    second = _create(api, title="Hàng chờ hai", priority="emergency")
    client, token = web_client(api, APPROVER)
    queue = client.get("/approvals").text
    assert queue.index("Hàng chờ hai") < queue.index("Hàng chờ một")  # emergencies first
    assert f'src="/clips/{first["clip_sha256"]}.mp3"' in queue  # listen before approving
    assert first["spoken_text"] in queue
    assert f'<label for="reason-{first["id"]}">' in queue

    short = client.post(
        f"/bulletins/{first['id']}/reject", data={"csrf_token": token, "reason": "sai", "back": "queue"}
    )
    assert short.status_code == 422 and 'role="alert"' in short.text and "quá ngắn" in short.text
    assert re.search(rf'id="reason-{first["id"]}"[^>]*>sai</textarea>', short.text)  # what was typed
    sent_back = client.post(
        f"/bulletins/{first['id']}/reject",
        data={"csrf_token": token, "reason": "Thiếu giờ họp cụ thể.", "back": "queue"},
        follow_redirects=False,
    )
    assert sent_back.status_code == 303 and sent_back.headers["location"] == "/approvals"
    approved = client.post(
        f"/bulletins/{second['id']}/approve",
        data={"csrf_token": token, "back": "queue", "version": second["version"]},
        follow_redirects=False,
    )
    assert approved.headers["location"] == "/approvals"
    queue = client.get("/approvals").text
    assert "Hàng chờ một" not in queue and "Hàng chờ hai" not in queue

    editor, _ = web_client(api, EDITOR)
    page = editor.get(f"/bulletins/{first['id']}").text
    assert "Thiếu giờ họp cụ thể." in page and "Gửi duyệt lại" in page and "Sửa bản tin" in page
    assert "Trả lại: Thiếu giờ họp cụ thể." in page  # the history timeline
    assert editor.get("/approvals").status_code == 200  # editors see the queue, without buttons
    assert "Trả lại</button>" not in editor.get("/approvals").text
    listed = editor.get("/bulletins?status=rejected").text
    assert "Hàng chờ một" in listed and "Lý do: Thiếu giờ họp cụ thể." in listed
    assert editor.get("/bulletins?status=pending").status_code == 422


def test_edit_form_keeps_what_was_typed_and_resubmits(api: Api) -> None:
    bulletin = _create(api, title="Sửa trên web")
    client, token = web_client(api, APPROVER)
    client.post(f"/bulletins/{bulletin['id']}/reject", data={"csrf_token": token, "reason": "Thêm địa điểm."})
    editor, token = web_client(api, EDITOR)
    form = editor.get(f"/bulletins/{bulletin['id']}/edit").text
    assert "Thêm địa điểm." in form and 'name="resubmit"' in form and GOOD["text"] in form
    fields = {"csrf_token": token, "title": "Sửa trên web", "priority": "normal", "zones": "thon-1"}
    bad = editor.post(
        f"/bulletins/{bulletin['id']}/edit", data={**fields, "text": " ", "title": "Tiêu đề mới"}
    )
    assert bad.status_code == 422 and "Nội dung: không được để trống." in bad.text
    assert 'value="Tiêu đề mới"' in bad.text
    text = TEXT + " Địa điểm: nhà văn hoá."
    saved = editor.post(
        f"/bulletins/{bulletin['id']}/edit",
        data={**fields, "text": text, "resubmit": "1"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    after = api.client.get(f"/api/bulletins/{bulletin['id']}", headers=api.editor).json()
    assert after["status"] == "draft" and after["text"] == text
    page = editor.get(f"/bulletins/{bulletin['id']}").text
    assert "Sửa bản tin: đổi nội dung" in page and "<ins>Địa điểm: nhà văn hoá.</ins>" in page
    assert "Gửi duyệt lại" in page  # the history line of the resubmission

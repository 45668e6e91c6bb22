"""The Vietnamese web pages: log in, write, hear, approve, schedule; CSRF and auth enforced."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from broadcast.storage.models import Alert, AuditEntry
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _login(client: TestClient, name: str, password: str) -> str:
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/bulletins")
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


def test_pages_need_login(api: Api) -> None:
    for path in ("/bulletins", "/bulletins/1", "/devices", "/"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
    login = api.client.get("/login")
    assert login.status_code == 200
    assert 'lang="vi"' in login.text
    assert "Đăng nhập" in login.text


def test_wrong_password_is_refused(api: Api) -> None:
    response = api.client.post("/login", data={"name": "canbo", "password": "sai-mat-khau"})
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.text
    assert "loa_session" not in response.cookies


def test_write_hear_approve_schedule(api: Api) -> None:
    client = api.client
    token = _login(client, "canbo", "mat-khau-bien-tap")
    text = "UBND xã thông báo lịch tiêm chủng ngày 15/5 lúc 7h30"
    created = client.post(
        "/bulletins",
        data={
            "csrf_token": token,
            "title": "Tiêm chủng",
            "text": text,
            "priority": "normal",
            "zones": ["thon-1"],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    detail = client.get(created.headers["location"])
    assert "ngày mười lăm tháng năm lúc bảy giờ ba mươi phút" in detail.text
    audio = re.search(r'<audio[^>]+src="([^"]+)"', detail.text)
    assert audio
    assert client.get(audio.group(1)).headers["content-type"] == "audio/mpeg"
    assert "Bản tin đang chờ người duyệt" in detail.text  # editors see no approve button
    path = created.headers["location"]
    assert client.post(f"{path}/approve", data={"csrf_token": token}).status_code == 403

    client.post("/logout", data={"csrf_token": token})
    token = _login(client, "chutich", "mat-khau-duyet-tin")
    version = re.search(r'name="version" value="([0-9a-f]+)"', client.get(path).text)
    assert version  # the approve form sends back the version the approver heard
    approve = {"csrf_token": token, "version": version.group(1)}
    assert client.post(f"{path}/approve", data=approve, follow_redirects=False).status_code == 303
    start = (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    scheduled = client.post(
        f"{path}/schedule",
        data={"csrf_token": token, "mode": "once", "start_at": start},
        follow_redirects=False,
    )
    assert scheduled.status_code == 303
    assert "Một lần lúc" in client.get(path).text
    bad = client.post(f"{path}/schedule", data={"csrf_token": token, "mode": "daily", "daily_at": "99:99"})
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text


def test_forms_without_csrf_token_are_refused(api: Api) -> None:
    _login(api.client, "canbo", "mat-khau-bien-tap")
    response = api.client.post(
        "/bulletins", data={"csrf_token": "0" * 64, "title": "T", "text": "Nội dung", "zones": ["thon-1"]}
    )
    assert response.status_code == 403


def test_invalid_form_keeps_what_was_typed(api: Api) -> None:
    token = _login(api.client, "canbo", "mat-khau-bien-tap")
    response = api.client.post(
        "/bulletins",
        data={"csrf_token": token, "title": "Thông báo mất điện", "text": "  ", "zones": ["thon-1"]},
    )
    assert response.status_code == 422
    assert "Thông báo mất điện" in response.text
    assert "không được để trống" in response.text


def test_devices_page_controls_are_for_approvers(api: Api) -> None:
    token = _login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/devices")
    assert "loa-1" in page.text
    assert "Phát âm thử" not in page.text
    refused = api.client.post(
        "/devices/loa-1/control", data={"csrf_token": token, "action": "volume", "level": 50}
    )
    assert refused.status_code == 403
    api.client.post("/logout", data={"csrf_token": token})
    token = _login(api.client, "chutich", "mat-khau-duyet-tin")
    assert "Phát âm thử" in api.client.get("/devices").text
    sent = api.client.post(
        "/devices/loa-1/control", data={"csrf_token": token, "action": "volume", "level": 50}
    )
    assert sent.status_code == 200
    assert "Đã gửi lệnh đặt âm lượng 50%" in sent.text
    bad = api.client.post(
        "/devices/loa-1/control", data={"csrf_token": token, "action": "volume", "level": 500}
    )
    assert bad.status_code == 422


@pytest.mark.quiet_hours("22:00-05:00")  # daily times: refused at any hour of the run
def test_programme_page_shows_the_week_and_adds_streams(api: Api) -> None:
    token = _login(api.client, "chutich", "mat-khau-duyet-tin")
    page = api.client.get("/programme")
    assert page.status_code == 200
    assert "Chương trình phát 7 ngày tới" in page.text
    added = api.client.post(
        "/programme/streams",
        data={"csrf_token": token, "zone": "thon-1", "title": "Thời sự VOV1", "url": "http://127.0.0.1:9/vov1",
              "daily_at": "06:00", "minutes": 15, "days": ["0", "1", "2", "3", "4", "5", "6"]},
        follow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 303
    week = api.client.get("/programme?zone=thon-1").text
    assert week.count("Thời sự VOV1") >= 7  # every day of the week plus the slot list
    night = api.client.post(
        "/programme/streams",
        data={"csrf_token": token, "zone": "thon-1", "title": "Đêm", "url": "http://127.0.0.1:9/x",
              "daily_at": "23:00", "minutes": 15, "days": ["0"]},
    )  # fmt: skip
    assert night.status_code == 422
    assert "giờ yên tĩnh" in night.text
    assert 'value="Đêm"' in night.text  # what the officer typed is kept


def test_password_guessing_is_throttled_and_audited(api: Api) -> None:
    for _ in range(5):
        assert api.client.post("/login", data={"name": "canbo", "password": "doan-sai-1"}).status_code == 401
    blocked = api.client.post("/login", data={"name": "canbo", "password": "mat-khau-bien-tap"})
    assert blocked.status_code == 429
    assert "quá nhiều lần" in blocked.text
    other = api.client.post(
        "/login", data={"name": "chutich", "password": "mat-khau-duyet-tin"}, follow_redirects=False
    )
    assert other.status_code == 303  # the throttle is per account and address, not global
    with api.station.db.session() as session:
        failed = session.query(AuditEntry).filter_by(action="login.failed", actor="canbo").count()
    assert failed == 5


def test_security_headers(api: Api) -> None:
    response = api.client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_emergency_page_needs_a_deliberate_second_step(api: Api) -> None:
    token = _login(api.client, "chutich", "mat-khau-duyet-tin")
    assert "CẢNH BÁO KHẨN CẤP" in api.client.get("/bulletins").text  # reachable from every page
    nowhere = api.client.post("/emergency", data={"csrf_token": token, "text": "Cháy chợ xã!", "repeat": 2})
    assert nowhere.status_code == 422 and "«Mọi vùng»" in nowhere.text  # no zone ticked is not "every zone"
    typed = {"csrf_token": token, "text": "Cháy chợ xã!", "repeat": 2, "all_zones": "yes"}
    first = api.client.post("/emergency", data=typed)
    assert first.status_code == 200
    assert "Xác nhận phát cảnh báo" in first.text
    assert "MỌI VÙNG" in first.text
    with api.station.db.session() as session:
        assert session.query(Alert).count() == 0  # nothing sent by the first click
    sent = api.client.post(
        "/emergency",
        data={**typed, "confirm": "yes"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    status = api.client.get(sent.headers["location"])
    assert "ĐANG PHÁT" in status.text
    assert "0 / 1 loa đã phát" in status.text
    cancel = api.client.post(sent.headers["location"] + "/cancel", data={"csrf_token": token})
    assert "ĐÃ HUỶ" in cancel.text

"""The officer's desk at `/`: what it shows each role, and the pure picking and wording behind it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from broadcast.reports.play_rows import What
from broadcast.scheduler.planner import Entry, ItemSpec
from broadcast.storage.models import Alert, Device
from broadcast.web import home_view
from tests.api.conftest import Api

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def _login(client: TestClient, name: str, password: str) -> None:
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/", response.text


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


def test_the_desk_shows_each_role_its_work(api: Api) -> None:
    client = api.client
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    body = {
        "title": "Lịch tiêm chủng",
        "text": "Tiêm chủng sáng mai.",
        "priority": "normal",
        "zones": ["thon-1"],
    }
    created = client.post("/api/bulletins", json=body, headers=api.editor)
    assert created.status_code == 201, created.text
    with api.station.db.session() as session:
        device = session.get(Device, "loa-1")
        assert device is not None
        device.online, device.health = True, {"now_playing": "Bản tin thời tiết", "clock_source": "ntp"}
        now = datetime.now(UTC)
        session.add(
            Alert(text="Bão số 3 sắp đổ bộ, " * 10, zones=["thon-1"], status="sent", created_by="chutich",
                  expires_at=now + timedelta(minutes=5), sent_at=now)
        )  # fmt: skip

    _login(client, "canbo", "mat-khau-bien-tap")
    desk = client.get("/")
    assert desk.status_code == 200 and 'lang="vi"' in desk.text
    assert "Bản tin thời tiết" in _section(desk.text, "on-air")
    assert "Lịch tiêm chủng" in _section(desk.text, "my-drafts")
    alert = _section(desk.text, "latest-alerts")
    assert "Bão số 3" in alert and "…" in alert and "0/1 loa đã phát" in alert and "Đang phát" in alert
    assert 'id="approvals-waiting"' not in desk.text  # an editor approves nothing
    assert "Tất cả 1 cụm loa" in _section(desk.text, "device-problems")
    assert "CẢNH BÁO KHẨN CẤP" in desk.text

    _login(client, "chutich", "mat-khau-duyet-tin")
    desk = client.get("/")
    assert "Lịch tiêm chủng" in _section(desk.text, "approvals-waiting")
    assert "Lịch tiêm chủng" not in _section(desk.text, "my-drafts")  # someone else's bulletin
    with api.station.db.session() as session:
        device = session.get(Device, "loa-1")
        assert device is not None
        device.online = False
    problems = _section(client.get("/").text, "device-problems")
    assert "loa-1" in problems and "chưa từng kết nối" in problems

    # Approved and placed five minutes ahead: on the desk if that is still today (runs at any hour).
    bulletin_id = created.json()["id"]
    assert client.post(f"/api/bulletins/{bulletin_id}/approve", headers=api.approver).status_code == 200
    start = datetime.now(UTC) + timedelta(minutes=5)
    slot = client.post(
        "/api/slots", json={"bulletin_id": bulletin_id, "start_at": start.isoformat()}, headers=api.editor
    )
    assert slot.status_code == 201, slot.text
    coming = _section(client.get("/").text, "next-today")
    if start.astimezone(HANOI).date() == datetime.now(HANOI).date():
        assert f"{start.astimezone(HANOI):%H:%M}" in coming and "Lịch tiêm chủng" in coming, coming
    else:
        assert "Hôm nay không còn gì" in coming


def _entry(slot_id: int, start: datetime, title: str, bulletin_id: int | None = 1) -> Entry:
    item = ItemSpec(slot_id, "bulletin", 30.0, "normal", 0, f"sha{slot_id}", title, 1, bulletin_id)
    return Entry(slot_id, item, start, start, ("thon-1",))


def test_next_today_is_the_next_five_before_local_midnight() -> None:
    now = datetime(2026, 5, 4, 8, 0, tzinfo=HANOI).astimezone(UTC)
    entries = [_entry(n, now + timedelta(hours=n), f"Tin {n}") for n in range(-1, 9)]
    rows = home_view.next_today(entries, now, HANOI, {"thon-1": "Thôn 1"})
    assert [r.title for r in rows] == ["Tin 0", "Tin 1", "Tin 2", "Tin 3", "Tin 4"]
    assert rows[1].at == "09:00" and rows[1].zones == "Thôn 1" and rows[1].link == "/bulletins/1"
    late = datetime(2026, 5, 4, 23, 30, tzinfo=HANOI).astimezone(UTC)
    entries = [
        _entry(1, late + timedelta(minutes=20), "Trước nửa đêm"),
        _entry(2, late + timedelta(minutes=40), "Sau"),
    ]
    rows = home_view.next_today(entries, late, HANOI, {})
    assert [r.title for r in rows] == ["Trước nửa đêm"]  # 00:10 is tomorrow


def test_on_air_names_live_sessions_and_what_loudspeakers_play() -> None:
    live = SimpleNamespace(
        status="on_air", zones=[], title="Họp khẩn", status_label="Đang phát trực tiếp", devices_joined=2
    )
    ended = SimpleNamespace(status="ended", zones=["thon-1"], title="Cũ", status_label="", devices_joined=0)
    playing = SimpleNamespace(id="loa-1", zone="thon-1", online=True, health={"now_playing": "Bản tin trưa"})
    silent = SimpleNamespace(id="loa-2", zone="thon-2", online=False, health={"now_playing": "Cũ"})
    said = {"loa-1": What("Bản tin trưa", None, "Thường"), "loa-2": What("Cũ", None, "Thường")}
    rows = home_view.on_air(
        [live, ended], [playing, silent], {"thon-1": "Thôn 1"}, ("starting", "on_air"), said
    )
    assert [(r.zone, r.what) for r in rows] == [
        ("Mọi vùng", "Phát trực tiếp «Họp khẩn»"),
        ("Thôn 1", "Bản tin trưa"),
    ]
    assert rows[0].detail == "Đang phát trực tiếp — 2 loa đang phát" and rows[1].link == "/devices/loa-1"


def test_words_for_the_officer() -> None:
    assert home_view.zone_label([], {}) == "Mọi vùng"
    assert home_view.zone_label(["thon-1", "thon-9"], {"thon-1": "Thôn 1"}) == "Thôn 1, thon-9"

"""Checking a slot before saving: the same problems creating it refuses with, and nothing stored."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from broadcast.programme import skips
from broadcast.scheduler.planner import Entry, ItemSpec, QuietHours
from broadcast.station import Station
from broadcast.storage.models import AuditEntry, SkippedSlot, Slot, SlotItem
from broadcast.web.programme_pages import week_rows
from tests.api.conftest import Api
from tests.support.free_port import free_port

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
GOOD = {"title": "Thông báo", "text": "Xã tổ chức họp dân lúc 8h sáng thứ 2.", "zones": ["thon-1"]}
NOW = datetime.now(VN).replace(second=0, microsecond=0)
# Quiet hours 11 h from now (not the default 22:00-05:00), so the tests do not depend on the time they run.
QUIET_START = NOW + timedelta(hours=11)
QUIET = f"{QUIET_START:%H:%M}-{QUIET_START + timedelta(hours=1):%H:%M}"
IN_QUIET = f"{QUIET_START + timedelta(minutes=15):%H:%M}"
DAYTIME = f"{NOW + timedelta(hours=3):%H:%M}"


@pytest.fixture
def api(tmp_path: Path, migrated_database_url: str) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=migrated_database_url,
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        push_lead_s=1.0,
        quiet_hours=QUIET,
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, "canbo", "editor", "mat-khau-bien-tap")
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            devices.add_device(
                session, settings.broker, "loa-1", "thon-1", tmp_path / "s1", "file:p1", "test"
            )
            editor = accounts.issue_token(session, "canbo")
            approver = accounts.issue_token(session, "chutich")
        yield Api(
            client, station, {"Authorization": f"Bearer {editor}"}, {"Authorization": f"Bearer {approver}"}
        )


def _ready(api: Api, **changes: object) -> dict[str, Any]:
    created = api.client.post("/api/bulletins", json={**GOOD, **changes}, headers=api.editor).json()
    approved = api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver).json()
    assert approved["status"] == "ready"
    return dict(approved)


def _counts(api: Api) -> tuple[int, ...]:
    with api.station.db.session() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Slot, SlotItem, AuditEntry, SkippedSlot)
        )


def _check(api: Api, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.client.post("/api/programme/slots/check", json=body, headers=headers or api.editor)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _same_refusal(
    api: Api, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Check, then create: the create refuses with exactly the checked problems; only the create stores."""
    before = _counts(api)
    checked = _check(api, body, headers)
    assert _counts(api) == before  # a check stores nothing, not even an audit line
    assert not checked["ok"]
    created = api.client.post("/api/slots", json=body, headers=headers or api.editor)
    assert created.status_code == checked["problems"][0]["code"], created.text
    assert created.json()["detail"] == " ".join(p["message"] for p in checked["problems"])
    assert _counts(api) == before
    return list(checked["problems"])


def test_quiet_hours_clashes_and_approval_are_found_before_saving(api: Api) -> None:
    bulletin = _ready(api)
    [quiet] = _same_refusal(api, {"bulletin_id": bulletin["id"], "daily_at": IN_QUIET})
    assert (quiet["field"], quiet["code"]) == ("quiet_hours", 422)
    assert f"{IN_QUIET}" in quiet["message"] and "giờ yên tĩnh" in quiet["message"]

    fine = _check(api, {"bulletin_id": bulletin["id"], "daily_at": DAYTIME})
    assert fine["ok"] and fine["problems"] == []
    assert fine["zones"] == ["thon-1"]  # the bulletin's zones, as creating would choose
    assert fine["next_start_local"].startswith(DAYTIME)
    saved = api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": DAYTIME, "title": "Bản tin sáng"},
        headers=api.editor,
    )  # fmt: skip
    assert saved.status_code == 201

    [clash] = _same_refusal(api, {"bulletin_id": bulletin["id"], "daily_at": DAYTIME, "days": ["t2"]})
    assert (clash["field"], clash["code"], clash["slot_id"]) == ("conflict", 409, saved.json()["id"])
    assert f"khung phát số {saved.json()['id']} «Bản tin sáng»" in clash["message"]
    assert DAYTIME in clash["message"]

    draft = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    [unapproved] = _same_refusal(api, {"bulletin_id": draft["id"], "daily_at": "07:01", "days": ["cn"]})
    assert (unapproved["field"], unapproved["code"]) == ("items", 409)
    assert "chưa được duyệt" in unapproved["message"]


def test_every_problem_is_reported_at_once(api: Api) -> None:
    draft = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    body = {"bulletin_id": draft["id"], "daily_at": "25:61", "zones": ["thon-9"]}
    problems = _same_refusal(api, body)
    assert [(p["field"], p["code"]) for p in problems] == [("items", 409), ("zones", 422), ("time", 422)]
    stream = {"stream_url": "http://127.0.0.1:9/vov1", "duration_s": 600, "title": "VOV1"}
    [forbidden] = _same_refusal(api, {"items": [stream], "daily_at": DAYTIME, "zones": ["thon-1"]})
    assert (forbidden["field"], forbidden["code"]) == ("items", 403)
    assert _check(api, {"items": [stream], "daily_at": DAYTIME, "zones": ["thon-1"]}, api.approver)["ok"]
    missing = _check(api, {"bulletin_id": 999, "start_at": "2020-01-01T07:00"})
    assert [(p["field"], p["code"]) for p in missing["problems"]] == [
        ("items", 404),
        ("zones", 422),
        ("time", 422),
    ]
    assert api.client.post("/api/programme/slots/check", json={"daily_at": "06:00"}).status_code == 401


def _login(client: TestClient, name: str, password: str) -> str:
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = CSRF.search(client.get("/programme").text)
    assert match
    return match.group(1)


def _checked(page: str, value: str) -> bool:
    """Return True if the weekday checkbox with this value is ticked on the page."""
    box = re.search(rf'<input type="checkbox" name="days" value="{value}"[^>]*>', page)
    assert box, value
    return "checked" in box.group(0)


def test_the_check_buttons_keep_what_was_typed(api: Api) -> None:
    bulletin = _ready(api)
    token = _login(api.client, "chutich", "mat-khau-duyet-tin")
    before = _counts(api)
    url = "http://127.0.0.1:9/vov1"
    typed = {"zone": "thon-1", "title": "Thời sự VOV1", "url": url, "daily_at": IN_QUIET, "minutes": "15",
             "days": ["0", "6"]}  # fmt: skip
    page = api.client.post("/programme/streams/check", data={"csrf_token": token, **typed})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert 'aria-live="polite"' in text and "Cần sửa trước khi lưu" in text and "giờ yên tĩnh" in text
    for name in ("title", "url", "daily_at"):
        assert f'name="{name}"' in text and f'value="{typed[name]}"' in text
    assert 'value="15"' in text
    assert [_checked(text, str(d)) for d in range(7)] == [True, False, False, False, False, False, True]

    fine = api.client.post(
        f"/bulletins/{bulletin['id']}/schedule/check",
        data={"csrf_token": token, "mode": "daily", "daily_at": DAYTIME, "days": ["2"]},
    )
    text = html.unescape(fine.text)
    assert "Không thấy vấn đề gì" in text and "Có thể lưu" in text
    assert f'value="{DAYTIME}"' in text
    assert re.search(r'value="daily"\s+checked', text)
    assert [_checked(text, str(d)) for d in range(7)] == [False, False, True, False, False, False, False]
    none_ticked = api.client.post(
        f"/bulletins/{bulletin['id']}/schedule/check",
        data={"csrf_token": token, "mode": "daily", "daily_at": DAYTIME},
    )
    assert "Chọn ít nhất một ngày trong tuần" in html.unescape(none_ticked.text)  # not silently every day
    assert (
        api.client.post("/programme/streams/check", data={"csrf_token": "0" * 64, **typed}).status_code == 403
    )
    assert _counts(api) == before


def test_skipped_occurrences_on_the_reports_page_and_csv(api: Api) -> None:
    bulletin = _ready(api)
    slot = api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": DAYTIME, "title": "Bản tin sáng"},
        headers=api.editor,
    ).json()  # fmt: skip
    yesterday = datetime.now(UTC) - timedelta(days=1)
    reason = skips.STATION_DOWN
    with api.station.db.session() as session:
        row = session.get(Slot, slot["id"])
        assert row is not None
        skips.record(session, row, yesterday, reason)
    page = api.client.get("/reports", headers=api.editor)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Khung giờ trạm không gửi đi" in text
    assert f"Số {slot['id']} — Bản tin sáng" in text and reason in text
    link = re.search(r'href="(/reports/skipped-slots\.csv\?[^"]+)"', page.text)
    assert link
    exported = api.client.get(html.unescape(link.group(1)), headers=api.editor)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0] == ["thoi_diem", "khung_gio", "ten_khung", "vung", "ten_vung", "ly_do"]
    assert rows[1][1:4] == [str(slot["id"]), "Bản tin sáng", "thon-1"] and rows[1][5] == reason
    assert rows[1][0] == yesterday.astimezone(VN).strftime("%Y-%m-%d %H:%M:%S")
    unknown = api.client.get("/reports/skipped-slots.csv?zone=thon-9", headers=api.editor)
    assert unknown.status_code == 404


def test_week_view_shows_the_quiet_band_and_marks_priority_items(api: Api) -> None:
    urgent = _ready(api, title="Phòng chống dịch", priority="priority")
    api.client.post("/api/slots", json={"bulletin_id": urgent["id"], "daily_at": DAYTIME}, headers=api.editor)
    page = html.unescape(api.client.get("/programme?zone=thon-1", headers=api.editor).text)
    assert re.search(rf'class="quiet-band"><td>{QUIET_START:%H:%M}–', page)
    row = re.search(r'<tr class="level-priority">.*?</tr>', page, re.S)
    assert row and "Phòng chống dịch" in row.group(0) and "▲ Ưu tiên" in row.group(0)


def test_week_rows_put_the_band_in_time_order_and_flag_silenced_entries() -> None:
    item = ItemSpec(1, "bulletin", 30.0, "normal", 0, "a" * 64, "Họp dân")
    late = Entry(
        7, item, datetime(2026, 5, 4, 23, 15, tzinfo=VN), datetime(2026, 5, 4, 23, 15, tzinfo=VN), ("thon-1",)
    )
    noon = replace(late, occurrence=late.occurrence.replace(hour=12), start=late.start.replace(hour=12))
    quiet = QuietHours(time(22), time(5))
    [(day, rows)] = week_rows([noon, late], quiet, {(7, late.occurrence)}, VN).items()
    assert day == "Thứ Hai 04/05"
    assert [(r.band, r.entry is not None, r.silenced) for r in rows] == [
        ("00:00–05:00", False, False),
        ("", True, False),
        ("22:00–24:00", False, False),
        ("", True, True),
    ]

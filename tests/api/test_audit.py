"""The audit log: every state change recorded, and an admin-only viewer (API, web page, CSV) with filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select

from broadcast.fleet import devices
from broadcast.people import accounts, audit, tenancy
from broadcast.storage.models import AuditEntry
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _admin(api: Api) -> dict[str, str]:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", "so-tay-cua-dai-xa")
        return {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri')}"}


def _some_history(api: Api) -> None:
    """Do a few real things as editor and approver (and fail a login as a stranger)."""
    body = {"title": "Cắt điện", "text": "Xã cắt điện từ 7h đến 9h ngày mai.", "zones": ["thon-1"]}
    created = api.client.post("/api/bulletins", json=body, headers=api.editor)
    assert created.status_code == 201
    bulletin = created.json()["id"]
    api.client.post(f"/api/bulletins/{bulletin}/submit", headers=api.editor)
    assert api.client.post(f"/api/bulletins/{bulletin}/approve", headers=api.approver).status_code == 200
    assert api.client.put(
        "/api/dictionary/HTX", json={"reading": "hợp tác xã"}, headers=api.editor
    ).is_success
    assert api.client.delete("/api/dictionary/HTX", headers=api.editor).status_code == 204
    api.client.post("/login", data={"name": '=HYPERLINK("http://x")', "password": "doan-mo-thoi"})


def test_every_change_is_recorded_with_who_what_and_where(api: Api) -> None:
    _some_history(api)
    with api.station.db.session() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    seen = {(e.actor, e.action) for e in entries}
    assert {
        ("canbo", "bulletin.create"),
        ("chutich", "bulletin.approve"),
        ("canbo", "dictionary.set"),
        ("canbo", "dictionary.delete"),
    } <= seen
    assert all(e.address for e in entries if e.action != "device.add")  # from where
    assert any(e.action == "login.failed" for e in entries)


def test_only_admins_read_the_log(api: Api) -> None:
    for headers in (api.editor, api.approver):
        refused = api.client.get("/api/audit", headers=headers)
        assert refused.status_code == 403 and "quản trị viên" in refused.json()["detail"]
        assert api.client.get("/api/audit.csv", headers=headers).status_code == 403
    assert api.client.get("/api/audit").status_code == 401


def test_filters_and_paging(api: Api) -> None:
    admin = _admin(api)
    _some_history(api)
    everything = api.client.get("/api/audit", headers=admin).json()
    assert everything["total"] == len(everything["entries"]) >= 5
    ids = [e["id"] for e in everything["entries"]]
    assert ids == sorted(ids, reverse=True)  # newest first

    by_actor = api.client.get("/api/audit?actor=chutich", headers=admin).json()["entries"]
    assert by_actor and {e["actor"] for e in by_actor} == {"chutich"}
    family = api.client.get("/api/audit?action=dictionary", headers=admin).json()["entries"]
    assert {e["action"] for e in family} == {"dictionary.set", "dictionary.delete"}
    exact = api.client.get("/api/audit?action=dictionary.set", headers=admin).json()["entries"]
    assert [e["action"] for e in exact] == ["dictionary.set"]
    assert exact[0]["detail"] == {"reading": "hợp tác xã"}
    target = api.client.get("/api/audit?target=abbr:HTX", headers=admin).json()["total"]
    assert target == 2
    prefix = api.client.get("/api/audit?target=bulletin:", headers=admin).json()["entries"]
    assert prefix and all(e["target"].startswith("bulletin:") for e in prefix)

    future = quote((datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert api.client.get(f"/api/audit?since={future}", headers=admin).json()["total"] == 0
    assert api.client.get(f"/api/audit?until={future}", headers=admin).json()["total"] == everything["total"]
    naive = api.client.get("/api/audit?since=2026-01-01T00:00:00", headers=admin)
    assert naive.status_code == 422 and "múi giờ" in naive.json()["detail"]

    first = api.client.get("/api/audit?limit=2", headers=admin).json()
    second = api.client.get("/api/audit?limit=2&offset=2", headers=admin).json()
    assert [e["id"] for e in first["entries"] + second["entries"]] == ids[:4]
    assert api.client.get("/api/audit?limit=100000", headers=admin).status_code == 422


def test_csv_export_is_spreadsheet_safe(api: Api) -> None:
    admin = _admin(api)
    _some_history(api)
    answer = api.client.get("/api/audit.csv?action=login", headers=admin)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())  # Excel reads the Vietnamese right
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    header = ["Thời điểm", "Người thực hiện", "Thao tác", "Đối tượng", "Địa chỉ", "Chi tiết", "Nội dung"]
    assert rows[0] == header  # the raw action stays a column, the sentence comes last
    failed = [r for r in rows[1:] if r[2] == "login.failed"]
    assert failed and failed[0][1].startswith("'=HYPERLINK")  # a formula typed at the login box stays text
    assert failed[0][6].startswith("'") or failed[0][6].startswith("Đăng nhập sai")  # neutralised or plain


def test_the_web_viewer_filters_pages_and_exports(api: Api) -> None:
    _admin(api)
    _some_history(api)
    client = api.client
    editor_page = client.post("/login", data={"name": "canbo", "password": "mat-khau-bien-tap"})
    assert editor_page.status_code == 200
    assert "/audit" not in client.get("/bulletins").text  # no link for an editor
    assert client.get("/audit").status_code == 403
    csrf = CSRF.search(client.get("/account").text)
    assert csrf
    client.post("/logout", data={"csrf_token": csrf.group(1)})

    client.post("/login", data={"name": "quantri", "password": "so-tay-cua-dai-xa"})
    page = client.get("/audit")
    assert page.status_code == 200 and "Nhật ký thao tác" in page.text and 'href="/audit"' in page.text
    assert "<td>chutich đã duyệt bản tin «Cắt điện»</td>" in page.text
    assert "bulletin.approve</td>" not in page.text  # sentences, not codes
    assert "=HYPERLINK(&#34;http://x&#34;)" in page.text and 'HYPERLINK("' not in page.text  # escaped
    today = datetime.now(ZoneInfo(api.station.settings.timezone)).date().isoformat()
    filtered = client.get(f"/audit?actor=chutich&since={today}&until={today}")
    assert "đã duyệt bản tin" in filtered.text and "đã đặt cách đọc" not in filtered.text
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    assert "Không có mục nào" in client.get(f"/audit?until={yesterday}").text
    assert client.get("/audit?since=31-12-2026").status_code == 422
    export = client.get("/audit.csv?action=dictionary")
    assert export.headers["content-type"].startswith("text/csv")
    assert "dictionary.set" in export.text and "bulletin.create" not in export.text
    assert "canbo đã đặt cách đọc «HTX» là «hợp tác xã»" in export.text

    with api.station.db.session() as session:
        for n in range(60):
            audit.record(session, "canbo", "bulletin.render", f"bulletin:{n}", "10.0.0.9")
    first = client.get("/audit?action=bulletin.render")
    assert "60 mục — trang 1/2" in first.text and "page=2" in first.text
    second = client.get("/audit?action=bulletin.render&page=2")
    assert "trang 2/2" in second.text and second.text.count("đã đọc lại (tạo lại âm thanh) bản tin") == 10


def test_a_commune_admin_reads_what_their_communes_accounts_did(api: Api) -> None:
    _some_history(api)  # done by province accounts
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri-xa", "admin", "so-tay-cua-dai-xa", commune="default")
        headers = {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri-xa')}"}
        audit.record(session, "quantri-xa", "zone.add", "zone:thon-9", "10.0.0.2")
    page = api.client.get("/api/audit", headers=headers).json()
    # (Plus what befell the commune's own device: its enrolment, see the next test.)
    mine = [e for e in page["entries"] if not e["target"].startswith("device:")]
    assert {e["actor"] for e in mine} == {"quantri-xa"} and len(mine) == 1


def test_a_commune_admin_sees_what_befell_their_devices_and_not_others(api: Api, tmp_path: Path) -> None:
    settings = api.station.settings
    with api.station.db.session() as session:
        tenancy.add_commune(session, "xa-khac", "Xã Khác", "test")
        devices.add_device(
            session, settings.broker, "loa-khac", "thon-khac", tmp_path / "s2", "file:p2", "test", "xa-khac"
        )
        accounts.add_user(session, "quantri-xa", "admin", "so-tay-cua-dai-xa", commune="default")
        headers = {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri-xa')}"}
        # What the station's flood guard writes (broadcast/reports/floods.py): actor "station".
        audit.record(session, "station", "device.report_flood", "device:loa-1", "", dropped=500)
        audit.record(session, "station", "device.report_flood", "device:loa-khac", "", dropped=700)
    page = api.client.get("/api/audit?action=device", headers=headers).json()
    assert [e["target"] for e in page["entries"] if e["action"] == "device.report_flood"] == ["device:loa-1"]


def test_every_commune_admin_sees_that_the_station_was_restored(api: Api) -> None:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri-xa", "admin", "so-tay-cua-dai-xa", commune="default")
        headers = {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri-xa')}"}
        # What the first start after `broadcast restore` writes (broadcast/backup/followup.py).
        audit.record(session, "station", "backup.restore", "backup:20261206T020000Z", "")
        audit.record(session, "station", "backup.run", "backup:20261206T030000Z", "")  # not the commune's
    page = api.client.get("/api/audit?action=backup", headers=headers).json()
    assert [(e["action"], e["target"]) for e in page["entries"]] == [
        ("backup.restore", "backup:20261206T020000Z")
    ]

"""The admin backup page: "Sao lưu ngay" runs a real backup in the background; desk, page, metrics say so."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from broadcast.backup import list_backups, open_destination, scheduled
from broadcast.jobs import JobStatus
from broadcast.people import accounts
from broadcast.storage.models import AuditEntry, Job
from tests.api.conftest import Api
from tests.api.test_web_admin import login

PASSWORD = "dai-phat-thanh-sao-luu-2026"


def _wait_done(api: Api, timeout_s: float = 20.0) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with api.station.db.session() as session:
            newest = select(Job).where(Job.kind == scheduled.JOB_KIND).order_by(Job.created_at.desc())
            job = session.scalars(newest).first()
        if job is not None and job.status != JobStatus.RUNNING:
            return job
        time.sleep(0.2)
    raise AssertionError("the backup job did not finish")


def test_backup_now_runs_in_the_background_and_every_page_shows_the_result(api: Api, tmp_path: Path) -> None:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", PASSWORD)
        accounts.add_user(session, "canbo2", "editor", PASSWORD)
    csrf = login(api.client, "quantri", PASSWORD)
    page = api.client.get("/admin/backup").text
    assert "Chưa đặt: không có sao lưu tự động." in page and "disabled" in page
    home = api.client.get("/").text
    assert "Chưa đặt sao lưu tự động" in home

    usb, secret = tmp_path / "usb", tmp_path / "backup-passphrase"
    secret.write_text("trâu vàng đồng lúa\n", encoding="utf-8")
    api.station.settings.backup_to = str(usb)
    api.station.settings.backup_passphrase_file = secret
    started = api.client.post("/admin/backup", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/admin/backup?started=1"
    job = _wait_done(api)
    assert job.status == JobStatus.DONE, job.message
    [info] = list_backups(open_destination(str(usb), api.station.settings))
    assert info.complete and job.result["backup_id"] == info.backup_id

    page = api.client.get("/admin/backup").text
    assert "Thành công" in page and str(usb) in page and "Đã đặt" in page
    home = api.client.get("/").text
    assert "Sao lưu gần nhất lúc" in home and str(usb) in home
    metrics = api.client.get("/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith("loa_backup_last_success_timestamp_seconds"))
    assert float(line.split()[-1]) > 0
    with api.station.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.run")).one()
    assert entry.actor == "quantri" and entry.detail["destination"] == str(usb)

    # An editor sees neither the page nor the desk's line.
    api.client.cookies.clear()
    login(api.client, "canbo2", PASSWORD)
    assert api.client.get("/admin/backup", follow_redirects=False).status_code == 403
    assert "Sao lưu gần nhất" not in api.client.get("/").text


def test_a_failing_destination_is_told_in_vietnamese(api: Api, tmp_path: Path) -> None:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", PASSWORD)
    csrf = login(api.client, "quantri", PASSWORD)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the USB disk should be", encoding="utf-8")
    api.station.settings.backup_to = str(blocker / "sub")
    api.station.settings.backup_passphrase_file = None
    response = api.client.post("/admin/backup", data={"csrf_token": csrf})
    job = _wait_done(api)
    assert response.status_code == 200 and job.status == JobStatus.FAILED
    assert "Chưa có mật khẩu sao lưu" in job.message
    (tmp_path / "pass").write_text("mật khẩu sao lưu", encoding="utf-8")
    api.station.settings.backup_passphrase_file = tmp_path / "pass"
    api.client.post("/admin/backup", data={"csrf_token": csrf})
    job = _wait_done(api)
    assert job.status == JobStatus.FAILED and "Không ghi được vào nơi sao lưu" in job.message
    home = api.client.get("/").text
    assert "không thành công: Không ghi được vào nơi sao lưu" in home

"""Long operations: jobs with progress in the database, a long bulletin read in the background, imports."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from broadcast import domain, jobs
from broadcast.bulletins import importing as bulletin_import
from broadcast.clipstore.rendering import render_bulletin, render_options
from broadcast.config import Settings
from broadcast.people.accounts import Principal
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Bulletin, BulletinEvent, Job
from tests.api.conftest import Api
from tests.api.workflow_support import EDITOR, running_station, web_client

EDITOR_P = Principal(1, "canbo", "editor")
SENTENCE = "Ngày {n}/5 lúc 7h30, trạm y tế xã tiêm vắc xin sởi cho trẻ từ 9 tháng tuổi tại thôn {n}."
LONG = " ".join(SENTENCE.format(n=n) for n in range(1, 31))  # 30 sentences, ~2,700 characters


def _wait(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


# --- the job runner on a real database ------------------------------------------------------------


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _job(db: Database, job_id: str) -> Job:
    with db.session() as session:
        return jobs.get_job(session, job_id, EDITOR_P)


def test_progress_is_written_where_any_worker_can_read_it(db: Database) -> None:
    runner = jobs.JobRunner()
    halfway, go = threading.Event(), threading.Event()

    def work(report: jobs.Reporter) -> dict[str, Any]:
        for step in range(5):
            report.update(step, 5, f"Bước {step + 1}/5", force=True)
            if step == 2:
                halfway.set()
                go.wait(10)
        return {"bulletin_id": 7, "url": "/bulletins/7"}

    job_id = runner.start(db, "bulletin.create", "canbo", work)
    assert halfway.wait(10)
    running = _job(db, job_id)
    assert (running.status, running.done, running.total, running.message) == ("running", 2, 5, "Bước 3/5")
    assert jobs.percent(running) == 40
    go.set()
    done = _wait(lambda: (job := _job(db, job_id)).status != "running" and job)
    assert done.status == "done" and done.result == {"bulletin_id": 7, "url": "/bulletins/7"}
    assert jobs.percent(done) == 100 and done.finished_at is not None
    runner.shutdown()


def test_failures_are_explained(db: Database) -> None:
    runner = jobs.JobRunner()

    def refused(report: jobs.Reporter) -> dict[str, Any]:
        raise domain.Invalid("Vùng không tồn tại: 'thon-9'.")

    def crashed(report: jobs.Reporter) -> dict[str, Any]:
        raise RuntimeError("disk full")

    first = runner.start(db, "bulletin.import", "canbo", refused)
    second = runner.start(db, "bulletin.import", "canbo", crashed)
    _wait(lambda: all(_job(db, job_id).status != "running" for job_id in (first, second)))
    runner.shutdown()
    assert _job(db, first).message == "Vùng không tồn tại: 'thon-9'."
    failed = _job(db, second)
    assert failed.status == "failed" and "Lỗi hệ thống" in failed.message and "disk" not in failed.message


def test_shutdown_stops_jobs_at_their_next_step(db: Database) -> None:
    runner = jobs.JobRunner(workers=1)
    started = threading.Event()

    def endless(report: jobs.Reporter) -> dict[str, Any]:
        started.set()
        while True:
            report.update(1, 2, "Đang đọc…", force=True)
            time.sleep(0.01)

    running = runner.start(db, "bulletin.create", "canbo", endless)
    queued = runner.start(db, "bulletin.create", "canbo", endless)
    assert started.wait(10)
    runner.shutdown()
    for job_id in (running, queued):
        job = _job(db, job_id)
        assert job.status == "failed" and job.message == jobs.STOPPED
    with pytest.raises(domain.Conflict):
        runner.start(db, "bulletin.create", "canbo", endless)


def test_only_the_creator_or_an_admin_sees_a_job(db: Database) -> None:
    runner = jobs.JobRunner()
    job_id = runner.start(db, "bulletin.create", "canbo", lambda report: {})
    _wait(lambda: _job(db, job_id).status == "done")
    runner.shutdown()
    with db.session() as session:
        assert jobs.get_job(session, job_id, Principal(9, "quantri", "admin")).status == "done"
        for viewer, wanted in ((Principal(2, "chutich", "approver"), job_id), (EDITOR_P, "x" * 40)):
            with pytest.raises(domain.NotFound):
                jobs.get_job(session, wanted, viewer)


def test_a_job_left_running_by_a_dead_worker_is_marked_failed(db: Database) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(minutes=3)
    with db.session() as session:
        session.add_all(
            [
                Job(id="dead", kind="bulletin.import", created_by="canbo", updated_at=old, worker="pi:41"),
                Job(id="legacy", kind="bulletin.import", created_by="canbo", created_at=old),  # no stamp yet
                Job(id="finished", kind="bulletin.import", status="done", created_by="canbo", updated_at=old),
            ]
        )
    runner = jobs.JobRunner(workers=1, touch_every_s=0.1)
    release = threading.Event()

    def one_long_step(report: jobs.Reporter) -> dict[str, Any]:
        report.update(0, 1, "Đang xử lý âm thanh…", force=True)
        release.wait(30)  # e.g. ffmpeg on a long bulletin: no progress to report for a while
        return {}

    live = runner.start(db, "bulletin.create", "canbo", one_long_step)
    queued = runner.start(db, "bulletin.create", "canbo", one_long_step)  # waits for the only worker
    time.sleep(2.0)
    failed = jobs.fail_stale(db, after=timedelta(seconds=1.5))  # the live ones were stamped within 0.1 s
    assert sorted(failed) == ["dead", "legacy"]
    for job_id in ("dead", "legacy"):
        job = _job(db, job_id)
        assert job.status == "failed" and job.message == "Máy chủ đã dừng khi đang xử lý; hãy thử lại."
        assert job.finished_at is not None
    assert _job(db, "finished").status == "done"
    for job_id in (live, queued):
        job = _job(db, job_id)
        assert job.status == "running" and job.worker == jobs.WORKER and ":" in job.worker
        assert job.updated_at is not None and job.updated_at > job.created_at + timedelta(seconds=1)
    release.set()
    _wait(lambda: all(_job(db, job_id).status == "done" for job_id in (live, queued)))
    runner.shutdown()
    assert jobs.fail_stale(db, now=datetime.now(UTC) + timedelta(hours=1)) == []  # finished: left alone


class Recorder(jobs.Reporter):
    """A reporter that keeps the updates instead of writing them (pure check of the messages)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, str]] = []

    def update(self, done: int, total: int, message: str, *, force: bool = False) -> None:
        self.seen.append((done, total, message))


def test_sentence_progress_messages() -> None:
    reporter = Recorder()
    progress = reporter.sentences()
    progress(3, 10)
    progress(10, 10)
    assert reporter.seen == [
        (3, 11, "Đang đọc câu 4/10…"),
        (10, 11, "Đang xử lý âm thanh (chuông, độ to, MP3)…"),
    ]


def test_synthesis_reports_every_sentence(tmp_path: Path) -> None:
    # Its own cache: the suite's shared one may hold these sentences already (read by another test).
    settings = Settings(data_dir=tmp_path, tts_workers=2, render_cache=tmp_path / "cache")
    options = render_options(settings.speech)
    calls: list[tuple[int, int]] = []
    text = " ".join(SENTENCE.format(n=n) for n in range(1, 7))
    rendered = render_bulletin(text, options, lambda done, total: calls.append((done, total)))
    assert rendered.clip.duration_s > 10
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    assert [done for done, _ in calls] == list(range(7))


# --- parsing imports (pure) ---------------------------------------------------------------------


def test_txt_blocks_become_bulletins() -> None:
    meeting = "Họp dân tối nay lúc 19h30 tại nhà văn hoá thôn một."
    text = f"Lịch tiêm chủng\nNgày 15/5 lúc 7h30 tiêm chủng.\n\n\n  \n{meeting}\n"
    rows = bulletin_import.parse_txt(text, ["thon-1"], "normal")
    assert [(r.line, r.draft.title, r.draft.text) for r in rows] == [
        (1, "Lịch tiêm chủng", "Ngày 15/5 lúc 7h30 tiêm chủng."),
        (
            6,
            "Họp dân tối nay lúc 19h30 tại nhà văn hoá thôn một.",
            "Họp dân tối nay lúc 19h30 tại nhà văn hoá thôn một.",
        ),
    ]
    long_line = "Thông báo " * 20
    (row,) = bulletin_import.parse_txt(long_line, ["thon-1"], "normal")
    assert row.draft.title.endswith("…") and len(row.draft.title) <= bulletin_import.TITLE_FROM_TEXT_CHARS + 1


def test_csv_columns_in_english_or_vietnamese() -> None:
    english = 'title,text,zones,priority\nA,"Dòng một, có dấu phẩy",thon-1;thon-2,priority\nB,Dòng hai,,\n'
    rows = bulletin_import.parse_csv(english, ["mac-dinh"], "normal")
    assert [(r.line, r.draft.title, r.draft.zones, r.draft.priority) for r in rows] == [
        (2, "A", ["thon-1", "thon-2"], "priority"),
        (3, "B", ["mac-dinh"], "normal"),
    ]
    vietnamese = "Tiêu đề;Nội dung;Vùng\n;Chỉ có nội dung;thon-1\n"
    (row,) = bulletin_import.parse_csv(vietnamese, [], "normal")
    assert row.draft.title == "Chỉ có nội dung" and row.draft.zones == ["thon-1"]
    with pytest.raises(domain.Invalid, match="tên cột"):
        bulletin_import.parse_csv("a,b\n1,2\n", [], "normal")


# --- through the station: API and pages ---------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    overrides = {"background_text_chars": 1000, "import_max_bulletins": 5}
    with running_station(tmp_path_factory.mktemp("jobs-station"), **overrides) as running:
        yield running


def _poll(
    client: TestClient, job_id: str, headers: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[int]]:
    """Poll a job until it ends; return its last state and every percent seen while it ran."""
    seen: list[int] = []

    def finished() -> dict[str, Any] | None:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        seen.append(job["percent"])
        return None if job["status"] == "running" else job

    return _wait(finished), seen


def _count(api: Api, model: type[Bulletin] | type[BulletinEvent]) -> int:
    with api.station.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_long_bulletin_is_read_in_the_background(api: Api) -> None:
    body = {"title": "Lịch tiêm chủng cả xã", "text": LONG, "zones": ["thon-1"]}
    started = api.client.post("/api/bulletins/jobs", json=body, headers=api.editor)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running" and started.json()["url"].startswith("/jobs/")
    job, seen = _poll(api.client, started.json()["id"], api.editor)
    assert job["status"] == "done", job
    assert any(0 < p < 100 for p in seen), seen  # the bar moved while the sentences were read
    assert seen == sorted(seen)
    bulletin = api.client.get(f"/api/bulletins/{job['result']['bulletin_id']}", headers=api.editor).json()
    assert bulletin["title"] == "Lịch tiêm chủng cả xã" and "bảy giờ ba mươi" in bulletin["spoken_text"]
    assert api.client.get(f"/api/jobs/{job['id']}", headers=api.approver).status_code == 404

    before = _count(api, Bulletin)
    refused = api.client.post("/api/bulletins/jobs", json={**body, "zones": ["khong-co"]}, headers=api.editor)
    assert refused.status_code == 422 and "khong-co" in refused.json()["detail"]  # refused now, no job
    assert _count(api, Bulletin) == before


def test_long_text_in_the_web_form_shows_a_progress_page(api: Api) -> None:
    client, token = web_client(api, EDITOR)
    form = {
        "csrf_token": token,
        "title": "Bản tin dài",
        "text": LONG,
        "priority": "normal",
        "zones": "thon-1",
    }
    bad = client.post("/bulletins", data={**form, "zones": "khong-co"})
    assert bad.status_code == 422 and "Vùng không tồn tại" in bad.text and "Bản tin dài" in bad.text
    started = client.post("/bulletins", data=form, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_id = started.headers["location"].rsplit("/", 1)[1]
    job, _ = _poll(client, job_id)
    page = client.get(f"/jobs/{job_id}").text
    assert "Mở bản tin để nghe thử" in page and f'href="/bulletins/{job["result"]["bulletin_id"]}"' in page
    assert "http-equiv" not in page  # finished: no more refreshing
    assert api.client.get(f"/jobs/{job_id}", follow_redirects=False).status_code == 303  # login first


def test_running_job_page_polls_and_refreshes_without_javascript(api: Api) -> None:
    with api.station.db.session() as session:  # a job another worker is running
        session.add(
            Job(id="f" * 32, kind="bulletin.import", done=3, total=8, message="Đang đọc", created_by="canbo")
        )
    client, _ = web_client(api, EDITOR)
    page = client.get(f"/jobs/{'f' * 32}").text
    assert '<progress id="progress" max="100" value="37">' in page and 'label for="progress"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert '<script src="/static/job.js"></script>' in page and "Đang đọc" in page
    assert 'fetch("/api/jobs/"' in client.get("/static/job.js").text
    assert client.get("/jobs/khong-co").status_code == 404


def test_import_a_csv_through_the_api(api: Api) -> None:
    csv = (
        "title,text,zones\n"
        "Tiêm chủng,Ngày 15/5 lúc 7h30 tiêm chủng tại trạm y tế xã.,thon-1\n"
        'Họp dân,"Tối nay 19h30 họp dân, mang theo giấy tờ.",\n'
        "Mất điện,Ngày 22/11 mất điện từ 8h đến 16h30.,thon-1\n"
    ).encode()
    before, events = _count(api, Bulletin), _count(api, BulletinEvent)
    started = api.client.post(
        "/api/bulletins/import",
        data={"zones": "thon-1"},
        files={"file": ("ban-tin.csv", csv, "text/csv")},
        headers=api.editor,
    )
    assert started.status_code == 202, started.text
    job, _ = _poll(api.client, started.json()["id"], api.editor)
    assert job["status"] == "done" and job["kind"] == "bulletin.import", job
    ids = job["result"]["bulletin_ids"]
    assert len(ids) == 3 and _count(api, Bulletin) == before + 3 and _count(api, BulletinEvent) == events + 3
    second = api.client.get(f"/api/bulletins/{ids[1]}", headers=api.editor).json()
    assert second["zones"] == ["thon-1"] and "mười chín giờ ba mươi" in second["spoken_text"]
    history = api.client.get(f"/api/bulletins/{ids[1]}/history", headers=api.editor).json()
    assert history[0]["action"] == "imported" and history[0]["detail"] == {
        "filename": "ban-tin.csv",
        "line": 3,
    }


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.csv", "title,text\nA,Một\nB,\nC,Ba\n".encode(), "Dòng 3: Nội dung: không được để trống."),
        ("x.csv", "title,text,zones\nA,Một,khong-co\n".encode(), "Dòng 2: Vùng không tồn tại: 'khong-co'."),
        ("x.csv", "title,text\nA,Một\n".encode("utf-16"), "không phải văn bản UTF-8"),
        ("x.txt", b"\n\n   \n", "không có bản tin nào"),
        ("x.txt", "\n\n".join(f"Bản tin {n}" for n in range(6)).encode(), "tối đa 5"),
        ("x.docx", b"PK\x03\x04", "Chỉ nhận tệp .csv"),
    ],
)
def test_bad_import_files_store_nothing(api: Api, name: str, data: bytes, message: str) -> None:
    before = _count(api, Bulletin)
    response = api.client.post(
        "/api/bulletins/import",
        files={"file": (name, data, "text/plain")},
        data={"zones": "thon-1"},
        headers=api.editor,
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert _count(api, Bulletin) == before


def test_import_a_txt_through_the_web(api: Api) -> None:
    client, token = web_client(api, EDITOR)
    assert 'label for="file"' in client.get("/bulletins/import").text
    txt = "Thu hoạch lúa\nBà con thu hoạch lúa trước ngày 10/10.\n\nPhòng chống bão\nChằng chống nhà cửa.\n"
    bad = client.post(
        "/bulletins/import",
        data={"csrf_token": token, "priority": "priority"},
        files={"file": ("b.txt", txt.encode(), "text/plain")},
    )
    assert bad.status_code == 422 and "Chọn ít nhất một cụm loa" in bad.text
    assert re.search(r'value="priority"\s+checked', bad.text)  # the choice is kept
    started = client.post(
        "/bulletins/import",
        data={"csrf_token": token, "zones": "thon-1", "priority": "priority"},
        files={"file": ("b.txt", txt.encode(), "text/plain")},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].rsplit("/", 1)[1]
    job, _ = _poll(client, job_id)
    assert job["status"] == "done", job
    page = client.get(f"/jobs/{job_id}").text
    assert "Đã nhập 2 bản tin" in page
    for bulletin_id in job["result"]["bulletin_ids"]:
        assert f'href="/bulletins/{bulletin_id}"' in page
        assert (
            api.client.get(f"/api/bulletins/{bulletin_id}", headers=api.editor).json()["priority"]
            == "priority"
        )


def test_old_finished_jobs_are_pruned(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        for job_id, finished in (("old", now - timedelta(days=8)), ("recent", now - timedelta(days=1))):
            session.add(
                Job(
                    id=job_id, kind="bulletin.import", status="done", created_by="canbo", finished_at=finished
                )
            )
        session.add(Job(id="stuck", kind="bulletin.import", created_by="canbo"))  # running: kept
    runner = jobs.JobRunner()
    runner.start(db, "bulletin.create", "canbo", lambda report: {})
    runner.shutdown()
    with db.session() as session:
        assert set(session.scalars(select(Job.id))) >= {"recent", "stuck"}
        assert session.get(Job, "old") is None

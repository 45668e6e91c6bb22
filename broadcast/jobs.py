"""Long operations (reading a long bulletin, importing many) run in background threads.

Progress is written to the `jobs` table, not kept in memory, so whichever station worker answers
`GET /api/jobs/{id}` sees it, and the officer's page never waits on the work itself.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.accounts import Principal
from broadcast.audio import AudioError
from broadcast.storage.db import Database
from broadcast.storage.models import Job
from broadcast.tts import TtsError
from broadcast.tts.synthesis import Progress

log = logging.getLogger(__name__)

JOB_WORKERS = 2  # speech synthesis already uses every core: more jobs at once would only share them
WRITE_EVERY_S = 0.25  # a job's progress row is written at most this often (the page polls every ~0.7 s)
KEEP_FINISHED = timedelta(days=7)  # finished jobs are only progress pages: older ones are deleted
STOPPED = "Máy chủ dừng giữa chừng nên việc này chưa xong; hãy làm lại."


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobStopped(Exception):
    """The station is stopping: the job ends at its next progress step."""


class Reporter:
    """A job's progress: `update` from the worker thread; writes are throttled, the last one is not."""

    def __init__(self, db: Database, job_id: str, stopping: threading.Event) -> None:
        self.db = db
        self.job_id = job_id
        self._stopping = stopping
        self._last_write = 0.0

    def update(self, done: int, total: int, message: str, *, force: bool = False) -> None:
        """Record `done` of `total` steps; raise JobStopped if the station is shutting down."""
        if self._stopping.is_set():
            raise JobStopped
        now = time.monotonic()
        if not force and now - self._last_write < WRITE_EVERY_S:
            return
        self._last_write = now
        with self.db.session() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(done=max(0, min(done, total)), total=total, message=message[:500])
            )

    def sentences(self, prefix: str = "") -> Progress:
        """Return a synthesis progress callback: one step per sentence, one more for the audio pipeline."""

        def report(done: int, total: int) -> None:
            if done < total:
                self.update(done, total + 1, f"{prefix}Đang đọc câu {done + 1}/{total}…")
            else:
                self.update(done, total + 1, f"{prefix}Đang xử lý âm thanh (chuông, độ to, MP3)…", force=True)

        return report


Work = Callable[[Reporter], dict[str, Any]]


class JobRunner:
    """A small pool running jobs; `shutdown` stops them at their next step and marks the unfinished."""

    def __init__(self, workers: int = JOB_WORKERS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._unfinished: dict[str, Database] = {}

    def start(self, db: Database, kind: str, actor: str, work: Work, message: str = "Đang chờ…") -> str:
        """Record a running job, start `work` in the background and return the job's id."""
        if self._stopping.is_set():
            raise domain.Conflict("Máy chủ đang dừng, chưa nhận việc mới.")
        job_id = uuid.uuid4().hex
        with db.session() as session:
            session.execute(delete(Job).where(Job.finished_at < datetime.now(UTC) - KEEP_FINISHED))
            session.add(
                Job(id=job_id, kind=kind, status=JobStatus.RUNNING, message=message, created_by=actor)
            )
        with self._lock:
            self._unfinished[job_id] = db
        self._executor.submit(self._run, db, job_id, work)
        return job_id

    def _run(self, db: Database, job_id: str, work: Work) -> None:
        try:
            result = work(Reporter(db, job_id, self._stopping))
        except (domain.DomainError, TtsError, AudioError) as exc:
            _finish(db, job_id, JobStatus.FAILED, str(exc))
        except JobStopped:
            _finish(db, job_id, JobStatus.FAILED, STOPPED)
        except Exception:
            log.exception("job %s failed", job_id)
            _finish(db, job_id, JobStatus.FAILED, "Lỗi hệ thống khi xử lý; xem nhật ký của máy chủ.")
        else:
            _finish(db, job_id, JobStatus.DONE, "Xong.", result)
        finally:
            with self._lock:
                self._unfinished.pop(job_id, None)

    def shutdown(self) -> None:
        """Stop taking jobs, let running ones stop at their next step, mark what never ran as failed."""
        self._stopping.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left, self._unfinished = self._unfinished, {}
        for job_id, db in left.items():
            try:
                _finish(db, job_id, JobStatus.FAILED, STOPPED)
            except Exception:  # the database may already be gone; the row then stays "running"
                log.exception("could not mark job %s stopped", job_id)


def _finish(db: Database, job_id: str, status: JobStatus, message: str, result: Any = None) -> None:
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.status = status
        job.message = message[:500]
        job.finished_at = datetime.now(UTC)
        if result is not None:
            job.result = result
        if status == JobStatus.DONE:
            job.done = job.total = max(job.total, 1)


def get_job(session: Session, job_id: str, viewer: Principal) -> Job:
    """Return a job its creator (or an admin) may watch; anyone else's is answered as missing."""
    job = session.get(Job, job_id) if len(job_id) <= 36 else None
    if job is None or (job.created_by != viewer.name and viewer.role != domain.Role.ADMIN):
        raise domain.NotFound("Không tìm thấy việc đang xử lý này (có thể đã bị xoá).")
    return job


def percent(job: Job) -> int:
    """Return how far the job is, 0–100."""
    if job.status == JobStatus.DONE:
        return 100
    return 0 if job.total <= 0 else min(99, job.done * 100 // job.total)

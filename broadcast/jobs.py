"""Long operations (reading a long bulletin, importing many) run in background threads.

Progress is written to the `jobs` table, not kept in memory, so whichever station worker answers
`GET /api/jobs/{id}` sees it, and the officer's page never waits on the work itself.
A worker stamps its running jobs (`worker`, `updated_at`) at every progress step and every few seconds
between; a job left "running" whose stamp is older than STALE_AFTER belonged to a worker that died, and
`fail_stale` (run by every station at start and periodically) marks it failed. A live worker's jobs are
never older than a few seconds, so any number of workers can run it at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.orm import Session

from broadcast import domain
from broadcast.audio import AudioError
from broadcast.people.accounts import Principal
from broadcast.storage.db import Database
from broadcast.storage.models import Job
from broadcast.tts import TtsError
from broadcast.tts.synthesis import Progress

log = logging.getLogger(__name__)

JOB_WORKERS = 2  # speech synthesis already uses every core: more jobs at once would only share them
WRITE_EVERY_S = 0.25  # a job's progress row is written at most this often (the page polls every ~0.7 s)
KEEP_FINISHED = timedelta(days=7)  # finished jobs are only progress pages: older ones are deleted
STOPPED = "Máy chủ dừng giữa chừng nên việc này chưa xong; hãy làm lại."
ABANDONED = "Máy chủ đã dừng khi đang xử lý; hãy thử lại."
TOUCH_EVERY_S = 10.0  # a running job's stamp is renewed this often even when its step takes long
STALE_AFTER = timedelta(minutes=2)  # a running job not stamped for this long lost its worker
WORKER = f"{socket.gethostname()}:{os.getpid()}"[-64:]  # host:pid, as stored in jobs.worker


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
                .values(
                    done=max(0, min(done, total)),
                    total=total,
                    message=message[:500],
                    updated_at=datetime.now(UTC),
                    worker=WORKER,
                )
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

    def __init__(self, workers: int = JOB_WORKERS, touch_every_s: float = TOUCH_EVERY_S) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._unfinished: dict[str, Database] = {}
        self._touch_every_s = touch_every_s
        self._toucher: threading.Thread | None = None  # started with the first job

    def start(self, db: Database, kind: str, actor: str, work: Work, message: str = "Đang chờ…") -> str:
        """Record a running job, start `work` in the background and return the job's id."""
        if self._stopping.is_set():
            raise domain.Conflict("Máy chủ đang dừng, chưa nhận việc mới.")
        job_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        with db.session() as session:
            session.execute(delete(Job).where(Job.finished_at < now - KEEP_FINISHED))
            session.add(
                Job(
                    id=job_id,
                    kind=kind,
                    status=JobStatus.RUNNING,
                    message=message,
                    created_by=actor,
                    updated_at=now,
                    worker=WORKER,
                )
            )
        with self._lock:
            self._unfinished[job_id] = db
            if self._toucher is None:
                self._toucher = threading.Thread(target=self._keep_stamping, name="job-stamp", daemon=True)
                self._toucher.start()
        self._executor.submit(self._run, db, job_id, work)
        return job_id

    def _keep_stamping(self) -> None:
        """Renew the stamp of this worker's unfinished jobs (queued ones too) until shutdown."""
        while not self._stopping.wait(self._touch_every_s):
            with self._lock:
                by_db: dict[Database, list[str]] = {}
                for job_id, db in self._unfinished.items():
                    by_db.setdefault(db, []).append(job_id)
            for db, ids in by_db.items():
                try:
                    touch(db, ids)
                except Exception:  # a database hiccup: the next round tries again, well before STALE_AFTER
                    log.exception("could not renew the stamp of jobs %s", ids)

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
        if self._toucher is not None:
            self._toucher.join(timeout=5)
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


def touch(db: Database, job_ids: list[str]) -> None:
    """Stamp these running jobs as alive now, by this worker."""
    with db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.status == JobStatus.RUNNING)
            .values(updated_at=datetime.now(UTC), worker=WORKER)
        )


def fail_stale(db: Database, now: datetime | None = None, after: timedelta = STALE_AFTER) -> list[str]:
    """Mark failed the running jobs nobody stamped for `after` (their worker died); return their ids."""
    now = now or datetime.now(UTC)
    # Rows from before the stamp existed have none: their creation time stands in for it.
    stamp = func.coalesce(Job.updated_at, Job.created_at)
    with db.session() as session:
        failed = session.scalars(
            update(Job)
            .where(Job.status == JobStatus.RUNNING, stamp < now - after)
            .values(status=JobStatus.FAILED, message=ABANDONED, finished_at=now)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        ).all()
    for job_id in failed:
        log.warning("job %s was left running by a stopped worker: marked failed", job_id)
    return list(failed)


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

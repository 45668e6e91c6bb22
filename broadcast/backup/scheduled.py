"""Scheduled backups: one a day at the set time, the newest N kept; and what the pages show of them.

Every backup, scheduled or asked for on /admin/backup, runs as a background job of kind "backup" (the
`jobs` table): whichever worker answers a page sees its progress and result, and one already running
makes the next wait. Only the worker leading the scheduler starts scheduled ones (`tick`, every minute).

The passphrase comes from the file the admin names in BROADCAST_BACKUP_PASSPHRASE_FILE (or the
environment variable BROADCAST_BACKUP_PASSPHRASE, as for `broadcast backup`): never from the database,
so a stolen backup and a stolen database together still do not open the secrets.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import domain, metrics
from broadcast.backup import BackupError, DestinationError, open_destination, prune, run_backup
from broadcast.backup.archive import MIN_PASSPHRASE
from broadcast.config import Settings
from broadcast.jobs import JobRunner, JobStatus, Reporter
from broadcast.people import audit
from broadcast.storage.db import Database
from broadcast.storage.models import AuditEntry, Job

log = logging.getLogger(__name__)

JOB_KIND = "backup"
PASSPHRASE_ENV = "BROADCAST_BACKUP_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
RETRY_AFTER = timedelta(hours=1)  # a failed scheduled backup is tried again this much later
TICK_S = 60.0


def last_occurrence(now: datetime, at: str, tz: str) -> datetime:
    """Return the latest moment at or before `now` that the daily time `at` (HH:MM in `tz`) fell on."""
    local = now.astimezone(ZoneInfo(tz))
    hour, minute = (int(part) for part in at.split(":"))
    moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment > local:
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


def due(
    now: datetime, at: str, tz: str, last_success: datetime | None, last_attempt: datetime | None
) -> bool:
    """Return True if a scheduled backup should start now.

    Due when no backup succeeded since the last daily time; a failed attempt waits RETRY_AFTER first
    (a USB disk left out must not mean an attempt every minute).
    """
    moment = last_occurrence(now, at, tz)
    if last_success is not None and last_success >= moment:
        return False
    return last_attempt is None or now - last_attempt >= RETRY_AFTER


@dataclass(frozen=True)
class BackupRun:
    """One backup job as the pages show it."""

    status: str  # running | done | failed
    started_at: datetime
    finished_at: datetime | None
    actor: str
    message: str  # Vietnamese: the failure, or "Xong."
    result: dict[str, Any]

    @property
    def size_bytes(self) -> int:
        return int(self.result.get("size_bytes", 0))


def runs(session: Session, limit: int = 10) -> list[BackupRun]:
    """Return the latest backup jobs, newest first (finished ones are kept a week, as every job)."""
    rows = session.scalars(
        select(Job).where(Job.kind == JOB_KIND).order_by(Job.created_at.desc()).limit(limit)
    )
    return [
        BackupRun(
            str(r.status), r.created_at, r.finished_at, r.created_by, r.message or "",
            r.result if isinstance(r.result, dict) else {},
        )
        for r in rows
    ]  # fmt: skip


def passphrase(settings: Settings) -> str:
    """Return the backup passphrase from the admin's file or the environment; DomainError if neither."""
    path = settings.backup.backup_passphrase_file
    if path is not None:
        try:
            found = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError:
            raise domain.DomainError(f"Không đọc được tệp mật khẩu sao lưu {path}.") from None
        if found:
            return _long_enough(found)
    if os.environ.get(PASSPHRASE_ENV):
        return _long_enough(os.environ[PASSPHRASE_ENV])
    raise domain.DomainError(
        "Chưa có mật khẩu sao lưu: quản trị viên cần đặt BROADCAST_BACKUP_PASSPHRASE_FILE "
        "(tệp chứa mật khẩu) rồi khởi động lại trạm."
    )


def _long_enough(secret: str) -> str:
    if len(secret) < MIN_PASSPHRASE:
        raise domain.DomainError(f"Mật khẩu sao lưu quá ngắn: cần ít nhất {MIN_PASSPHRASE} ký tự.")
    return secret


def passphrase_configured(settings: Settings) -> bool:
    """Return True if scheduled backups have a passphrase to use (the file exists, or the variable is set)."""
    path = settings.backup.backup_passphrase_file
    return bool(os.environ.get(PASSPHRASE_ENV)) or (path is not None and path.is_file())


def in_vietnamese(exc: Exception, destination: str) -> str:
    """Return why a backup failed, for the officer (the English detail stays in the station's log)."""
    if isinstance(exc, DestinationError | OSError):
        return f"Không ghi được vào nơi sao lưu {destination}: ổ USB đã cắm chưa, còn chỗ trống không?"
    if type(exc).__name__ == "ToolMissing":
        return "Thiếu công cụ pg_dump để sao lưu cơ sở dữ liệu PostgreSQL; hãy cài gói postgresql-client."
    return "Sao lưu không thành công; xem nhật ký của máy chủ để biết chi tiết."


def back_up_once(settings: Settings, reporter: Reporter | None = None) -> dict[str, Any]:
    """Run one backup to the configured destination, then keep the newest N; return the result."""
    target = settings.backup.backup_to
    if not target:
        raise domain.DomainError("Chưa đặt nơi sao lưu (BROADCAST_BACKUP_TO).")
    try:
        secret = passphrase(settings)  # read at each run: the admin may fix the file without a restart
        if reporter is not None:
            reporter.update(0, 2, f"Đang sao lưu vào {target}…", force=True)
        dest = open_destination(target, settings)
        result = run_backup(settings, dest, secret)
        if reporter is not None:
            reporter.update(1, 2, "Đang xoá các bản sao lưu cũ…", force=True)
        pruned = prune(dest, settings.backup.backup_keep)
    except (BackupError, DestinationError, OSError) as exc:
        log.exception("backup to %s failed", target)
        metrics.backup_failed()
        raise domain.DomainError(in_vietnamese(exc, target)) from exc
    except Exception:  # the passphrase missing, the station stopping, a bug: every failure is counted
        metrics.backup_failed()
        raise
    metrics.backup_succeeded(time.time(), result.seconds, result.bytes_written)
    log.info("backup %s to %s: %d bytes", result.manifest.backup_id, result.destination, result.bytes_written)
    return {
        "backup_id": result.manifest.backup_id,
        "destination": result.destination,
        "size_bytes": result.bytes_written,
        "seconds": round(result.seconds, 2),
        "new_clips": result.new_clips,
        "reused_clips": result.reused_clips,
        "pruned": len(pruned.deleted_backups),
    }


def start(settings: Settings, db: Database, runner: JobRunner, actor: str, address: str = "") -> str:
    """Start one backup in the background and return its job id; Conflict if one is running.

    A backup asked for by a person (not the schedule, actor "station") is recorded in the audit log.
    """
    if not settings.backup.backup_to:
        raise domain.Invalid("Chưa đặt nơi sao lưu (BROADCAST_BACKUP_TO): hãy nhờ người cài đặt trạm.")
    with db.session() as session:
        running = session.scalar(
            select(Job.id).where(Job.kind == JOB_KIND, Job.status == JobStatus.RUNNING).limit(1)
        )
        if running is not None:
            raise domain.Conflict("Một lần sao lưu đang chạy; hãy đợi nó xong.")
        if actor != "station":
            audit.record(
                session, actor, "backup.run", "backup:", address, destination=settings.backup.backup_to
            )
    return runner.start(db, JOB_KIND, actor, lambda reporter: back_up_once(settings, reporter))


@dataclass(frozen=True)
class LastRestore:
    """The last restore this station's data came through (from the audit log)."""

    at: datetime
    backup_id: str
    created_at: str
    source: str


def last_restore(session: Session) -> LastRestore | None:
    """Return the latest restore recorded in the audit log, None if this station was never restored."""
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "backup.restore")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entry is None:
        return None
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    return LastRestore(
        entry.at,
        entry.target.partition(":")[2],
        str(detail.get("created_at") or ""),
        str(detail.get("source") or ""),
    )


def tick(settings: Settings, db: Database, runner: JobRunner, leading: Callable[[], bool]) -> str | None:
    """Start the scheduled backup if it is due and this worker leads; return the job id started."""
    if not settings.backup.backup_to or not leading():
        return None
    with db.session() as session:
        latest = runs(session, limit=50)
    success = next((r.started_at for r in latest if r.status == JobStatus.DONE), None)
    attempt = latest[0].started_at if latest else None
    if not due(datetime.now(UTC), settings.backup.backup_at, settings.timezone, success, attempt):
        return None
    try:
        return start(settings, db, runner, "station")
    except domain.Conflict:
        return None


def seed_metrics(db: Database) -> None:
    """Show the last successful backup in /metrics after a start (the gauges live in memory)."""
    with db.session() as session:
        done = next((r for r in runs(session, limit=50) if r.status == JobStatus.DONE), None)
    if done is not None and done.finished_at is not None:
        seconds = float(done.result.get("seconds", 0.0))
        metrics.backup_succeeded(done.finished_at.timestamp(), seconds, done.size_bytes)

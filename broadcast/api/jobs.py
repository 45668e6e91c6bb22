"""Progress of long operations: what a job page polls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from broadcast import jobs
from broadcast.http.deps import StationDep, UserDep
from broadcast.storage.models import Job

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="bulletin.create, bulletin.edit, bulletin.render, bulletin.import")
    status: str = Field(description="running | done | failed")
    done: int
    total: int
    percent: int = Field(description="0–100")
    message: str = Field(description="Đang làm gì, hoặc vì sao thất bại (tiếng Việt)")
    result: dict[str, Any] = Field(
        default_factory=dict, description="Khi xong: bulletin_id hoặc bulletin_ids, và url để mở"
    )
    url: str = Field(description="Trang theo dõi tiến độ")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            done=job.done,
            total=job.total,
            percent=jobs.percent(job),
            message=job.message,
            result=dict(job.result or {}),
            url=f"/jobs/{job.id}",
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


def job_out(station: StationDep, job_id: str, user: UserDep) -> JobOut:
    with station.db.session() as session:
        return JobOut.of(jobs.get_job(session, job_id, user))


@router.get("/{job_id}")
def get_job(job_id: str, station: StationDep, user: UserDep) -> JobOut:
    """How far a long operation is (its creator or an admin); poll until status is done or failed."""
    return job_out(station, job_id, user)

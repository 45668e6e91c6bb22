"""Health, Prometheus metrics, the station's clock and the clip files agents fetch."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse

from broadcast import metrics as prometheus
from broadcast.clipstore.store import ClipNotFound, ClipStoreError, is_sha256
from broadcast.http.deps import StationDep
from broadcast.reports import census

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz(station: StationDep) -> JSONResponse:
    """Say whether the database, broker link and scheduler are up (503 if any is not)."""
    checks = {
        "database": census.database_answers(station.db),
        "mqtt": station.mqtt.connected,
        "scheduler": station.scheduler.running,
    }
    healthy = all(checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", **checks}, 200 if healthy else 503)


@router.get("/time")
async def station_time() -> JSONResponse:
    """Return the station's clock in unix seconds with microseconds: agents without NTP measure their offset
    against it NTP-style (the HTTP Date header has whole seconds only). No login: it tells nothing secret.

    A coroutine, so it answers on the event loop without a thread hand-off that would add to the delay.
    """
    return JSONResponse({"now": time.time()}, headers={"Cache-Control": "no-store"})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(station: StationDep) -> Response:
    """Expose the metrics in the Prometheus text format (every worker's with PROMETHEUS_MULTIPROC_DIR)."""
    return Response(prometheus.scrape(lambda: census.census(station.db)), media_type=prometheus.CONTENT_TYPE)


@router.get("/clips/{name}")
def clip(name: str, station: StationDep) -> Response:
    """Serve a clip by its sha256 (content-addressed: immutable, cacheable forever).

    Clips in object storage are streamed through the station rather than redirected: agents accept clip
    URLs on the station's origin only and refuse redirects (SCALING.md, "Object storage for clips").
    """
    sha, _, ext = name.partition(".")
    if ext != "mp3" or not is_sha256(sha):
        raise HTTPException(404, "Không có tệp âm thanh này.")
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    path = station.clips.local_file(sha)
    if path is not None:
        return FileResponse(path, media_type="audio/mpeg", headers=headers)
    try:
        stream = station.clips.open_stream(sha)
    except ClipNotFound:
        raise HTTPException(404, "Không có tệp âm thanh này.") from None
    except ClipStoreError as exc:
        log.error("clip %s: %s", sha, exc)
        raise HTTPException(503, "Kho âm thanh tạm thời không truy cập được; thử lại sau.") from None
    headers["Content-Length"] = str(stream.size)
    return StreamingResponse(stream.chunks, media_type="audio/mpeg", headers=headers)

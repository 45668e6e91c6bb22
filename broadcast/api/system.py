"""Health, Prometheus metrics and the clip files agents fetch."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from sqlalchemy import func, select, text

from broadcast.clipstore.store import ClipNotFound, ClipStoreError, is_sha256
from broadcast.http.deps import StationDep
from broadcast.storage.models import Bulletin, Device, Play

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz(station: StationDep) -> JSONResponse:
    """Say whether the database, broker link and scheduler are up (503 if any is not)."""
    try:
        with station.db.session() as session:
            session.execute(text("SELECT 1"))
        database = True
    except Exception:  # any database failure means unhealthy
        database = False
    checks = {"database": database, "mqtt": station.mqtt.connected, "scheduler": station.scheduler.running}
    healthy = all(checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", **checks}, 200 if healthy else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(station: StationDep) -> str:
    """Expose counters in the Prometheus text format."""
    with station.db.session() as session:
        devices = session.scalar(select(func.count()).select_from(Device)) or 0
        online = session.scalar(select(func.count()).select_from(Device).where(Device.online)) or 0
        plays: dict[str, int] = {
            row[0]: row[1]
            for row in session.execute(select(Play.outcome, func.count()).group_by(Play.outcome))
        }
        bulletins: dict[str, int] = {
            row[0]: row[1]
            for row in session.execute(select(Bulletin.status, func.count()).group_by(Bulletin.status))
        }
    lines = [
        "# HELP loa_devices Registered loudspeaker agents.",
        "# TYPE loa_devices gauge",
        f"loa_devices {devices}",
        "# HELP loa_devices_online Agents whose last status was online.",
        "# TYPE loa_devices_online gauge",
        f"loa_devices_online {online}",
        "# HELP loa_plays_total Play reports by outcome.",
        "# TYPE loa_plays_total counter",
        *[f'loa_plays_total{{outcome="{k}"}} {v}' for k, v in sorted(plays.items())],
        "# HELP loa_bulletins Bulletins by status.",
        "# TYPE loa_bulletins gauge",
        *[f'loa_bulletins{{status="{k}"}} {v}' for k, v in sorted(bulletins.items())],
        "# HELP loa_mqtt_connected Whether the station's MQTT client is connected.",
        "# TYPE loa_mqtt_connected gauge",
        f"loa_mqtt_connected {int(station.mqtt.connected)}",
        "# HELP loa_agent_messages_total Agent reports this worker took from the (shared) subscription.",
        "# TYPE loa_agent_messages_total counter",
        f"loa_agent_messages_total {station.agent_messages}",
        "# HELP loa_reports_dropped_total Agent reports dropped unstored: over the device's rate, lane "
        "full, or about a command never issued to the device.",
        "# TYPE loa_reports_dropped_total counter",
        *[
            f'loa_reports_dropped_total{{reason="{k}"}} {v}'
            for k, v in sorted(station.mqtt.guard.ledger.counts().items())
        ],
        "# HELP loa_report_queue Agent reports waiting for ingest, by lane (urgent: alert acks).",
        "# TYPE loa_report_queue gauge",
        *[f'loa_report_queue{{lane="{k}"}} {v}' for k, v in sorted(station.mqtt.queue_depths().items())],
    ]
    return "\n".join(lines) + "\n"


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

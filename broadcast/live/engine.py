"""The live service on its engine: Snapcast started with the station, driven through broadcast/snapcast.

`start_live` returns the running service, or None with the reason an officer is shown (live broadcasts
off, snapserver not installed or not starting): a station without live broadcasts still serves
everything else, and the emergency path never depends on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from broadcast.clipstore.store import ClipStorage
from broadcast.config import LiveSettings
from broadcast.live.commands import StreamAddress
from broadcast.live.service import LiveDeps, LiveService
from broadcast.signing.commands import Publisher
from broadcast.snapcast import LiveEngine, SnapserverConfig, channel_stream_name
from broadcast.storage.db import Database

log = logging.getLogger(__name__)

OFF = "Trạm chưa bật phát trực tiếp (BROADCAST_LIVE_ENGINE=off)."


class SnapcastEngine:
    """The service's Engine on a managed snapserver."""

    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    def write(self, channel: int, pcm: bytes) -> None:
        self.engine.input(channel).write(pcm)

    def listeners(self, channel: int) -> set[str]:
        stream = channel_stream_name(channel)
        try:
            clients = self.engine.clients()
        except Exception:  # control port down (snapserver restarting): nobody known to listen
            return set()
        return {c.host_id for c in clients if c.connected and c.stream_id == stream}

    def refresh(self) -> None:
        try:
            self.engine.refresh()
        except Exception:  # the router re-routes every client when snapserver is back
            log.exception("live: routing the loudspeakers failed")

    def stop(self) -> None:
        self.engine.stop()


def start_live(
    live: LiveSettings,
    *,
    mqtt_bind: str,
    agents_host: str,
    db: Database,
    clips: ClipStorage,
    publisher: Publisher,
    signing_key: Callable[[], bytes],
    ffmpeg_bin: str | None,
) -> tuple[LiveService | None, SnapcastEngine | None, str]:
    """Start the engine and the service; on failure return (None, None, why) and log it."""
    if live.live_engine == "off":
        return None, None, OFF
    cfg = SnapserverConfig.from_settings(live, mqtt_bind)
    service: LiveService | None = None

    def lookup(host_id: str) -> str | None:
        channel = service.channel_for(host_id) if service is not None else None
        return channel_stream_name(channel) if channel is not None else None

    try:
        engine = SnapcastEngine(LiveEngine(cfg, lookup))
        engine.engine.start()
    except Exception as exc:  # missing snapserver, a port taken: everything else still runs
        log.exception("live broadcasts unavailable")
        return None, None, f"Không khởi động được máy chủ phát trực tiếp (snapserver): {exc}"
    deps = LiveDeps(
        db=db,
        clips=clips,
        publisher=publisher,
        signing_key=signing_key,
        address=StreamAddress(
            host=live.live_public_host or agents_host,
            port=live.live_public_port or cfg.stream_port,
            lease_s=live.live_lease_s,
            silence_s=live.live_silence_s,
        ),
        channels=live.live_channels,
        renew_s=live.live_renew_s,
        drop_s=live.live_drop_s,
        max_s=live.live_max_minutes * 60.0,
        recordings=live.live_dir / "recordings",
        tail_s=live.live_buffer_ms / 1000 + 0.3,
        ffmpeg_bin=ffmpeg_bin,
    )
    service = LiveService(deps, engine)
    service.close_orphans()
    return service, engine, ""

"""Live sessions on a real station (managed Mosquitto + managed snapserver) with real snapclients listening.

The loudspeakers here are snapclients named like enrolled devices, so what the engine routes is checked
without agents (the agent's own joining is tests/edge_agent/test_agent_live*.py; browser to agents is
tests/browser/test_live_e2e.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts
from broadcast.station import Station
from broadcast.storage.models import AuditEntry, Command
from tests.support.free_port import free_port, free_port_block
from tests.support.rate_limits import RAISED_RATE_LIMITS
from tests.support.snapcast import Listener, require_snapserver, silent, tone, tone_in
from tests.support.station import wait_until

FRAME = 640  # 20 ms of s16le mono 16 kHz (the live wire format)


@dataclass
class Live:
    client: TestClient
    station: Station
    approver: dict[str, str]
    editor: dict[str, str]
    other_approver: dict[str, str]
    stream_port: int


@pytest.fixture
def live(tmp_path: Path, migrated_database_url: str) -> Iterator[Live]:
    require_snapserver(client=True)
    port = free_port_block(4)
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=migrated_database_url,
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        quiet_hours="",
        live_engine="snapcast",
        live_port=port,
        live_bind="127.0.0.1",
        live_public_host="127.0.0.1",
        live_buffer_ms=300,
        live_drop_s=1.5,
        **RAISED_RATE_LIMITS,
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        assert station.live is not None, station.live_reason
        with station.db.session() as session:
            accounts.add_user(session, "canbo", "editor", "mat-khau-bien-tap")
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            accounts.add_user(session, "phochutich", "approver", "mat-khau-duyet-tin-2")
            for device_id, zone in (("loa-1", "thon-1"), ("loa-2", "thon-2")):
                devices.add_device(
                    session, settings.broker, device_id, zone, tmp_path / device_id, "file:p", "t"
                )
            tokens = [accounts.issue_token(session, name) for name in ("chutich", "canbo", "phochutich")]
        approver, editor, other = ({"Authorization": f"Bearer {t}"} for t in tokens)
        yield Live(client, station, approver, editor, other, stream_port=port)


def _wait_state(ws: object, wanted: str, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = ws.receive_json()  # type: ignore[attr-defined]
        if state["state"] == wanted:
            return state  # type: ignore[no-any-return]
    raise AssertionError(f"never reached {wanted}")


def _send_paced(ws: object, pcm: bytes) -> None:
    began = time.monotonic()
    for index, offset in enumerate(range(0, len(pcm), FRAME)):
        delay = began + index * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ws.send_bytes(pcm[offset : offset + FRAME])  # type: ignore[attr-defined]


def test_the_zone_hears_the_chime_then_the_voice_and_the_session_is_kept(live: Live) -> None:
    hears, other = Listener(live.stream_port, "loa-1"), Listener(live.stream_port, "loa-2")
    try:
        started = live.client.post(
            "/api/live", json={"zones": ["thon-1"], "title": "Họp khẩn"}, headers=live.approver
        )
        assert started.status_code == 201, started.text
        session_id = started.json()["id"]
        assert started.json()["status"] == "starting"
        began = time.monotonic()
        with live.client.websocket_connect(f"/api/live/{session_id}/audio", headers=live.approver) as ws:
            _wait_state(ws, "on_air")
            chime_heard = hears.pcm_since(began)
            assert not silent(chime_heard), "the chime did not reach the zone's loudspeaker"
            spoke = time.monotonic()
            _send_paced(ws, tone(1000.0, 1.0, rate=16000))
            assert wait_until(lambda: hears.tone_onset(spoke) is not None, 5.0), "the voice never arrived"
            assert silent(other.pcm_since(began)), "a loudspeaker of another zone heard the session"
            closed = time.monotonic()
            ws.close(code=1000)
        assert wait_until(lambda: _get(live, session_id)["status"] == "ended", 5.0)
        # The closing chime came after the voice (which had ended by `closed` + the 0.3 s buffer).
        assert wait_until(lambda: len(hears.pcm_since(closed + 2.5)) > 0, 5.0)
        after_voice = hears.pcm_since(closed + 0.5)
        assert not silent(after_voice[: len(after_voice) - len(hears.pcm_since(closed + 2.5))]), (
            "no closing chime"
        )
        ended = _get(live, session_id)
        assert ended["end_reason"] == "stopped"
        assert float(str(ended["audio_s"])) >= 0.9
        assert wait_until(lambda: _get(live, session_id)["audio_url"] != "", 15.0), "no recording kept"
        recording = live.client.get(_get(live, session_id)["audio_url"])
        assert recording.status_code == 200 and len(recording.content) > 4000
        with live.station.db.session() as session:
            kinds = session.scalars(select(Command.kind).where(Command.id.like(f"{session_id}-%"))).all()
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.target == f"live:{session_id}")
            )
            assert "live_start" in kinds and "live_stop" in kinds
            assert sorted(actions) == ["live.start", "live.stop"]
    finally:
        hears.close()
        other.close()


def test_an_editor_cannot_go_live_nor_a_stranger_speak_or_listen_in(live: Live) -> None:
    refused = live.client.post("/api/live", json={"zones": ["thon-1"]}, headers=live.editor)
    assert refused.status_code == 403
    assert "người duyệt" in refused.json()["detail"]
    session_id = live.client.post("/api/live", json={"zones": ["thon-1"]}, headers=live.approver).json()["id"]
    busy = live.client.post("/api/live", json={"zones": ["thon-1", "thon-2"]}, headers=live.approver)
    assert busy.status_code == 409 and "thon-1" in busy.json()["detail"]
    for headers in ({}, live.editor, live.other_approver, {"Authorization": "Bearer forged"}):
        path = f"/api/live/{session_id}/audio"
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            live.client.websocket_connect(path, headers=headers) as ws,
        ):
            ws.receive_json()
        assert closed.value.code == 1008
    # A page of another site carrying the officer's session cookie is refused as well.
    login = live.client.post(
        "/login", data={"name": "chutich", "password": "mat-khau-duyet-tin"}, follow_redirects=False
    )
    assert login.status_code == 303
    with (
        pytest.raises(WebSocketDisconnect) as cross_site,
        live.client.websocket_connect(
            f"/api/live/{session_id}/audio", headers={"Origin": "http://evil.example"}
        ) as ws,
    ):
        ws.receive_json()
    assert cross_site.value.code == 1008
    assert live.client.post(f"/api/live/{session_id}/stop", headers=live.approver).json()["status"] == "ended"


def test_a_silent_officer_connection_ends_the_session(live: Live) -> None:
    session_id = live.client.post("/api/live", json={"zones": ["thon-2"]}, headers=live.approver).json()["id"]
    with live.client.websocket_connect(f"/api/live/{session_id}/audio", headers=live.approver) as ws:
        _wait_state(ws, "on_air")
        ws.send_bytes(bytes(FRAME))
        # Nothing more arrives: the phone lost its link without closing the socket.
        assert wait_until(lambda: _get(live, session_id)["status"] == "ended", 10.0)
    assert _get(live, session_id)["end_reason"] == "dropped"


def _get(live: Live, session_id: str) -> dict[str, object]:
    response = live.client.get(f"/api/live/{session_id}", headers=live.approver)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_tone_detection_is_not_fooled_by_the_chime() -> None:
    import numpy as np

    from broadcast.audio import chime

    assert not tone_in(np.frombuffer(chime(48000).samples[:9600], dtype="<i2"))


def test_the_officer_is_told_when_an_alert_takes_the_loudspeakers(live: Live) -> None:
    from broadcast.live.records import ALERT_NOTE

    session_id = live.client.post("/api/live", json={"zones": ["thon-1"]}, headers=live.approver).json()["id"]
    with live.client.websocket_connect(f"/api/live/{session_id}/audio", headers=live.approver) as ws:
        assert _wait_state(ws, "on_air")["reason"] is None
        raised = live.client.post(
            "/api/alerts",
            json={"text": "Lũ về, sơ tán ngay.", "zones": ["thon-2"], "repeat": 1},
            headers=live.approver,
        )
        assert raised.status_code == 201, raised.text
        ws.send_bytes(bytes(FRAME))
        assert ws.receive_json()["reason"] is None  # another zone's alert leaves this session alone
        live.client.post(
            "/api/alerts",
            json={"text": "Cháy chợ, tránh xa.", "zones": ["thon-1"], "repeat": 1},
            headers=live.approver,
        )
        deadline = time.monotonic() + 5
        while (state := ws.receive_json())["reason"] != ALERT_NOTE:
            ws.send_bytes(bytes(FRAME))
            assert time.monotonic() < deadline, state
        ws.close(code=1000)

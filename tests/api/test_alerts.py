"""Emergency alerts through the API: confirmation rules, signed delivery, cancel, CAP in and out."""

from __future__ import annotations

import queue
from pathlib import Path

from broadcast import protocol
from tests.api.conftest import Api
from tests.api.test_control import _subscribe_as_device

SAMPLES = Path(__file__).parents[1] / "data" / "cap"


def _verify(api: Api, raw: bytes) -> protocol.Command:
    body = protocol.verify_message(raw, api.station.keys.public_key_b64(), protocol.MAX_ALERT_BYTES)
    return protocol.parse_command(body)


def _next_of_kind(received: queue.Queue[bytes], api: Api, kind: type) -> protocol.Command:
    while True:
        command = _verify(api, received.get(timeout=10))
        if isinstance(command, kind):
            return command


def test_an_approver_alert_goes_out_at_once_with_inline_audio(api: Api, tmp_path: Path) -> None:
    client, received = _subscribe_as_device(api, tmp_path, "loa-2")  # zone thon-2
    client.subscribe(protocol.zone_command_topic("thon-2"), qos=1)
    try:
        raised = api.client.post(
            "/api/alerts",
            json={"text": "Lũ quét ở thượng nguồn, sơ tán ngay!", "zones": ["thon-2"], "repeat": 2},
            headers=api.approver,
        )
        assert raised.status_code == 201, raised.text
        alert = raised.json()
        assert alert["status"] == "sent"
        assert alert["devices"] == 1
        assert alert["silent"] == ["loa-2"]
        command = _next_of_kind(received, api, protocol.AlertCommand)
        assert isinstance(command, protocol.AlertCommand)
        assert command.repeat == 2
        assert command.inline_audio() is not None  # rides in the message: no fetch before the siren
        assert command.preamble is not None

        cancelled = api.client.post(f"/api/alerts/{alert['id']}/cancel", json={}, headers=api.approver)
        assert cancelled.json()["status"] == "cancelled"
        stop = _next_of_kind(received, api, protocol.CancelCommand)
        assert isinstance(stop, protocol.CancelCommand)
        assert stop.target == command.id
        assert stop.correction is not None
        assert api.client.post(f"/api/alerts/{alert['id']}/cancel", headers=api.approver).status_code == 409
    finally:
        client.loop_stop()
        client.disconnect()


def test_an_editor_alert_waits_for_an_approver(api: Api) -> None:
    raised = api.client.post("/api/alerts", json={"text": "Cháy chợ xã!"}, headers=api.editor).json()
    assert raised["status"] == "awaiting_confirmation"
    assert api.client.post(f"/api/alerts/{raised['id']}/confirm", headers=api.editor).status_code == 403
    confirmed = api.client.post(f"/api/alerts/{raised['id']}/confirm", headers=api.approver).json()
    assert confirmed["status"] == "sent"
    assert confirmed["confirmed_by"] == "chutich"


def test_two_person_rule_blocks_a_single_officer(api: Api) -> None:
    api.station.settings = api.station.settings.model_copy(update={"alert_two_person": True})
    raised = api.client.post("/api/alerts", json={"text": "Bão số 3!"}, headers=api.approver).json()
    assert raised["status"] == "awaiting_confirmation"
    own = api.client.post(f"/api/alerts/{raised['id']}/confirm", headers=api.approver)
    assert own.status_code == 403
    assert "hai người" in own.json()["detail"]


def test_bad_alert_requests(api: Api) -> None:
    bad_bodies: list[dict[str, object]] = [
        {},
        {"text": "x", "bulletin_id": 1},
        {"text": "x", "repeat": 0},
        {"text": "x", "zones": ["khong"]},
        {"text": "   "},
        {"text": "x", "interval": -1},
    ]
    for body in bad_bodies:
        assert api.client.post("/api/alerts", json=body, headers=api.approver).status_code == 422, body
    assert api.client.post("/api/alerts", json={"text": "x"}).status_code == 401


def test_cap_round_trip_and_cancel(api: Api) -> None:
    sample = (SAMPLES / "bao-so-3.xml").read_text().replace("thon-1, thon-2", "thon-1")
    sample = sample.replace("2026-09-17T18:00:00+07:00", "2099-01-01T00:00:00+07:00")
    headers = {**api.approver, "Content-Type": "application/xml"}
    imported = api.client.post("/api/alerts/cap", content=sample.encode(), headers=headers)
    assert imported.status_code == 201, imported.text
    alert = imported.json()
    assert alert["zones"] == ["thon-1"]
    assert "Bão số 3" in alert["text"]
    exported = api.client.get(f"/api/alerts/{alert['id']}/cap", headers=api.approver)
    assert exported.headers["content-type"].startswith("application/cap+xml")
    assert b"<msgType>Alert</msgType>" in exported.content
    cancel = (SAMPLES / "huy-bao-so-3.xml").read_bytes()
    assert api.client.post("/api/alerts/cap", content=cancel, headers=headers).json()["status"] == "cancelled"
    for bad in ("garbage.xml", "wrong-namespace.xml", "entity-bomb.xml", "missing-urgency.xml"):
        response = api.client.post("/api/alerts/cap", content=(SAMPLES / bad).read_bytes(), headers=headers)
        assert response.status_code == 422, bad
        assert response.json()["detail"]
    expired = (SAMPLES / "bao-so-3.xml").read_bytes()  # expires in 2026-09: already past
    assert api.client.post("/api/alerts/cap", content=expired, headers=headers).status_code == 422

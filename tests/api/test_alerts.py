"""Emergency alerts through the API: confirmation rules, signed delivery, cancel, CAP in and out."""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.alerts import delivery as alert_delivery
from broadcast.alerts import speech as alert_speech
from broadcast.mqtt.client import MqttAckTimeout
from broadcast.people import accounts
from broadcast.storage.models import Alert, AuditEntry
from tests.api.conftest import Api
from tests.api.test_control import _subscribe_as_device
from tests.support.free_port import free_port
from tests.support.station import wait_until

SAMPLES = Path(__file__).parents[1] / "data" / "cap"


def _verify(api: Api, raw: bytes) -> protocol.Command:
    body = protocol.verify_message(raw, api.station.keys.public_key_b64(), protocol.MAX_ALERT_BYTES)
    return protocol.parse_command(body)


def _next_of_kind(received: queue.Queue[bytes], api: Api, kind: type) -> protocol.Command:
    deadline = time.monotonic() + 20  # other commands (programmes) keep coming: bound the search
    while time.monotonic() < deadline:
        command = _verify(api, received.get(timeout=10))
        if isinstance(command, kind):
            return command
    raise AssertionError(f"no {kind.__name__} within 20 s")


def test_an_approver_alert_goes_out_with_the_siren_then_its_speech(api: Api, tmp_path: Path) -> None:
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
        # Heard first: the siren (on every agent already) goes out before any synthesis.
        assert command.speech_follows and command.preamble is not None
        assert command.clip == command.preamble  # what an agent without alert_speech plays
        speech = _next_of_kind(received, api, protocol.AlertSpeechCommand)
        assert isinstance(speech, protocol.AlertSpeechCommand)
        assert speech.target == command.id and speech.alert_id == alert["id"]
        assert speech.inline_audio() is not None  # rides in the message: no fetch after the siren
        shown = api.client.get(f"/api/alerts/{alert['id']}", headers=api.approver).json()
        assert shown["speech_status"] == "sent" and shown["audio_url"].endswith(f"{speech.clip.sha256}.mp3")

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


def test_a_late_puback_neither_fails_the_officer_nor_skips_the_other_zones(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under a report flood the broker's PUBACK queues behind the flood in the station's socket: the
    # alert is stored and on its way (QoS 1), so the request succeeds and the next zone still gets it.
    client, received = _subscribe_as_device(api, tmp_path, "loa-2")  # zone thon-2
    client.subscribe(protocol.zone_command_topic("thon-2"), qos=1)
    real_publish = api.station.mqtt.publish
    late: list[str] = []

    def publish_with_late_ack(topic: str, payload: bytes, **options: Any) -> None:
        real_publish(topic, payload, **options)
        if topic == protocol.zone_command_topic("thon-1"):
            late.append(topic)
            raise MqttAckTimeout(f"no PUBACK for {topic} within 5 s")

    monkeypatch.setattr(api.station.mqtt, "publish", publish_with_late_ack)
    try:
        raised = api.client.post(
            "/api/alerts",
            json={"text": "Cháy rừng gần thôn, sơ tán ngay!", "zones": ["thon-1", "thon-2"]},
            headers=api.approver,
        )
        assert raised.status_code == 201, raised.text
        assert raised.json()["status"] == "sent"
        assert late == [protocol.zone_command_topic("thon-1")]
        command = _next_of_kind(received, api, protocol.AlertCommand)
        assert isinstance(command, protocol.AlertCommand) and command.alert_id == raised.json()["id"]
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


def test_an_editor_cannot_cancel_a_sent_alert_only_withdraw_their_own(api: Api) -> None:
    sent = api.client.post("/api/alerts", json={"text": "Lũ về!"}, headers=api.approver).json()
    refused = api.client.post(f"/api/alerts/{sent['id']}/cancel", json={}, headers=api.editor)
    assert refused.status_code == 403
    assert "không được huỷ cảnh báo đã phát" in refused.json()["detail"]
    assert api.client.get(f"/api/alerts/{sent['id']}", headers=api.approver).json()["status"] == "sent"
    other = api.client.post("/api/alerts", json={"text": "Cháy rừng!"}, headers=api.editor).json()
    assert other["status"] == "awaiting_confirmation"
    withdrawn = api.client.post(f"/api/alerts/{other['id']}/cancel", json={}, headers=api.editor)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "cancelled"
    api.client.post(f"/api/alerts/{sent['id']}/cancel", json={"correction": False}, headers=api.approver)
    with api.station.db.session() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.actor).order_by(AuditEntry.id)).all()
    cancels = [tuple(row) for row in rows if row[0] == "alert.cancel"]
    assert cancels == [("alert.cancel", "canbo"), ("alert.cancel", "chutich")]  # no refused one


def test_two_person_correction_waits_for_a_second_approver(api: Api, tmp_path: Path) -> None:
    client, received = _subscribe_as_device(api, tmp_path, "loa-2")
    client.subscribe(protocol.zone_command_topic("thon-2"), qos=1)
    try:
        with api.station.db.session() as session:
            accounts.add_user(session, "phochutich", "approver", "mat-khau-nguoi-thu-hai")
            second = {"Authorization": f"Bearer {accounts.issue_token(session, 'phochutich')}"}
        raised = api.client.post(
            "/api/alerts", json={"text": "Sạt lở!", "zones": ["thon-2"]}, headers=api.approver
        ).json()
        api.station.settings = api.station.settings.model_copy(update={"alert_two_person": True})
        stopped = api.client.post(f"/api/alerts/{raised['id']}/cancel", json={}, headers=api.approver).json()
        assert stopped["status"] == "cancelled" and stopped["correction_status"] == "awaiting"
        alert = _next_of_kind(received, api, protocol.AlertCommand)
        stop = _next_of_kind(received, api, protocol.CancelCommand)
        assert isinstance(stop, protocol.CancelCommand)
        assert stop.target == alert.id and stop.correction is None  # the stop is immediate and silent
        own = api.client.post(f"/api/alerts/{raised['id']}/correction", headers=api.approver)
        assert own.status_code == 403 and "hai người" in own.json()["detail"]
        assert (
            api.client.post(f"/api/alerts/{raised['id']}/correction", headers=api.editor).status_code == 403
        )
        confirmed = api.client.post(f"/api/alerts/{raised['id']}/correction", headers=second)
        assert confirmed.status_code == 200 and confirmed.json()["correction_status"] == "sent"
        fix = _next_of_kind(received, api, protocol.CancelCommand)
        assert isinstance(fix, protocol.CancelCommand)
        assert fix.target == alert.id and fix.correction is not None
        assert api.client.post(f"/api/alerts/{raised['id']}/correction", headers=second).status_code == 409
        with api.station.db.session() as session:
            rows = session.execute(select(AuditEntry.action, AuditEntry.actor).order_by(AuditEntry.id)).all()
        steps = [tuple(row) for row in rows if row[0].startswith("alert.")]
        assert steps[-2:] == [("alert.cancel", "chutich"), ("alert.correction_confirm", "phochutich")]
    finally:
        client.loop_stop()
        client.disconnect()


def test_failed_synthesis_is_recorded_and_the_siren_still_went_out(api: Api) -> None:
    api.station.settings = api.station.settings.model_copy(
        update={"tts_engine": "gtts", "gtts_url": f"http://127.0.0.1:{free_port()}", "tts_fallback": []}
    )
    raised = api.client.post("/api/alerts", json={"text": "Đê vỡ!"}, headers=api.approver).json()
    # The siren went out; the refused connection may fail the speech before the response is built.
    assert raised["status"] == "sent" and raised["speech_status"] in ("pending", "failed")

    def shown() -> dict[str, str]:
        return dict(api.client.get(f"/api/alerts/{raised['id']}", headers=api.approver).json())

    assert wait_until(lambda: shown()["speech_status"] == "failed", timeout=30)
    assert shown()["speech_error"] and shown()["audio_url"] == ""


def test_speech_left_pending_by_a_dead_worker_is_synthesised_again_once(api: Api) -> None:
    raised = api.client.post(
        "/api/alerts", json={"text": "Bão đổ bộ, ở yên trong nhà!", "zones": ["thon-1"]}, headers=api.approver
    ).json()

    def speech_command() -> str | None:
        with api.station.db.session() as session:
            alert = session.get(Alert, raised["id"])
            assert alert is not None
            return alert.speech_command_id if alert.speech_status == "sent" else None

    assert wait_until(lambda: speech_command() is not None, timeout=30)
    first = speech_command()
    # What a station killed mid-synthesis leaves: speech pending, no speech command, raised a minute ago.
    with api.station.db.session() as session:
        alert = session.get(Alert, raised["id"])
        assert alert is not None
        alert.speech_status, alert.speech_command_id = "pending", None
        alert.created_at = datetime.now(UTC) - timedelta(seconds=60)
    deps = api.station.alert_deps()
    # The station's own retry loop (every 5 s) may take it first: either way it is synthesised again.
    assert alert_delivery.resume_speech(deps, datetime.now(UTC)) in ([raised["id"]], [])
    assert wait_until(lambda: speech_command() is not None, timeout=30)
    again = speech_command()
    assert again != first
    assert alert_delivery.resume_speech(deps, datetime.now(UTC)) == []  # nothing left pending
    # A late first worker finishing now does not send the speech a second time.
    alert_speech.synthesise(deps, raised["id"], "Bão đổ bộ, ở yên trong nhà!")
    assert speech_command() == again

"""Drills ("Báo động thử") and the alert's life in words: test tone, test sentence, marked and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.alerts import lifecycle
from broadcast.alerts.templates import SIREN, TEST_TONE
from broadcast.storage.models import AuditEntry, Command
from tests.api.conftest import Api
from tests.api.workflow_support import APPROVER, CSRF, web_client
from tests.support.station import wait_until

T0 = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("status", "after_s", "pending", "phase", "label"),
    [
        ("awaiting_confirmation", 5, False, "awaiting_confirmation", "Chờ xác nhận"),
        ("sent", 5, False, "on_air", "Đang phát"),
        ("sent", 2 * (10 + 20 + 10) - 1, False, "on_air", "Đang phát"),
        ("sent", 2 * (10 + 20 + 10) + 1, False, "finished", "Đã phát xong"),
        ("sent", 600, True, "on_air", "Đang phát"),  # its speech is still being read: not over
        ("sent", 1800, False, "expired", "Hết hiệu lực"),
        ("cancelled", 5, False, "cancelled", "Đã huỷ"),
        ("expired", 5, False, "expired", "Hết hiệu lực"),
    ],
)
def test_an_alert_is_over_once_every_repeat_has_played(
    status: str, after_s: float, pending: bool, phase: str, label: str
) -> None:
    now = T0 + timedelta(seconds=after_s)
    state = lifecycle.state(status, T0, LATER, 2, 10.0, 20.0, pending, False, now)
    assert (state.phase, state.label) == (phase, label)
    assert state.over is (phase in ("finished", "cancelled", "expired"))


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("Bão số 3 đổ bộ", 80, "Bão số 3 đổ bộ"),
        ("Lũ quét ở thượng nguồn, sơ tán ngay", 20, "Lũ quét ở thượng…"),
        ("Lũ quét ở thượng nguồn", 18, "Lũ quét ở thượng…"),
        ("Sơtánkhẩncấpngay", 8, "Sơtánkh…"),  # one long word: cut inside it, still marked
    ],
)
def test_short_text_is_cut_at_a_word_with_an_ellipsis(text: str, limit: int, shown: str) -> None:
    assert lifecycle.short_text(text, limit) == shown
    assert len(lifecycle.short_text(text, limit)) <= limit


def _command(api: Api, command_id: str) -> protocol.Command:
    with api.station.db.session() as session:
        row = session.get(Command, command_id)
        assert row is not None
        payload = row.payload.encode()
    key = api.station.keys.public_key_b64()
    return protocol.parse_command(protocol.verify_message(payload, key, protocol.MAX_ALERT_BYTES))


def test_a_drill_sounds_the_test_tone_says_so_and_is_marked_everywhere(api: Api) -> None:
    # Same confirmation rules: an editor's drill waits for an approver.
    waiting = api.client.post(
        "/api/alerts", json={"text": "Diễn tập sơ tán.", "test": True}, headers=api.editor
    ).json()
    assert waiting["status"] == "awaiting_confirmation" and waiting["test"] is True

    raised = api.client.post(
        "/api/alerts",
        json={"text": "Diễn tập phòng chống lũ.", "zones": ["thon-1"], "repeat": 1, "test": True},
        headers=api.approver,
    )
    assert raised.status_code == 201, raised.text
    drill = raised.json()
    assert drill["status"] == "sent" and drill["test"] is True and drill["state_label"] == "Đang phát"
    with api.station.db.session() as session:
        command_id = session.scalars(
            select(Command.id).where(Command.kind == "alert").order_by(Command.created_at.desc())
        ).first()
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.target == f"alert:{drill['id']}", AuditEntry.action == "alert.raise"
            )
        ).one()
    assert entry.detail["test"] is True
    assert command_id is not None
    command = _command(api, command_id)
    assert isinstance(command, protocol.AlertCommand) and command.alert_id == drill["id"]
    tone, siren = api.station.templates[TEST_TONE].clip, api.station.templates[SIREN].clip
    assert command.preamble == tone and tone.sha256 != siren.sha256 and tone.duration_s < 3
    assert "Thử nghiệm" in command.title

    def spoken() -> dict[str, object] | None:
        shown = api.client.get(f"/api/alerts/{drill['id']}", headers=api.approver).json()
        return shown if shown["speech_status"] == "sent" else None

    assert wait_until(spoken, timeout=60), "the drill's speech was never sent"
    shown = spoken()
    assert shown is not None and str(shown["spoken_text"]).startswith("Đây là bản tin thử nghiệm.")
    assert shown["text"] == "Diễn tập phòng chống lũ."  # what the officer typed, without the preamble

    approver, _ = web_client(api, APPROVER)
    page = approver.get(f"/alerts/{drill['id']}").text  # the short link lists use
    assert "Báo động thử số" in page and "bíp thử" in page
    listed = approver.get("/emergency").text
    assert "[Báo động thử]" in listed and "sent" not in listed.replace('name="zones"', "")

    # The form: no zone ticked is refused; "Mọi vùng" is the explicit choice of every zone.
    csrf = CSRF.search(listed)
    assert csrf
    form = {"csrf_token": csrf.group(1), "text": "Diễn tập.", "repeat": "1", "test": "yes"}
    refused = approver.post("/emergency", data=form)
    assert refused.status_code == 422 and "«Mọi vùng»" in refused.text
    refused = approver.post("/emergency", data={**form, "confirm": "yes"})  # not even when forced
    assert refused.status_code == 422
    shown = approver.post("/emergency", data={**form, "all_zones": "yes"})
    assert shown.status_code == 200 and "MỌI VÙNG" in shown.text and "BÁO ĐỘNG THỬ" in shown.text
    sent = approver.post(
        "/emergency", data={**form, "all_zones": "yes", "confirm": "yes"}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    alert_id = int(sent.headers["location"].rsplit("/", 1)[1])
    alert = api.client.get(f"/api/alerts/{alert_id}", headers=api.approver).json()
    assert alert["test"] is True and set(alert["zones"]) >= {"thon-1"}

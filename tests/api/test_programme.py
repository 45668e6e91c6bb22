"""Airing a slot: unapproved bulletins never air; commands are signed and idempotent per occurrence."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from broadcast import programme, protocol
from broadcast.storage.models import Bulletin, Play, Slot
from tests.api.conftest import Api

GOOD = {"title": "Thông báo", "text": "Xã tổ chức họp dân lúc 8h sáng thứ 2.", "zones": ["thon-1"]}


@dataclass
class RecordingPublisher:
    """Collects what would go to the broker (the real broker path is covered by the spine test)."""

    sent: list[tuple[str, bytes, float]] = field(default_factory=list)

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        self.sent.append((topic, payload, expiry_s))


def _slot_for(api: Api, bulletin_id: int) -> int:
    with api.station.db.session() as session:
        slot = Slot(bulletin_id=bulletin_id, zones=["thon-1"], start_at=datetime.now(UTC), created_by=1)
        session.add(slot)
        session.flush()
        return slot.id


def test_unapproved_bulletin_never_airs_even_if_a_slot_exists(api: Api) -> None:
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    slot_id = _slot_for(api, created["id"])  # bypasses the API's own check on purpose
    publisher = RecordingPublisher()
    ctx = replace(api.station.air_context(), publisher=publisher)
    assert programme.air_slot(ctx, slot_id, datetime.now(UTC) + timedelta(seconds=2)) is None
    assert publisher.sent == []
    with api.station.db.session() as session:
        skips = list(session.scalars(select(Play).where(Play.outcome == "skipped")))
    assert len(skips) == 1 and "chưa được duyệt" in skips[0].reason


def test_aired_command_is_signed_and_idempotent_per_occurrence(api: Api) -> None:
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver)
    slot_id = _slot_for(api, created["id"])
    publisher = RecordingPublisher()
    ctx = replace(api.station.air_context(), publisher=publisher)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
    first = programme.air_slot(ctx, slot_id, start)
    again = programme.air_slot(ctx, slot_id, start)
    assert first is not None and first == again
    assert [t for t, _, _ in publisher.sent] == [protocol.zone_command_topic("thon-1")] * 2
    assert publisher.sent[0][1] == publisher.sent[1][1]
    body = protocol.verify_message(publisher.sent[0][1], api.station.keys.public_key_b64())
    command = protocol.parse_play_command(body)
    assert command.start_at == start.timestamp()
    assert command.clip.sha256 == created["clip_sha256"]
    assert command.clip.url.endswith(f"/clips/{created['clip_sha256']}.mp3")
    assert command.expires_at > time.time()
    with api.station.db.session() as session:
        assert session.get(Bulletin, created["id"]) is not None


def test_a_long_missed_occurrence_is_skipped_not_played_late(api: Api) -> None:
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver)
    slot_id = _slot_for(api, created["id"])
    publisher = RecordingPublisher()
    ctx = replace(api.station.air_context(), publisher=publisher)
    assert programme.air_slot(ctx, slot_id, datetime.now(UTC) - timedelta(hours=2)) is None
    assert publisher.sent == []


@dataclass
class FlakyPublisher(RecordingPublisher):
    """Fails the first publish, as the broker link does during a restart."""

    failures: int = 1

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker restarting")
        super().publish(topic, payload, expiry_s=expiry_s)


def test_a_broker_hiccup_before_the_start_is_retried(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programme, "RETRY_INTERVAL_S", 0.05)
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver)
    publisher = FlakyPublisher()
    ctx = replace(api.station.air_context(), publisher=publisher)
    assert programme.air_slot(ctx, _slot_for(api, created["id"]), datetime.now(UTC) + timedelta(seconds=30))
    assert len(publisher.sent) == 1


def test_restore_replans_active_future_slots(api: Api) -> None:
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    daily = api.client.post(
        "/api/slots", json={"bulletin_id": created["id"], "daily_at": "17:00"}, headers=api.editor
    ).json()
    once = api.client.post(
        "/api/slots", json={"bulletin_id": created["id"], "start_at": soon}, headers=api.editor
    )
    past = _slot_for(api, created["id"])  # start_at = now: nothing left to plan
    scheduler = api.station.scheduler
    for slot_id in (daily["id"], once.json()["id"]):
        scheduler.remove_slot(slot_id)
    assert programme.restore_slots(api.station.db, scheduler) == 2
    assert scheduler.next_push(daily["id"]) is not None
    assert scheduler.next_push(once.json()["id"]) is not None
    assert scheduler.next_push(past) is None

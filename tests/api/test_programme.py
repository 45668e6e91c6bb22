"""The programme: slots of ordered items become a signed, versioned, retained programme per zone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadcast import protocol
from broadcast.programme import publishing
from tests.api.conftest import Api

GOOD = {"title": "Thông báo", "text": "Xã tổ chức họp dân lúc 8h sáng thứ 2.", "zones": ["thon-1"]}


@dataclass
class RecordingPublisher:
    """Keeps what would go to the broker (the real broker path is covered by the integration tests)."""

    sent: list[tuple[str, bytes, float, bool]] = field(default_factory=list)

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        self.sent.append((topic, payload, expiry_s, retain))


def _ready(api: Api, **changes: object) -> dict[str, Any]:
    body = {**GOOD, **changes}
    created = api.client.post("/api/bulletins", json=body, headers=api.editor).json()
    approved = api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver).json()
    assert approved["status"] == "ready"
    return dict(approved)


def _soon(minutes: float = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def _programme(api: Api, publisher: RecordingPublisher, zone: str = "thon-1") -> protocol.ProgrammeMessage:
    _topic, payload, _, retain = [m for m in publisher.sent if m[0] == protocol.zone_programme_topic(zone)][
        -1
    ]
    assert retain
    body = protocol.verify_message(payload, api.station.keys.public_key_b64(), protocol.MAX_PROGRAMME_BYTES)
    return protocol.parse_programme(body)


def _entries(api: Api, message: protocol.ProgrammeMessage) -> list[protocol.Command]:
    key = api.station.keys.public_key_b64()
    return [protocol.parse_command(protocol.verify_message(e.encode(), key)) for e in message.entries]


def test_priority_items_play_first_and_entries_are_stable(api: Api) -> None:
    normal = _ready(api, title="Thường")
    urgent = _ready(api, title="Ưu tiên", priority="priority")
    slot = api.client.post(
        "/api/slots",
        json={"items": [{"bulletin_id": normal["id"]}, {"bulletin_id": urgent["id"]}], "start_at": _soon()},
        headers=api.editor,
    )
    assert slot.status_code == 201, slot.text
    publisher = RecordingPublisher()
    ctx = replace(api.station.push_context(), publisher=publisher)
    first = publishing.refresh(ctx, ["thon-1"], force=True)
    message = _programme(api, publisher)
    assert message.version == first["thon-1"]
    plays = _entries(api, message)
    assert [p.title for p in plays] == ["Ưu tiên", "Thường"]  # type: ignore[union-attr]
    gap = plays[1].start_at - plays[0].start_at  # type: ignore[union-attr]
    assert gap == pytest.approx(urgent["duration_s"] + 2.0, abs=0.001)
    assert all(isinstance(p, protocol.PlayCommand) for p in plays)
    assert [p.bulletin_id for p in plays] == [urgent["id"], normal["id"]]  # type: ignore[union-attr]

    assert publishing.refresh(ctx, ["thon-1"]) == {}  # nothing changed: nothing republished
    again = publishing.refresh(ctx, ["thon-1"], force=True)
    assert again["thon-1"] == first["thon-1"] + 1
    assert [p.id for p in _entries(api, _programme(api, publisher))] == [p.id for p in plays]


def test_a_bulletin_sent_back_to_draft_leaves_the_programme(api: Api) -> None:
    bulletin = _ready(api, text="Họp HTX lúc 8h.")
    api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "start_at": _soon()}, headers=api.editor
    )
    publisher = RecordingPublisher()
    ctx = replace(api.station.push_context(), publisher=publisher)
    publishing.refresh(ctx, ["thon-1"], force=True)
    assert len(_programme(api, publisher).entries) == 1
    api.client.put("/api/dictionary/HTX", json={"reading": "hợp tác xã nông nghiệp"}, headers=api.editor)
    again = api.client.post(f"/api/bulletins/{bulletin['id']}/render", headers=api.editor).json()
    assert again["status"] == "draft"
    publishing.refresh(ctx, ["thon-1"], force=True)
    assert _programme(api, publisher).entries == ()


@pytest.mark.quiet_hours("22:00-05:00")  # daily times: refused at any hour of the run
def test_quiet_hours_and_conflicts_are_refused_with_nothing_stored(api: Api) -> None:
    bulletin = _ready(api)
    night = api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": "23:15"}, headers=api.editor
    )
    assert night.status_code == 422
    assert "giờ yên tĩnh" in night.json()["detail"]
    ok = api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": "06:00"}, headers=api.editor
    )
    assert ok.status_code == 201
    clash = api.client.post(
        "/api/slots",
        json={"bulletin_id": bulletin["id"], "daily_at": "06:00", "days": ["t2"]},
        headers=api.editor,
    )
    assert clash.status_code == 409
    assert "Trùng giờ" in clash.json()["detail"]
    listed = api.client.get("/api/slots", headers=api.editor).json()
    assert [s["id"] for s in listed] == [ok.json()["id"]]


def test_items_can_be_reordered_and_slots_deleted(api: Api) -> None:
    one, two = _ready(api, title="Một"), _ready(api, title="Hai")
    slot = api.client.post(
        "/api/slots",
        json={"items": [{"bulletin_id": one["id"]}, {"bulletin_id": two["id"]}], "start_at": _soon()},
        headers=api.editor,
    ).json()
    reordered = api.client.put(
        f"/api/slots/{slot['id']}/items",
        json={"items": [{"bulletin_id": two["id"]}, {"bulletin_id": one["id"]}]},
        headers=api.editor,
    )
    assert reordered.status_code == 200
    assert [i["title"] for i in reordered.json()["items"]] == ["Hai", "Một"]
    week = api.client.get("/api/programme?zone=thon-1", headers=api.editor).json()
    assert [e["title"] for e in week] == ["Hai", "Một"]
    assert api.client.delete(f"/api/slots/{slot['id']}", headers=api.editor).status_code == 204
    assert api.client.get("/api/programme?zone=thon-1", headers=api.editor).json() == []
    assert api.client.delete(f"/api/slots/{slot['id']}", headers=api.editor).status_code == 404


def test_stream_relays_need_an_approver_and_become_stream_commands(api: Api) -> None:
    item = {"stream_url": "http://127.0.0.1:9/vov1", "duration_s": 600, "title": "Tiếp sóng VOV1"}
    body = {"items": [item], "daily_at": "06:00", "zones": ["thon-1"]}
    assert api.client.post("/api/slots", json=body, headers=api.editor).status_code == 403
    created = api.client.post("/api/slots", json=body, headers=api.approver)
    assert created.status_code == 201, created.text
    publisher = RecordingPublisher()
    publishing.refresh(replace(api.station.push_context(), publisher=publisher), ["thon-1"], force=True)
    streams = _entries(api, _programme(api, publisher))
    assert streams
    assert all(isinstance(s, protocol.StreamCommand) and s.duration_s == 600 for s in streams)
    for bad in (
        {"stream_url": "ftp://x", "duration_s": 60},
        {"stream_url": "http://x", "duration_s": 0},
        {"stream_url": "http://x", "duration_s": 60, "bulletin_id": 1},
        {},
    ):
        response = api.client.post(
            "/api/slots",
            json={"items": [bad], "daily_at": "07:00", "zones": ["thon-1"]},
            headers=api.approver,
        )
        assert response.status_code == 422, (bad, response.text)


def test_unapproved_bulletins_cannot_be_scheduled(api: Api) -> None:
    draft = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    response = api.client.post(
        "/api/slots", json={"bulletin_id": draft["id"], "start_at": _soon()}, headers=api.editor
    )
    assert response.status_code == 409
    assert "chưa được duyệt" in response.json()["detail"]


def test_programme_payload_fits_and_is_compact(api: Api) -> None:
    bulletin = _ready(api)
    api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": "06:00"}, headers=api.editor
    )
    api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": "17:00"}, headers=api.editor
    )
    publisher = RecordingPublisher()
    publishing.refresh(replace(api.station.push_context(), publisher=publisher), ["thon-1"], force=True)
    payload = [m for m in publisher.sent if m[0].endswith("/programme")][-1][1]
    assert len(payload) < protocol.MAX_PROGRAMME_BYTES
    assert 3 <= len(json.loads(payload)["entries"]) <= 5  # 2 slots a day over 48 h

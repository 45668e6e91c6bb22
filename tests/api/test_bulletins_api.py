"""Bulletin API: auth, validation, approval rules; nothing half-stored on bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from broadcast.storage.models import Bulletin, Slot
from tests.api.conftest import Api

GOOD = {"title": "Thông báo", "text": "UBND xã thông báo họp dân lúc 19h30 ngày 2/9.", "zones": ["thon-1"]}


def _count(api: Api, model: type[Bulletin] | type[Slot]) -> int:
    with api.station.db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_create_read_approve(api: Api) -> None:
    response = api.client.post("/api/bulletins", json=GOOD, headers=api.editor)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert "mười chín giờ ba mươi" in body["spoken_text"]
    assert body["duration_s"] > 2
    audio = api.client.get(body["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"

    got = api.client.get(f"/api/bulletins/{body['id']}", headers=api.editor).json()
    assert got["spoken_text"] == body["spoken_text"]

    assert api.client.post(f"/api/bulletins/{body['id']}/approve", headers=api.editor).status_code == 403
    approved = api.client.post(f"/api/bulletins/{body['id']}/approve", headers=api.approver)
    assert approved.status_code == 200 and approved.json()["status"] == "ready"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/bulletins"),
        ("POST", "/api/bulletins/1/approve"),
        ("POST", "/api/slots"),
        ("GET", "/api/devices"),
        ("GET", "/api/plays"),
    ],
)
def test_unauthenticated_requests_get_401(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path, json=GOOD)
    assert response.status_code == 401
    assert "đăng nhập" in response.json()["detail"]
    bad_token = api.client.request(method, path, json=GOOD, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"title": "x"}',
        b"\xff\xfe\x00garbage",
        b'{"title": "T", "text": "", "zones": ["thon-1"]}',
        b'{"title": "T", "text": "   ", "zones": ["thon-1"]}',
        b'{"title": "T", "text": "abc", "zones": ["khong-co"]}',
        b'{"title": "T", "text": "abc", "zones": []}',
        b'{"title": "T", "text": "abc", "zones": ["thon-1"], "priority": "urgent"}',
        b'{"title": "T", "text": "abc\\u0000def", "zones": ["thon-1"]}',
        b'{"title": "T", "text": "abc", "zones": ["thon-1"], "extra": 1}',
        ('{"title": "T", "text": "' + "a" * 100_000 + '", "zones": ["thon-1"]}').encode(),
    ],
)
def test_bad_bodies_get_readable_422_and_store_nothing(api: Api, body: bytes) -> None:
    before = _count(api, Bulletin)
    response = api.client.post(
        "/api/bulletins", content=body, headers={**api.editor, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text  # 400: not UTF-8 at all
    detail = response.json()["detail"]
    assert isinstance(detail, str) and len(detail) > 10
    assert _count(api, Bulletin) == before


def test_html_is_read_as_text_not_markup(api: Api) -> None:
    body = {**GOOD, "text": "<script>alert(1)</script><b>Họp dân</b> lúc 8h"}
    response = api.client.post("/api/bulletins", json=body, headers=api.editor)
    assert response.status_code == 201
    assert "<" not in response.json()["spoken_text"] and "script" not in response.json()["spoken_text"]


def test_slots_need_an_approved_bulletin_and_a_valid_time(api: Api) -> None:
    created = api.client.post("/api/bulletins", json=GOOD, headers=api.editor).json()
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    draft_slot = api.client.post(
        "/api/slots", json={"bulletin_id": created["id"], "start_at": soon}, headers=api.editor
    )
    assert draft_slot.status_code == 409
    assert "chưa được duyệt" in draft_slot.json()["detail"]
    api.client.post(f"/api/bulletins/{created['id']}/approve", headers=api.approver)
    before = _count(api, Slot)
    for bad in (
        {"bulletin_id": created["id"], "start_at": "ngày mai"},
        {"bulletin_id": created["id"], "start_at": "2020-01-01T07:00:00+07:00"},
        {"bulletin_id": created["id"], "daily_at": "25:61"},
        {"bulletin_id": created["id"], "start_at": soon, "zones": ["khong-co"]},
        {"bulletin_id": created["id"]},
    ):
        response = api.client.post("/api/slots", json=bad, headers=api.editor)
        assert response.status_code == 422, (bad, response.text)
    assert (
        api.client.post(
            "/api/slots", json={"bulletin_id": 999, "start_at": soon}, headers=api.editor
        ).status_code
        == 404
    )
    assert _count(api, Slot) == before
    ok = api.client.post(
        "/api/slots",
        json={"bulletin_id": created["id"], "daily_at": "06:00", "days": ["t2", "t4"]},
        headers=api.editor,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["next_push_at"] is not None


def test_health_and_metrics(api: Api) -> None:
    health = api.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {
        "status": "ok",
        "database": True,
        "mqtt": True,
        "scheduler": True,
    }
    metrics = api.client.get("/metrics").text
    assert "loa_devices 1" in metrics and "loa_mqtt_connected 1" in metrics


def test_clip_route_rejects_traversal(api: Api) -> None:
    assert api.client.get("/clips/..%2f..%2fetc%2fpasswd").status_code == 404
    assert api.client.get("/clips/" + "0" * 64 + ".mp3").status_code == 404

"""Quiet hours per commune: its admin sets them (or none) on the settings page; slots, the programme page
and what each zone's agents are sent follow the commune of the zone; the station's setting is the default."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from broadcast import protocol
from broadcast.people import accounts
from broadcast.programme import publishing
from broadcast.scheduler.planner import ItemSpec, QuietHours, QuietRules, SlotPlan, check_quiet_hours
from broadcast.scheduler.slots import SlotError, SlotRule
from broadcast.storage.models import AuditEntry, Commune, Slot, Zone
from tests.api.conftest import Api
from tests.api.test_programme import RecordingPublisher, _ready

TZ = "Asia/Ho_Chi_Minh"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _admin(api: Api) -> dict[str, str]:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", "bao-mat-cua-xa-9")
        return {"Authorization": f"Bearer {accounts.issue_token(session, 'quantri')}"}


def _slot(api: Api, bulletin: dict[str, Any], at: str, zones: list[str]) -> int:
    body = {"bulletin_id": bulletin["id"], "daily_at": at, "zones": zones}
    return int(api.client.post("/api/slots", json=body, headers=api.approver).status_code)


@pytest.mark.quiet_hours("00:00-23:59")  # the station's default covers every daily time used below
def test_a_commune_admin_sets_quiet_hours_and_each_zone_follows_its_commune(api: Api) -> None:
    admin = _admin(api)
    bulletin = _ready(api)
    shown = api.client.get("/api/quiet-hours", headers=api.editor).json()
    assert shown == {"commune": "default", "quiet_hours": "00:00-23:59", "own": False}
    assert api.client.get("/api/quiet-hours?commune=xa-khong-co", headers=admin).status_code == 404
    assert _slot(api, bulletin, "12:00", ["thon-1"]) == 422  # the station's default applies
    refused = api.client.put("/api/quiet-hours", json={"quiet_hours": ""}, headers=api.editor)
    assert refused.status_code == 403
    bad = api.client.put("/api/quiet-hours", json={"quiet_hours": "25:00-05:00"}, headers=admin)
    assert bad.status_code == 422

    # The commune's own "none" overrides the station's default: a daytime slot is accepted.
    off = api.client.put("/api/quiet-hours", json={"quiet_hours": ""}, headers=admin).json()
    assert off == {"commune": "default", "quiet_hours": "", "own": True}
    assert _slot(api, bulletin, "12:00", ["thon-1"]) == 201
    page = api.client.get("/programme", headers=api.editor).text
    assert "Không có giờ yên tĩnh" in page and "chỉ cảnh báo khẩn cấp được phát" not in page

    # Its own span: a slot inside it is refused, saying why and how to change it.
    api.client.put("/api/quiet-hours", json={"quiet_hours": "22:00-05:00"}, headers=admin)
    night = api.client.post(
        "/api/slots", json={"bulletin_id": bulletin["id"], "daily_at": "23:00"}, headers=api.approver
    )
    assert night.status_code == 422
    assert "22:00–05:00" in night.json()["detail"] and "Cài đặt xã" in night.json()["detail"]
    page = api.client.get("/programme", headers=api.editor).text
    assert "Giờ yên tĩnh ban đêm: 22:00–05:00 — trong giờ này chỉ cảnh báo khẩn cấp được phát" in page

    # Another commune without its own setting keeps the station's default: its zone gets nothing.
    with api.station.db.session() as session:
        session.add(Commune(id="xa-khac", name="Xã Khác"))
        session.add(Zone(id="thon-9", name="Thôn 9", commune_id="xa-khac"))
    publisher = RecordingPublisher()
    ctx = publishing.PushContext(**{**api.station.push_context().__dict__, "publisher": publisher})
    # A province-wide view of the one slot, sent to both communes' zones.
    with api.station.db.session() as session:
        slot = session.scalars(select(Slot)).one()
        slot.zones = ["thon-1", "thon-9"]
    publishing.refresh(ctx, ["thon-1", "thon-9"], force=True)
    entries = {topic: json.loads(payload)["entries"] for topic, payload, _, _ in publisher.sent}
    assert len(entries[protocol.zone_programme_topic("thon-1")]) >= 1  # 12:00 daily: sent
    assert entries[protocol.zone_programme_topic("thon-9")] == []  # the station's 00:00-23:59

    with api.station.db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "quantri")))
    assert actions == ["commune.quiet_hours", "commune.quiet_hours"]


def test_the_settings_page_offers_the_default_span_and_no_quiet_hours(api: Api) -> None:
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", "bao-mat-cua-xa-9")
    client = api.client
    client.post("/login", data={"name": "quantri", "password": "bao-mat-cua-xa-9"})
    page = client.get("/admin/commune").text
    assert 'value="22:00"' in page and 'value="05:00"' in page  # the station here has none: 22-05 offered
    assert "không có giờ yên tĩnh" in page.lower()
    token = CSRF.search(page)
    assert token is not None
    saved = client.post(
        "/admin/commune",
        data={"csrf_token": token.group(1), "quiet": "on", "start": "21:30", "end": "05:30"},
    )
    assert saved.status_code == 200 and "Đã lưu: giờ yên tĩnh 21:30–05:30." in saved.text
    wrong = client.post(
        "/admin/commune", data={"csrf_token": token.group(1), "quiet": "on", "start": "21:30", "end": ""}
    )
    assert wrong.status_code == 422 and "Giờ yên tĩnh cần" in wrong.text


def test_each_zone_keeps_its_communes_quiet_hours_or_the_default() -> None:
    night, late = QuietHours(time(22), time(5)), QuietHours(time(23, 30), time(6))
    rules = QuietRules(night, {"thon-a": None, "thon-b": late})  # a: its commune has none; b: its own
    slot = SlotPlan(
        1,
        SlotRule(daily_at="22:30"),
        ("thon-a", "thon-b", "thon-c"),
        (ItemSpec(1, "bulletin", 60, "normal", 0, "x"),),
    )
    at = datetime(2026, 12, 6, 22, 30, tzinfo=ZoneInfo(TZ))
    assert rules.quiet_zones(slot, at, TZ) == {"thon-c"}  # only the default's 22:00 holds it back
    assert rules.quiet_zones(slot, at.replace(hour=23, minute=45), TZ) == {"thon-b", "thon-c"}
    assert rules.spans(slot.zones) == [late, night]
    with pytest.raises(SlotError, match="22:00–05:00"):
        check_quiet_hours(slot, rules, TZ, at - timedelta(hours=1))
    check_quiet_hours(replace(slot, zones=("thon-a",)), rules, TZ, at - timedelta(hours=1))  # no quiet hours

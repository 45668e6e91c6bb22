"""Multi-commune tenancy through the real station: two communes, their officers and a province admin.

Every list answers only what the caller's commune owns; another commune's record answers 404 (its id does
not leak); another commune's zone is refused like a zone that does not exist; the province sees both.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from broadcast import domain, protocol, reports
from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.fleet import devices
from broadcast.people import accounts, tenancy
from broadcast.station import Station
from broadcast.storage.models import Alert, Bulletin, Slot, Zone
from tests.support import database
from tests.support.free_port import free_port

Headers = dict[str, str]
PASSWORD = "song-hong-chay-qua"
USERS = {  # name: (role, commune)
    "a-bientap": ("editor", "xa-a"),
    "a-duyet": ("approver", "xa-a"),
    "b-duyet": ("approver", "xa-b"),
    "tinh": ("admin", None),
}
DEVICES = {"loa-a1": ("thon-a", "xa-a"), "loa-b1": ("thon-b", "xa-b"), "loa-1": ("thon-1", "default")}


@dataclass
class World:
    client: TestClient
    station: Station
    headers: dict[str, Headers]
    bulletin: dict[str, int]  # commune -> an approved bulletin of it
    slot: dict[str, int]
    alert: dict[str, int]

    def get(self, who: str, path: str, **params: Any) -> Any:
        response = self.client.get(path, headers=self.headers[who], params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, who: str, path: str, body: Any = None) -> Any:
        return self.client.post(path, json=body, headers=self.headers[who])

    def commune_of(self, model: type[Bulletin] | type[Slot] | type[Alert], ids: set[int]) -> set[str]:
        with self.station.db.session() as session:
            return set(session.scalars(select(model.commune_id).where(model.id.in_(ids))))


def _start_at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("tenancy")
    settings = Settings(
        data_dir=tmp / "var",
        database_url=database.fresh_database_url(tmp / "db"),
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        push_lead_s=1.0,
        quiet_hours="",  # the slots below must not depend on the time of day the suite runs
    )
    with TestClient(create_app(settings)) as client:
        station: Station = client.app.state.station  # type: ignore[attr-defined]
        headers: dict[str, Headers] = {}
        with station.db.session() as session:
            tenancy.add_commune(session, "xa-a", "Xã An", "test")
            tenancy.add_commune(session, "xa-b", "Xã Bình", "test")
            for device_id, (zone, commune) in DEVICES.items():
                devices.add_device(
                    session, settings.broker, device_id, zone, tmp / device_id, "file:p", "t", commune
                )
            for name, (role, scope) in USERS.items():
                accounts.add_user(session, name, role, f"{PASSWORD}-{role}", scope)
                headers[name] = {"Authorization": f"Bearer {accounts.issue_token(session, name)}"}
        w = World(client, station, headers, {}, {}, {})
        for commune, approver, zone in (("xa-a", "a-duyet", "thon-a"), ("xa-b", "b-duyet", "thon-b")):
            body = {"title": f"Tin {commune}", "text": "Xã họp dân lúc 8 giờ sáng.", "zones": [zone]}
            created = w.post(approver, "/api/bulletins", body)
            assert created.status_code == 201, created.text
            w.bulletin[commune] = created.json()["id"]
            assert w.post(approver, f"/api/bulletins/{w.bulletin[commune]}/approve").status_code == 200
            hours = 3 if commune == "xa-a" else 4
            slot = w.post(
                approver, "/api/slots", {"bulletin_id": w.bulletin[commune], "start_at": _start_at(hours)}
            )
            assert slot.status_code == 201, slot.text
            w.slot[commune] = slot.json()["id"]
            alert = w.post(approver, "/api/alerts", {"text": f"Lũ về {commune}", "zones": [zone]})
            assert alert.status_code == 201, alert.text
            w.alert[commune] = alert.json()["id"]
        now = time.time()
        for device_id in DEVICES:
            message = protocol.PlayReport(device_id, f"cmd-{device_id}", "a" * 64, now, 30.0, "normal")
            topic = protocol.device_event_topic(device_id)
            reports.ingest(station.db, topic, protocol.encode_agent_message(message))
        yield w


def test_accounts_carry_their_commune(world: World) -> None:
    with world.station.db.session() as session:
        secret = world.headers["a-bientap"]["Authorization"].split()[1]
        officer = accounts.principal_for_token(session, secret, "api")
        province = accounts.authenticate(session, "tinh", f"{PASSWORD}-admin")
        with pytest.raises(domain.Invalid, match="Không có xã"):
            accounts.add_user(session, "ma", "editor", PASSWORD, "xa-khong-co")
    assert officer is not None and officer.commune == "xa-a" and not officer.is_province
    assert province is not None and province.commune is None and province.is_province


def test_new_records_belong_to_the_commune_of_their_zones(world: World) -> None:
    for commune in ("xa-a", "xa-b"):
        assert world.commune_of(Bulletin, {world.bulletin[commune]}) == {commune}
        assert world.commune_of(Slot, {world.slot[commune]}) == {commune}
        assert world.commune_of(Alert, {world.alert[commune]}) == {commune}


@pytest.mark.parametrize(
    ("who", "communes"), [("a-bientap", {"xa-a"}), ("b-duyet", {"xa-b"}), ("tinh", None)]
)
def test_every_list_shows_only_the_callers_commune(world: World, who: str, communes: set[str] | None) -> None:
    everything = {"xa-a", "xa-b", "default"}
    wanted = communes or everything
    zones = {z for z, c in DEVICES.values() if c in wanted}
    own = {c for c in wanted if c in world.bulletin}

    bulletins = {b["id"] for b in world.get(who, "/api/bulletins")}
    assert {world.bulletin[c] for c in own} <= bulletins
    assert world.commune_of(Bulletin, bulletins) <= wanted
    slots = {s["id"] for s in world.get(who, "/api/slots")}
    assert {world.slot[c] for c in own} <= slots
    assert world.commune_of(Slot, slots) <= wanted
    alerts = {a["id"] for a in world.get(who, "/api/alerts")}
    assert {world.alert[c] for c in own} <= alerts
    assert world.commune_of(Alert, alerts) <= wanted
    planned = world.get(who, "/api/programme")
    assert {e["slot_id"] for e in planned} >= {world.slot[c] for c in own}
    assert {z for e in planned for z in e["zones"]} <= zones

    mine = {d for d, (_, c) in DEVICES.items() if c in wanted}
    assert {d["id"] for d in world.get(who, "/api/devices")} == mine
    assert {p["device_id"] for p in world.get(who, "/api/plays")} == mine
    exported = world.client.get("/api/plays.csv", headers=world.headers[who])
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))[1:]
    assert {r[0] for r in rows} == mine
    assert {r["zone"] for r in world.get(who, "/api/reports/daily")} == zones


def test_another_communes_records_answer_404(world: World) -> None:
    b_bulletin, b_slot, b_alert = world.bulletin["xa-b"], world.slot["xa-b"], world.alert["xa-b"]
    officer = world.headers["a-duyet"]
    c = world.client
    for response in (
        c.get(f"/api/bulletins/{b_bulletin}", headers=officer),
        c.post(f"/api/bulletins/{b_bulletin}/approve", headers=officer),
        c.post(f"/api/bulletins/{b_bulletin}/render", headers=officer),
        c.post("/api/slots", json={"bulletin_id": b_bulletin, "start_at": _start_at(5)}, headers=officer),
        c.put(f"/api/slots/{b_slot}/items", json={"items": [{"bulletin_id": b_bulletin}]}, headers=officer),
        c.delete(f"/api/slots/{b_slot}", headers=officer),
        c.get(f"/api/alerts/{b_alert}", headers=officer),
        c.get(f"/api/alerts/{b_alert}/cap", headers=officer),
        c.post(f"/api/alerts/{b_alert}/confirm", headers=officer),
        c.post(f"/api/alerts/{b_alert}/cancel", headers=officer),
        c.post("/api/alerts", json={"bulletin_id": b_bulletin}, headers=officer),
        c.post("/api/devices/loa-b1/volume", json={"level": 40}, headers=officer),
        c.post("/api/devices/loa-b1/test-tone", json={}, headers=officer),
    ):
        assert response.status_code == 404, (response.request.url, response.text)
    # the same answer as an id that does not exist: nothing tells the officer B's record is there
    missing = c.get("/api/bulletins/999999", headers=officer).json()["detail"]
    assert c.get(f"/api/bulletins/{b_bulletin}", headers=officer).json()["detail"] == missing.replace(
        "999999", str(b_bulletin)
    )
    with world.station.db.session() as session:
        slot = session.get(Slot, b_slot)
        assert slot is not None and slot.active  # nothing changed
    assert world.get("b-duyet", f"/api/alerts/{b_alert}")["status"] == "sent"


def test_another_communes_zone_is_refused_like_an_unknown_one(world: World) -> None:
    officer = "a-bientap"
    for zones in (["thon-b"], ["thon-a", "thon-b"], ["thon-khong-co"]):
        body = {"title": "Thử", "text": "Nội dung thử.", "zones": zones}
        refused = world.post(officer, "/api/bulletins", body)
        assert refused.status_code == 422
        assert "Vùng không tồn tại" in refused.json()["detail"]
        alert = world.post("a-duyet", "/api/alerts", {"text": "Cháy!", "zones": zones})
        assert alert.status_code == 422
        assert "Vùng không tồn tại" in alert.json()["detail"]
    ready = world.bulletin["xa-a"]
    slot = world.post(
        "a-duyet", "/api/slots", {"bulletin_id": ready, "zones": ["thon-b"], "start_at": _start_at(6)}
    )
    assert slot.status_code == 422
    everywhere = world.post("a-duyet", "/api/alerts", {"text": "Bão sắp vào, bà con chằng chống nhà cửa."})
    assert everywhere.status_code == 201, everywhere.text
    assert everywhere.json()["zones"] == ["thon-a"]  # "every zone" of an officer is every zone of theirs
    assert everywhere.json()["devices"] == 1
    world.post("a-duyet", f"/api/alerts/{everywhere.json()['id']}/cancel")


def test_the_province_sees_both_and_may_span_communes(world: World) -> None:
    body = {"title": "Tin của tỉnh", "text": "Tỉnh thông báo lịch cắt điện.", "zones": ["thon-a", "thon-b"]}
    created = world.post("tinh", "/api/bulletins", body)
    assert created.status_code == 201, created.text
    spanning = created.json()["id"]
    assert world.commune_of(Bulletin, {spanning}) == {"xa-a"}  # filed under its first zone's commune
    for commune in ("xa-a", "xa-b"):
        assert world.get("tinh", f"/api/bulletins/{world.bulletin[commune]}")["id"] == world.bulletin[commune]
    # xa-a's approver sees it but may not approve what also airs in xa-b; xa-b's does not see it at all
    refused = world.post("a-duyet", f"/api/bulletins/{spanning}/approve")
    assert refused.status_code == 403
    assert "xã khác" in refused.json()["detail"]
    assert world.post("b-duyet", f"/api/bulletins/{spanning}/approve").status_code == 404
    assert world.post("tinh", f"/api/bulletins/{spanning}/approve").json()["status"] == "ready"

    alert = world.post("tinh", "/api/alerts", {"text": "Bão số 3 đổ bộ, toàn tỉnh sơ tán.", "repeat": 1})
    assert alert.status_code == 201, alert.text
    out = alert.json()
    assert set(out["zones"]) == {"thon-1", "thon-a", "thon-b"} and out["devices"] == 3
    # filed under the commune of its first zone (thon-1: "default"), so xa-a's officers do not list it
    assert world.client.get(f"/api/alerts/{out['id']}", headers=world.headers["a-bientap"]).status_code == 404
    assert out["id"] not in {a["id"] for a in world.get("a-bientap", "/api/alerts")}
    cancel = world.post("tinh", f"/api/alerts/{out['id']}/cancel")
    assert cancel.json()["status"] == "cancelled"


def test_pages_show_only_the_callers_commune(world: World) -> None:
    officer = world.headers["a-duyet"]
    c = world.client
    listing = c.get("/bulletins", headers=officer).text
    assert "Tin xa-a" in listing and "Tin xa-b" not in listing
    assert 'value="thon-a"' in listing and 'value="thon-b"' not in listing
    devices_page = c.get("/devices", headers=officer).text
    assert "loa-a1" in devices_page and "loa-b1" not in devices_page
    programme = c.get("/programme", params={"zone": "thon-b"}, headers=officer).text
    assert "thon-b" not in programme  # another commune's zone falls back to one of the officer's
    emergency = c.get("/emergency", headers=officer).text
    assert 'value="thon-a"' in emergency and 'value="thon-b"' not in emergency
    assert c.get(f"/bulletins/{world.bulletin['xa-b']}", headers=officer).status_code == 404
    assert c.get(f"/emergency/{world.alert['xa-b']}", headers=officer).status_code == 404
    province = c.get("/devices", headers=world.headers["tinh"]).text
    assert "loa-a1" in province and "loa-b1" in province


def test_zone_communes_and_visible_zones(world: World) -> None:
    with world.station.db.session() as session:
        officer = accounts.principal_for_token(session, world.headers["b-duyet"]["Authorization"][7:], "api")
        assert officer is not None
        assert [z.id for z in tenancy.visible_zones(session, officer)] == ["thon-b"]
        assert tenancy.zone_communes(session, ["thon-b", "nowhere", "thon-a"]) == {
            "thon-b": "xa-b",
            "thon-a": "xa-a",
        }
        assert [c.id for c in tenancy.visible_communes(session, officer)] == ["xa-b"]
        assert {c.id for c in tenancy.list_communes(session)} >= {"default", "xa-a", "xa-b"}
        assert session.get(Zone, "thon-a") is not None
        with pytest.raises(domain.Conflict, match="đã tồn tại"):
            tenancy.add_commune(session, "xa-a", "Lần nữa", "test")
        with pytest.raises(domain.Invalid, match="Mã xã"):
            tenancy.add_commune(session, "Xã A", "Sai mã", "test")
        with pytest.raises(domain.Conflict, match="thuộc xã"):
            devices.add_device(
                session, world.station.settings.broker, "loa-x", "thon-a", Path("s"), "file:p", "t", "xa-b"
            )

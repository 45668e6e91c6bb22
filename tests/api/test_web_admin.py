"""Admin pages: accounts, zones and devices — admins only, audited, scoped to a commune, bad input kept."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from broadcast.mqtt.credentials import check_password
from broadcast.people import accounts, tenancy
from broadcast.storage.models import AuditEntry, Device, User, Zone
from edge_agent.config import load_config
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ADMIN_PASSWORD = "dai-phat-thanh-an-toan"


@pytest.fixture
def admin(api: Api) -> str:
    """Create an admin account and log the shared client in as it; return the CSRF token."""
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", ADMIN_PASSWORD)
    return login(api.client, "quantri", ADMIN_PASSWORD)


def login(client: TestClient, name: str, password: str) -> str:
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = CSRF.search(client.get("/devices").text)
    assert match
    return match.group(1)


def other_client(api: Api) -> TestClient:
    """A second browser on the same running station (its own cookies)."""
    return TestClient(api.client.app)


def audits(api: Api, action: str) -> list[AuditEntry]:
    with api.station.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_admin_pages_are_for_admins_only(api: Api) -> None:
    assert api.client.get("/admin/users", follow_redirects=False).headers["location"] == "/login"
    token = login(api.client, "canbo", "mat-khau-bien-tap")
    assert 'href="/admin/users"' not in api.client.get("/devices").text
    for path in ("/admin/users", "/admin/zones", "/admin/devices"):
        page = api.client.get(path)
        assert page.status_code == 403
        assert "Không có quyền truy cập" in page.text
    posts = {
        "/admin/users": {
            "name": "ke-gian",
            "role": "admin",
            "password": ADMIN_PASSWORD,
            "confirm": ADMIN_PASSWORD,
        },
        "/admin/zones": {"zone_id": "thon-9", "name": "Thôn Chín"},
        "/admin/devices": {"device_id": "loa-9", "zone": "thon-1", "output": "alsa"},
        "/admin/zones/thon-1": {"name": "Đổi tên"},
        "/admin/devices/loa-1/location": {"latitude": "21", "longitude": "105"},
        "/admin/users/chutich/state": {"action": "disable"},
    }
    for path, data in posts.items():
        assert api.client.post(path, data={"csrf_token": token, **data}).status_code == 403
    with api.station.db.session() as session:
        assert session.scalar(select(User).where(User.name == "ke-gian")) is None
        assert session.get(Zone, "thon-9") is None and session.get(Device, "loa-9") is None
        assert session.get(Zone, "thon-1").name == "thon-1"  # type: ignore[union-attr]
        assert not session.scalar(select(User).where(User.name == "chutich")).disabled  # type: ignore[union-attr]


def test_admin_adds_an_account_under_the_password_policy(api: Api, admin: str) -> None:
    assert 'href="/admin/users"' in api.client.get("/devices").text
    form = {"csrf_token": admin, "name": "thu-ky", "role": "approver", "commune": "default"}
    weak = api.client.post(
        "/admin/users", data={**form, "password": "anhyeuem2024", "confirm": "anhyeuem2024"}
    )
    assert weak.status_code == 422
    assert "Mật khẩu quá phổ biến" in weak.text
    assert (
        'value="thu-ky"' in weak.text and "anhyeuem2024" not in weak.text
    )  # name kept, password never echoed
    assert re.search(r'<option value="approver" selected>', weak.text)
    mismatch = api.client.post(
        "/admin/users", data={**form, "password": "hai-lan-khac-nhau", "confirm": "hai-lan-khac-nhau!"}
    )
    assert mismatch.status_code == 422 and "không khớp" in mismatch.text
    bad_name = api.client.post(
        "/admin/users",
        data={**form, "name": "Thư ký", "password": "cay-tre-lang-ta", "confirm": "cay-tre-lang-ta"},
    )
    assert bad_name.status_code == 422 and "Tên đăng nhập chỉ gồm" in bad_name.text
    with api.station.db.session() as session:
        assert session.scalar(select(User).where(User.name == "thu-ky")) is None

    created = api.client.post(
        "/admin/users", data={**form, "password": "cay-tre-lang-ta", "confirm": "cay-tre-lang-ta"}
    )
    assert created.status_code == 200 and "Đã tạo tài khoản thu-ky" in created.text
    again = api.client.post(
        "/admin/users", data={**form, "password": "cay-tre-lang-ta", "confirm": "cay-tre-lang-ta"}
    )
    assert again.status_code == 409 and "đã tồn tại" in again.text
    with api.station.db.session() as session:
        user = session.scalar(select(User).where(User.name == "thu-ky"))
        assert user is not None and user.role == "approver" and user.commune_id == "default"
    (entry,) = audits(api, "user.add")
    assert (entry.actor, entry.target, entry.address) == ("quantri", "user:thu-ky", "testclient")
    assert entry.detail == {"role": "approver", "commune": "default"}
    login(other_client(api), "thu-ky", "cay-tre-lang-ta")


def test_lock_unlock_and_reset_a_password(api: Api, admin: str) -> None:
    officer = other_client(api)
    login(officer, "canbo", "mat-khau-bien-tap")
    state = "/admin/users/canbo/state"
    locked = api.client.post(state, data={"csrf_token": admin, "action": "disable"})
    assert locked.status_code == 200 and "Đã khoá tài khoản canbo" in locked.text
    assert officer.get("/bulletins", follow_redirects=False).headers["location"] == "/login"  # session ended
    assert api.client.get("/api/bulletins", headers=api.editor).status_code == 401  # API token too
    refused = officer.post("/login", data={"name": "canbo", "password": "mat-khau-bien-tap"})
    assert refused.status_code == 401
    myself = api.client.post("/admin/users/quantri/state", data={"csrf_token": admin, "action": "disable"})
    assert myself.status_code == 422 and "Không thể tự khoá" in myself.text
    own = api.client.post("/admin/users/quantri/state", data={"csrf_token": admin, "action": "reset"})
    assert own.status_code == 422 and "trang Tài khoản" in own.text
    assert api.client.post(state, data={"csrf_token": admin, "action": "enable"}).status_code == 200
    login(officer, "canbo", "mat-khau-bien-tap")

    reset = api.client.post(state, data={"csrf_token": admin, "action": "reset"})
    assert reset.status_code == 200
    assert reset.headers["cache-control"] == "no-store"
    match = re.search(r'id="new-password" class="mono" readonly value="([^"]+)"', reset.text)
    assert match
    password = html.unescape(match.group(1))
    assert officer.get("/bulletins", follow_redirects=False).headers["location"] == "/login"
    assert officer.post("/login", data={"name": "canbo", "password": "mat-khau-bien-tap"}).status_code == 401
    login(officer, "canbo", password)
    assert 'id="new-password"' not in api.client.get("/admin/users").text  # shown once
    assert [e.target for e in audits(api, "user.reset_password")] == ["user:canbo"]
    assert [e.actor for e in audits(api, "user.disable")] == ["quantri"]
    assert api.client.post(state, data={"csrf_token": admin, "action": "xoa"}).status_code == 422
    assert (
        api.client.post(
            "/admin/users/khong-co/state", data={"csrf_token": admin, "action": "reset"}
        ).status_code
        == 404
    )


def test_zones_add_rename_and_coordinates(api: Api, admin: str) -> None:
    add = {
        "csrf_token": admin,
        "zone_id": "thon-2",
        "name": "Thôn Hai",
        "latitude": "21,0285",
        "longitude": "105.8542",
    }
    bad_id = api.client.post("/admin/zones", data={**add, "zone_id": "Thôn 2"})
    assert bad_id.status_code == 422 and "Mã vùng không hợp lệ" in bad_id.text
    assert 'value="Thôn Hai"' in bad_id.text and 'value="21,0285"' in bad_id.text
    half = api.client.post("/admin/zones", data={**add, "longitude": ""})
    assert half.status_code == 422 and "cả vĩ độ và kinh độ" in half.text
    far = api.client.post("/admin/zones", data={**add, "latitude": "95"})
    assert far.status_code == 422 and "Vĩ độ phải từ -90 đến 90" in far.text
    words = api.client.post("/admin/zones", data={**add, "latitude": "hai mốt"})
    assert words.status_code == 422 and "số thập phân" in words.text
    with api.station.db.session() as session:
        assert session.get(Zone, "thon-2") is None
    assert "Đã thêm vùng thon-2" in api.client.post("/admin/zones", data=add).text
    assert api.client.post("/admin/zones", data=add).status_code == 409

    edit = {"csrf_token": admin, "name": "Thôn Một", "latitude": "21.01", "longitude": "105.81"}
    saved = api.client.post("/admin/zones/thon-1", data=edit)
    assert saved.status_code == 200 and "Đã lưu vùng thon-1" in saved.text
    bad = api.client.post("/admin/zones/thon-1", data={**edit, "name": " ", "latitude": "21.5"})
    assert bad.status_code == 422 and 'class="has-error"' in bad.text and 'value="21.5"' in bad.text
    assert api.client.post("/admin/zones/thon-9", data=edit).status_code == 404
    with api.station.db.session() as session:
        two, one = session.get(Zone, "thon-2"), session.get(Zone, "thon-1")
        assert two is not None and (two.name, two.latitude, two.longitude) == ("Thôn Hai", 21.0285, 105.8542)
        assert one is not None and (one.name, one.latitude, one.longitude) == ("Thôn Một", 21.01, 105.81)
    (update,) = audits(api, "zone.update")
    assert update.detail["before"] == {"name": "thon-1", "latitude": None, "longitude": None}
    assert update.detail["after"]["name"] == "Thôn Một"
    assert [e.target for e in audits(api, "zone.add")] == ["zone:thon-2"]


def test_admin_enrols_a_device_exactly_like_the_cli(api: Api, admin: str, tmp_path: Path) -> None:
    form = {
        "csrf_token": admin,
        "device_id": "loa-2",
        "zone": "thon-1",
        "output": "alsa",
        "latitude": "21.02",
        "longitude": "105.82",
    }
    for bad, status, message in (
        ({"device_id": "Loa 2"}, 422, "Mã thiết bị không hợp lệ"),
        ({"device_id": "station"}, 422, "Mã thiết bị không hợp lệ"),
        ({"zone": "thon-9"}, 404, "Không có vùng"),
        ({"output": "loa-keo"}, 422, "Chọn cách phát"),
        ({"latitude": "210"}, 422, "Vĩ độ"),
        ({"device_id": "loa-1"}, 409, "đã tồn tại"),
    ):
        refused = api.client.post("/admin/devices", data={**form, **bad})
        assert refused.status_code == status, (bad, refused.text)
        assert message in refused.text
        assert "agent-toml" not in refused.text
    with api.station.db.session() as session:
        assert session.get(Device, "loa-2") is None and session.get(Zone, "thon-9") is None

    added = api.client.post("/admin/devices", data=form)
    assert added.status_code == 200
    assert added.headers["cache-control"] == "no-store"
    match = re.search(r'<textarea id="agent-toml"[^>]*>(.*?)</textarea>', added.text, re.S)
    assert match
    toml = html.unescape(match.group(1))
    path = tmp_path / "agent.toml"
    path.write_text(toml, encoding="utf-8")
    config = load_config(path)  # the agent itself accepts it
    assert (config.device_id, config.zones, config.mqtt_username, config.output) == (
        "loa-2",
        ("thon-1",),
        "loa-2",
        "alsa",
    )
    with api.station.db.session() as session:
        device = session.get(Device, "loa-2")
        assert device is not None and (device.latitude, device.longitude) == (21.02, 105.82)
        assert check_password(config.mqtt_password, device.mqtt_password_hash)
    passwd = (api.station.settings.broker_dir / "passwd").read_text()
    stored = next(line.split(":", 1)[1] for line in passwd.splitlines() if line.startswith("loa-2:"))
    assert check_password(config.mqtt_password, stored)  # the broker knows it at once
    assert config.mqtt_password not in api.client.get("/admin/devices").text  # shown once only
    (entry,) = [e for e in audits(api, "device.add") if e.target == "device:loa-2"]
    assert (entry.actor, entry.address, entry.detail) == ("quantri", "testclient", {"zone": "thon-1"})

    test_device = api.client.post("/admin/devices", data={**form, "device_id": "loa-3", "output": "file"})
    assert 'output = "file:plays-loa-3"' in html.unescape(test_device.text)


def test_device_location_from_the_page_and_the_api(api: Api, admin: str) -> None:
    url = "/admin/devices/loa-1/location"
    saved = api.client.post(
        url, data={"csrf_token": admin, "latitude": "10.762622", "longitude": "106.660172"}
    )
    assert saved.status_code == 200 and "Đã lưu vị trí của loa-1" in saved.text
    bad = api.client.post(url, data={"csrf_token": admin, "latitude": "10.7", "longitude": "200"})
    assert bad.status_code == 422 and "Kinh độ phải từ -180 đến 180" in bad.text and 'value="200"' in bad.text
    assert api.client.post("/admin/devices/khong-co/location", data={"csrf_token": admin}).status_code == 404
    with api.station.db.session() as session:
        device = session.get(Device, "loa-1")
        assert device is not None and (device.latitude, device.longitude) == (10.762622, 106.660172)
    assert [e.detail["after"] for e in audits(api, "device.location")] == [[10.762622, 106.660172]]

    body = {"latitude": None, "longitude": None}
    assert api.client.put("/api/devices/loa-1/location", json=body, headers=api.approver).status_code == 403
    with api.station.db.session() as session:
        token = accounts.issue_token(session, "quantri")
    headers = {"Authorization": f"Bearer {token}"}
    half = api.client.put("/api/devices/loa-1/location", json={"latitude": 10.0}, headers=headers)
    assert half.status_code == 422 and "cả vĩ độ và kinh độ" in half.json()["detail"]
    cleared = api.client.put("/api/devices/loa-1/location", json=body, headers=headers)
    assert cleared.json() == {"device_id": "loa-1", "latitude": None, "longitude": None}


def test_a_commune_admin_manages_only_their_commune(api: Api) -> None:
    with api.station.db.session() as session:
        tenancy.add_commune(session, "xa-b", "Xã B", "test")
        session.add(Zone(id="thon-b1", name="Thôn B1", commune_id="xa-b"))
        accounts.add_user(session, "qt-xab", "admin", ADMIN_PASSWORD, "xa-b")
        accounts.add_user(session, "canbo-b", "editor", "cay-tre-lang-ta", "xa-b")
    token = login(api.client, "qt-xab", ADMIN_PASSWORD)
    users = api.client.get("/admin/users").text
    assert "canbo-b" in users and "canbo" not in users.replace("canbo-b", "")
    assert "Cấp tỉnh (mọi xã)" not in users
    zones = api.client.get("/admin/zones").text
    assert "thon-b1" in zones and "thon-1" not in zones
    assert "loa-1" not in api.client.get("/admin/devices").text

    edit = {"csrf_token": token, "name": "Chiếm", "latitude": "", "longitude": ""}
    assert api.client.post("/admin/zones/thon-1", data=edit).status_code == 404
    assert api.client.post("/admin/devices/loa-1/location", data={"csrf_token": token}).status_code == 404
    assert (
        api.client.post("/admin/users/canbo/state", data={"csrf_token": token, "action": "reset"}).status_code
        == 404
    )
    revoke = {"csrf_token": token, "confirm": "yes"}
    assert api.client.post("/admin/devices/loa-1/revoke", data=revoke).status_code == 404
    device = {"csrf_token": token, "device_id": "loa-x", "zone": "thon-1", "output": "alsa"}
    assert api.client.post("/admin/devices", data=device).status_code == 404
    new = {
        "csrf_token": token,
        "name": "thu-ky-b",
        "role": "editor",
        "password": "cay-tre-lang-ta",
        "confirm": "cay-tre-lang-ta",
    }
    assert api.client.post("/admin/users", data={**new, "commune": "__province__"}).status_code == 403
    assert api.client.post("/admin/users", data={**new, "commune": "default"}).status_code == 403
    assert (
        api.client.post("/admin/zones", data={**edit, "zone_id": "thon-b2", "commune": "default"}).status_code
        == 403
    )
    assert api.client.post("/admin/users", data={**new, "commune": ""}).status_code == 200
    assert (
        api.client.post("/admin/zones", data={**edit, "zone_id": "thon-b2", "name": "Thôn B2"}).status_code
        == 200
    )
    with api.station.db.session() as session:
        assert session.scalar(select(User.commune_id).where(User.name == "thu-ky-b")) == "xa-b"
        assert session.get(Zone, "thon-b2").commune_id == "xa-b"  # type: ignore[union-attr]
        assert session.get(Zone, "thon-1").name == "thon-1"  # type: ignore[union-attr]
        assert not session.get(Device, "loa-1").revoked  # type: ignore[union-attr]


def test_admin_revokes_a_device_after_confirming(api: Api, admin: str) -> None:
    url = "/admin/devices/loa-1/revoke"
    unconfirmed = api.client.post(url, data={"csrf_token": admin})
    assert unconfirmed.status_code == 422 and "đánh dấu ô xác nhận" in unconfirmed.text
    with api.station.db.session() as session:
        assert not session.get(Device, "loa-1").revoked  # type: ignore[union-attr]
    assert "loa-1:" in (api.station.settings.broker_dir / "passwd").read_text()

    done = api.client.post(url, data={"csrf_token": admin, "confirm": "yes"})
    assert done.status_code == 200 and "Đã thu hồi thiết bị loa-1" in done.text
    assert "Đã thu hồi</span>" in done.text
    assert "loa-1:" not in (api.station.settings.broker_dir / "passwd").read_text()
    (entry,) = audits(api, "device.revoke")
    assert (entry.actor, entry.target, entry.address) == ("quantri", "device:loa-1", "testclient")
    again = api.client.post(url, data={"csrf_token": admin, "confirm": "yes"})
    assert again.status_code == 409 and "đã bị thu hồi" in again.text
    assert 'href="/devices/loa-1"' not in api.client.get("/devices").text  # gone from the working list
    assert (
        api.client.post(
            "/admin/devices/khong-co/revoke", data={"csrf_token": admin, "confirm": "yes"}
        ).status_code
        == 404
    )

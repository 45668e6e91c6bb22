"""Issue 17, plain words: devices with problems, play-log rows, audit sentences, names instead of ids."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcast import domain, protocol, reports
from broadcast.fleet import devices, refusal_text, station_address
from broadcast.fleet.queries import DeviceProblem, device_problems
from broadcast.people import accounts, audit_text, names
from broadcast.storage.models import (
    Alert,
    AuditEntry,
    Bulletin,
    Clip,
    Command,
    Commune,
    Device,
    LiveSession,
    Play,
    User,
    Zone,
)
from tests.api.conftest import Api
from tests.api.test_reports_page import login

BAD_URL = "clip url 'http://127.0.0.1:8000/clips/x.mp3' is not under the station url"


def _reject(api: Api, device: str, command: str, reason: str) -> None:
    message = protocol.CommandRejected(device, command, reason)
    reports.ingest(
        api.station.db, protocol.device_event_topic(device), protocol.encode_agent_message(message)
    )


def test_device_problems_offline_clock_refusing(api: Api) -> None:
    settings = api.station.settings
    now = datetime.now(UTC)
    with api.station.db.session() as session:
        for device_id in ("loa-2", "loa-3", "loa-4"):
            devices.add_device(
                session, settings.broker, device_id, "thon-2", settings.data_dir, "file:x", "t"
            )
        session.get(Zone, "thon-2").name = "Thôn Hai"  # type: ignore[union-attr]
        for device_id in ("loa-1", "loa-2", "loa-3", "loa-4"):
            session.get(Device, device_id).online = True  # type: ignore[union-attr]
        loa2, loa3 = session.get(Device, "loa-2"), session.get(Device, "loa-3")
        assert loa2 is not None and loa3 is not None
        loa2.health = {"clock_offset_ms": 180.0, "clock_source": "ntp"}  # over the 50 ms default
        loa3.health = {"clock_offset_ms": 562.0, "clock_source": "http"}  # within a Date header's ±1 s
        loa3.settings = {"ntp_warn_ms": 10.0}
        session.get(Device, "loa-4").online = False  # type: ignore[union-attr]
    _reject(api, "loa-1", "c-old", "missed start by 3.2 s (output busy)")
    _reject(api, "loa-1", "c-new", BAD_URL)
    _reject(api, "loa-3", "c-cancel", "cancelled by x after 1 of 3 repeats")  # an officer's cancel
    with api.station.db.session() as session:  # a refusal two days ago is no longer a problem
        session.add(
            Play(
                device_id="loa-3",
                command_id="c-gone",
                outcome="rejected",
                reason=BAD_URL,
                reported_at=now - timedelta(days=2),
            )
        )

    with api.station.db.session() as session:
        found = device_problems(session, None, now + timedelta(seconds=1))
    assert [(p.device_id, p.kind) for p in found] == [
        ("loa-4", "offline"),
        ("loa-1", "refusing"),
        ("loa-2", "clock"),
    ]
    offline, refusing, clock = found
    assert offline.zone == "Thôn Hai" and offline.since is None and "chưa từng kết nối" in offline.detail
    assert refusing.zone == "thon-1"  # a zone without a name: its id
    assert refusing.detail.startswith("Từ chối 2 lệnh trong 24 giờ qua.")
    assert "địa chỉ trạm" in refusing.detail and "not under" not in refusing.detail
    assert refusing.since is not None and refusing.since <= now + timedelta(seconds=1)
    assert clock.detail == "Đồng hồ nhanh 180 ms so với chuẩn (ngưỡng cảnh báo 50 ms)."
    assert isinstance(clock, DeviceProblem)


def test_refusal_reasons_in_vietnamese() -> None:
    assert (
        refusal_text.describe("missed start by 3.2 s (output busy)") == "Lỡ giờ phát 3 giây vì loa đang bận."
    )
    assert refusal_text.describe("expired after 2 of 3 repeats") == "Hết hạn sau 2/3 lần phát."
    assert refusal_text.describe("something new") == "Cụm loa từ chối: something new"
    assert refusal_text.is_officer_action("cancelled before it arrived")


def test_station_address_recorded_or_refused(tmp_path: Path) -> None:
    with pytest.raises(domain.Invalid, match="BROADCAST_PUBLIC_URL"):
        station_address.agent_url(None, tmp_path)
    station_address.record(tmp_path, "http://10.0.0.5:9000/")
    assert station_address.agent_url(None, tmp_path) == "http://10.0.0.5:9000"
    assert station_address.agent_url("https://loa.example/", tmp_path) == "https://loa.example"
    assert station_address.is_loopback("http://127.0.0.1:8080") and not station_address.is_loopback(
        "http://10.0.0.5"
    )


def _command(
    session: Session, command_id: str, kind: str, bulletin_id: int | None = None, **body: object
) -> None:
    seq = int(session.scalar(select(func.max(Command.seq))) or 0) + 1
    payload = json.dumps({"id": command_id, "kind": kind, **body})
    start = datetime.now(UTC)
    row = Command(
        id=command_id, seq=seq, kind=kind, bulletin_id=bulletin_id, start_at=start, zones=["thon-1"]
    )
    row.payload = payload
    session.add(row)


ALERT_TEXT = "Lũ quét đang về thôn một, bà con di chuyển ngay lên vùng cao theo hướng dẫn của xã"


def test_the_play_log_says_what_played(api: Api) -> None:
    ids = {k: str(uuid.uuid4()) for k in ("bulletin", "alert", "tone", "stream")}
    now = datetime.now(UTC)
    with api.station.db.session() as session:
        author = session.scalar(select(User.id).where(User.name == "canbo"))
        session.add(Clip(sha256="c" * 64, size=1, duration_s=5.0, loudness_lufs=-16.0))
        session.flush()  # the bulletin references it
        written = {"text": "x", "spoken_text": "x", "zones": ["thon-1"], "engine": "espeak", "voice": "vi"}
        bulletin = Bulletin(title="Lịch tiêm chủng tháng 12", priority="priority", status="approved",
                            clip_sha256="c" * 64, created_by=author, **written)  # fmt: skip
        session.add(bulletin)
        session.flush()
        _command(session, ids["bulletin"], "bulletin", bulletin.id, priority="priority")
        _command(session, ids["alert"], "alert")
        _command(session, ids["tone"], "test_tone")
        _command(session, ids["stream"], "stream", title="VOV1")
        alert = Alert(text=ALERT_TEXT, zones=["thon-1"], status="sent", created_by="chutich",
                      command_id=ids["alert"], expires_at=now + timedelta(hours=1))  # fmt: skip
        live = LiveSession(id="live-abc123", title="Họp dân tối nay", zones=["thon-1"], channel=1,
                           status="ended", started_by="chutich")  # fmt: skip
        session.add_all([alert, live])
        plays = [
            *((i, "played") for i in ids.values()),
            (ids["alert"], "received"),
            ("live-abc123", "played"),
        ]
        for command_id, outcome in plays:
            held = bulletin.id if command_id == ids["bulletin"] else None
            session.add(
                Play(
                    device_id="loa-1",
                    command_id=command_id,
                    bulletin_id=held,
                    outcome=outcome,
                    started_at=now,
                )
            )
        device = session.get(Device, "loa-1")
        assert device is not None
        device.health = {"now_playing": ids["bulletin"]}
        bulletin_id = bulletin.id
    _reject(api, "loa-1", ids["bulletin"], BAD_URL)

    login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/devices/loa-1").text
    rows = re.findall(
        r"<tr><td>[^<]*</td>\s*<td>(.*?)</td>\s*<td>[^<]*</td>\s*<td>(.*?)</td>", page, re.DOTALL
    )
    labels = {re.sub(r"<[^>]+>", "", what): priority for what, priority in rows}
    assert labels["Lịch tiêm chủng tháng 12"] == "Ưu tiên"
    assert (
        labels["Cảnh báo khẩn cấp: «Lũ quét đang về thôn một, bà con di chuyển ngay lên vùng…»"] == "Khẩn cấp"
    )
    assert labels["Phát trực tiếp «Họp dân tối nay»"] == "Trực tiếp"
    assert labels["Âm thử"] and labels["Tiếp sóng «VOV1»"]
    assert f'<dd><a href="/bulletins/{bulletin_id}">Lịch tiêm chủng tháng 12</a></dd>' in page  # Đang phát
    assert ids["bulletin"] not in page.split("Đang phát", 1)[1].split("</dd>", 1)[0]
    assert 'id="device-refusing"' in page and "địa chỉ trạm" in page  # the refusal, in Vietnamese
    assert "not under the station url" not in page
    on_bulletin = api.client.get(f"/bulletins/{bulletin_id}").text.split("Nhật ký phát", 1)[1]
    assert "Đã phát" in on_bulletin and "Từ chối" in on_bulletin and "địa chỉ trạm" in on_bulletin
    listing = api.client.get("/devices").text
    assert "Lịch tiêm chủng tháng 12" in listing and "Phát trực tiếp «Họp dân tối nay»" in listing
    assert "mặc định của thiết bị" not in page or "agent.toml" not in page


def _entry(actor: str, action: str, target: str = "", **detail: object) -> AuditEntry:
    return AuditEntry(actor=actor, action=action, target=target, address="", detail=detail)


def test_audit_entries_read_as_sentences() -> None:
    names = audit_text.Names(
        bulletins={5: "Lịch tiêm chủng"},
        alerts={3: "Lũ quét đang về"},
        lives={"live-1": "Họp dân"},
        zones={"thon-1": "Thôn 1", "thon-2": "Thôn 2"},
        communes={"default": "Xã", "xa-an": "Xã An Bình"},
    )
    said = {
        ("chutich", "bulletin.approve", "bulletin:5", ()): "chutich đã duyệt bản tin «Lịch tiêm chủng»",
        ("chutich", "alert.raise", "alert:3", (("zones", ("thon-1", "thon-2")),)): (
            "chutich đã phát cảnh báo khẩn cấp «Lũ quét đang về» tới Thôn 1, Thôn 2"
        ),
        ("chutich", "alert.raise", "alert:3", (("zones", ("thon-1",)), ("test", True))): (
            "chutich đã phát cảnh báo thử nghiệm «Lũ quét đang về» tới Thôn 1"
        ),
        ("chutich", "live.start", "live:live-1", (("zones", ("thon-2",)),)): (
            "chutich đã bắt đầu phát trực tiếp «Họp dân» tới Thôn 2"
        ),
        ("quantri", "user.add", "user:an1", (("role", "editor"), ("commune", "xa-an"))): (
            "quantri đã tạo tài khoản an1 (Biên tập viên, Xã An Bình)"
        ),
        ("quantri", "zone.add", "zone:thon-9", (("name", "Thôn 9"), ("commune", "default"))): (
            "quantri đã thêm vùng «Thôn 9» vào Xã mặc định"  # "Xã" alone is not a name
        ),
        ("station", "live.stop", "live:live-1", (("reason", "dropped"),)): (
            "Trạm đã kết thúc phát trực tiếp «Họp dân» (mất kết nối với máy người phát)"
        ),
        ("quantri", "bulletin.teleport", "bulletin:5", ()): (
            "quantri đã thực hiện một thao tác với bản tin «5»"
        ),
        ("quantri", "weird", "", ()): "quantri đã thực hiện một thao tác với trạm",
    }
    for (actor, action, target, detail), sentence in said.items():
        assert audit_text.sentence(_entry(actor, action, target, **dict(detail)), names) == sentence
    assert audit_text.action_label("bulletin") == "Mọi thao tác với bản tin"
    assert audit_text.action_label("alert.raise") == "Phát cảnh báo khẩn cấp"


def test_names_not_ids_on_a_single_commune_station(api: Api) -> None:
    assert names.commune_label("default", "Xã") == "Xã mặc định"  # a placeholder is not a name
    assert names.commune_label("xa-an", " Xã  An Bình ") == "Xã An Bình"
    assert names.commune_label(None, "") == "Cấp tỉnh"
    with api.station.db.session() as session:
        accounts.add_user(session, "quantri", "admin", "so-tay-cua-dai-xa", commune=None)  # province account
        session.get(Zone, "thon-1").name = "Thôn Một"  # type: ignore[union-attr]
    csrf = login(api.client, "quantri", "so-tay-cua-dai-xa")
    users = api.client.get("/admin/users").text
    assert "Cấp tỉnh (mọi xã)" not in users and '<select id="commune"' not in users  # one commune: no choice
    assert '<th scope="col">Xã</th>' not in users
    devices_page = api.client.get("/admin/devices").text
    assert "<td>Thôn Một</td>" in devices_page and "<td>thon-1</td>" not in devices_page
    form = {"csrf_token": csrf, "device_id": "loa-9", "zone": "thon-1", "output": "file"}
    added = api.client.post("/admin/devices", data=form).text
    assert (
        "vào vùng Thôn Một" in added
    )  # the station serves agents from 127.0.0.1 here: a Pi elsewhere is deaf
    assert 'id="local-station-url"' in added and "BROADCAST_PUBLIC_URL" in added
    with api.station.db.session() as session:
        session.add(Commune(id="xa-an", name="Xã An Bình"))
    users = api.client.get("/admin/users").text
    assert "Cấp tỉnh (mọi xã)" in users and "Xã mặc định" in users and "Xã An Bình" in users


def test_every_recorded_action_has_a_sentence() -> None:
    root = Path(__file__).resolve().parents[2] / "broadcast"
    calls = "".join(
        text[m.start() : m.start() + 400]
        for path in root.rglob("*.py")
        for text in [path.read_text(encoding="utf-8")]
        for m in re.finditer(r"audit\.record\(", text)
    )
    recorded = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', calls))
    # Actions chosen in a variable before the call (fleet/devices, people/credentials, reports/floods):
    recorded |= {"device.add", "device.replace", "user.disable", "user.enable", "device.report_flood"}
    recorded -= {"agent.toml"}  # a file name in a nearby line, not an action
    assert recorded and recorded <= set(audit_text.ACTION_LABELS), recorded - set(audit_text.ACTION_LABELS)
    assert recorded <= set(audit_text._SAY), recorded - set(audit_text._SAY)

"""Reports page, a cluster's own page and the devices map, fed through the real report ingestion path."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from broadcast import protocol, reports
from broadcast.fleet import devices
from broadcast.people import accounts, tenancy
from broadcast.signing import commands
from broadcast.storage.models import Device, Zone
from tests.api.conftest import Api

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
VN = ZoneInfo("Asia/Ho_Chi_Minh")
REASON = "Không tải được tệp âm thanh: hết dung lượng thẻ nhớ"
# Yesterday noon, Vietnam time: the items air on one local day whatever time the test runs.
NOON = datetime.combine(datetime.now(VN).date() - timedelta(days=1), datetime.min.time(), VN) + timedelta(
    hours=12
)


def login(client: TestClient, name: str, password: str) -> str:
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = CSRF.search(client.get("/devices").text)
    assert match
    return match.group(1)


def _command(api: Api, zones: tuple[str, ...], start: datetime, kind: str = "bulletin") -> str:
    """Store a signed command the way publishing does (the reports read the outbox)."""
    with api.station.db.session() as session:
        body: dict[str, object] = {
            "id": str(uuid.uuid4()),
            "seq": commands.next_seq(session),
            "zones": list(zones),
            "clip": {"duration_s": 30.0},
        }
        key = api.station.keys.signing_key_raw()
        commands.store_signed(session, body, key, start_at=start, kind=kind)
        return str(body["id"])


def _report(api: Api, message: protocol.AgentMessage) -> None:
    reports.ingest(
        api.station.db, protocol.device_event_topic(message.device_id), protocol.encode_agent_message(message)
    )


@pytest.fixture
def aired(api: Api) -> dict[str, str]:
    """Three clusters in two zones, a few hours of programme, their reports; return the command ids."""
    settings = api.station.settings
    with api.station.db.session() as session:
        for device_id, zone in (("loa-2", "thon-1"), ("loa-3", "thon-2")):
            devices.add_device(session, settings.broker, device_id, zone, settings.data_dir, "file:x", "test")
        session.flush()
        for d in session.query(Device):  # enrolled before the items below, so they were due on them
            d.created_at = datetime.now(UTC) - timedelta(days=3)
    ids = {
        "c1": _command(api, ("thon-1",), NOON - timedelta(hours=3)),
        "c2": _command(api, ("thon-1", "thon-2"), NOON - timedelta(hours=2)),
        "c3": _command(api, ("thon-2",), NOON - timedelta(hours=1), kind="alert"),
        "later": _command(api, ("thon-1",), datetime.now(UTC) + timedelta(hours=1)),
    }
    started = {k: (NOON - timedelta(hours=h)).timestamp() for k, h in (("c1", 3), ("c2", 2))}
    _report(api, protocol.PlayReport("loa-1", ids["c1"], "a" * 64, started["c1"], 30.0, "normal"))
    _report(api, protocol.PlayReport("loa-1", ids["c2"], "a" * 64, started["c2"], 30.0, "normal"))
    _report(api, protocol.PlayReport("loa-2", ids["c1"], "a" * 64, started["c1"], 30.0, "normal"))
    _report(api, protocol.CommandRejected("loa-2", ids["c2"], REASON))
    _report(api, protocol.CommandReceived("loa-3", ids["c3"], time.time()))
    return ids


def _row(page: str, first_cell: str) -> str:
    match = re.search(rf"<tr><th scope=\"row\"><a href=\"/devices/{first_cell}\">.*?</tr>", page, re.S)
    assert match, first_cell
    return match.group(0)


def test_reports_page_shows_plays_availability_and_problems(api: Api, aired: dict[str, str]) -> None:
    login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/reports")
    assert page.status_code == 200
    text = page.text
    # the chart: one accessible SVG per zone plus the total, with a data table behind each
    assert text.count('class="bar-chart" role="img"') == 3
    day = NOON
    assert f"<title>{day.strftime('%d/%m')}: 2 bản tin</title>" in text
    thon1 = text[text.index("Bảng số liệu: thon-1") :]
    assert (
        f"<tr><td>{day.strftime('%d/%m/%Y')}</td><td>2</td><td>3</td></tr>"
        in thon1[: thon1.index("</table>")]
    )
    # availability: loa-1 answered both items, loa-2 refused one (still an answer), loa-3 missed c2
    assert "100%" in _row(text, "loa-1") and "2 / 2" in _row(text, "loa-1")
    assert "100%" in _row(text, "loa-2")
    assert "50%" in _row(text, "loa-3") and "1 / 2" in _row(text, "loa-3")
    assert "Có mặt khi cần phát" in text and "không phải tỷ lệ" in text  # the definition is on the page
    # problems, with the device's reason
    assert REASON in text
    # CSV links
    for link in ("/reports/plays-per-day.csv?", "/api/plays.csv?", "/api/reports/daily.csv?"):
        assert link in text


def test_zone_filter_and_bad_periods(api: Api, aired: dict[str, str]) -> None:
    login(api.client, "canbo", "mat-khau-bien-tap")
    one = api.client.get("/reports?zone=thon-2").text
    assert one.count('class="bar-chart" role="img"') == 2
    assert "loa-3" in one and 'href="/devices/loa-1"' not in one
    for query, message in (
        ("since=15/05/2025", "Ngày không hợp lệ"),
        ("since=2025-05-10&until=2025-05-01", "Ngày bắt đầu phải trước"),
        ("since=2020-01-01&until=2025-01-01", "tối đa 92 ngày"),
    ):
        bad = api.client.get(f"/reports?{query}")
        assert bad.status_code == 422 and message in bad.text
        assert 'class="bar-chart"' in bad.text  # the default week is still shown
    missing = api.client.get("/reports?zone=thon-9")
    assert missing.status_code == 404 and "Không có vùng" in missing.text


def _csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_exports(api: Api, aired: dict[str, str]) -> None:
    login(api.client, "canbo", "mat-khau-bien-tap")
    day = NOON.date()
    per_day = api.client.get(f"/reports/plays-per-day.csv?since={day}&until={day}")
    assert per_day.headers["content-type"].startswith("text/csv")
    assert f"luot-phat-{day}-{day}.csv" in per_day.headers["content-disposition"]
    assert _csv(per_day.text)[1:] == [
        [str(day), "thon-1", "thon-1", "2", "3"],
        [str(day), "thon-2", "thon-2", "0", "0"],
    ]
    daily = api.client.get(f"/api/reports/daily.csv?day={day}", headers=api.editor)
    rows = {r[1]: r for r in _csv(daily.text)[1:]}
    assert rows["thon-1"][2:6] == ["2", "2", "3", "1.5"]  # clusters, items, plays, minutes
    assert rows["thon-2"][6] == "loa-3"  # it played nothing that day
    page = api.client.get("/reports").text
    plays_link = re.search(r'href="(/api/plays\.csv\?[^"]+)"', page)
    assert plays_link
    exported = _csv(api.client.get(plays_link.group(1).replace("&amp;", "&")).text)
    assert len(exported) == 1 + 5  # header + every report of the week (played, refused, received)
    assert TestClient(api.client.app).get("/api/reports/daily.csv").status_code == 401  # no cookie, no token


def test_a_commune_officer_sees_only_their_clusters(api: Api, aired: dict[str, str]) -> None:
    with api.station.db.session() as session:
        tenancy.add_commune(session, "xa-b", "Xã B", "test")
        session.add(Zone(id="thon-b1", name="Thôn B1", commune_id="xa-b"))
        accounts.add_user(session, "canbo-b", "editor", "cay-tre-lang-ta", "xa-b")
    login(api.client, "canbo-b", "cay-tre-lang-ta")
    page = api.client.get("/reports").text
    assert "loa-1" not in page and REASON not in page
    assert api.client.get("/reports?zone=thon-1").status_code == 404
    assert api.client.get("/devices/loa-1").status_code == 404


def test_a_clusters_own_page_history_health_and_controls(api: Api, aired: dict[str, str]) -> None:
    heartbeat = protocol.Heartbeat(
        device_id="loa-2",
        ts=time.time(),
        uptime_s=3 * 86400 + 4 * 3600,
        agent_uptime_s=25 * 60,
        cpu_temp_c=51.0,
        disk_free_bytes=2_500_000_000,
        cache_bytes=12_000_000,
        clock_offset_ms=-12.0,
        clock_source="ntp",
        ntp_synced=True,
        volume=65,
        now_playing="Thông báo tiêm chủng",
    )
    _report(api, heartbeat)
    login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/devices/loa-2").text
    for fact in (
        "Thông báo tiêm chủng",
        "65%",
        "-12 ms",
        "(đồng bộ NTP)",
        "25 phút",
        "3 ngày 4 giờ",
        "51 °C",
        "2.5 GB",
        REASON,
    ):
        assert fact in page, fact
    assert "đã phản hồi 2/2 lượt" in page
    assert "Đặt âm lượng" not in page  # editors do not control speakers
    assert 'href="/api/plays.csv?device_id=loa-2' in page
    unknown = api.client.get("/devices/khong-co")
    assert unknown.status_code == 404 and "Không có thiết bị" in unknown.text

    token = login(api.client, "chutich", "mat-khau-duyet-tin")
    url = "/devices/loa-2/control"
    bad = api.client.post(
        url, data={"csrf_token": token, "action": "volume", "level": "to", "back": "device"}
    )
    assert bad.status_code == 422 and "số nguyên" in bad.text
    assert 'value="to"' in bad.text and "Cụm loa loa-2</h1>" in bad.text  # still on its page, input kept
    sent = api.client.post(
        url, data={"csrf_token": token, "action": "volume", "level": "40", "back": "device"}
    )
    assert sent.status_code == 200 and "Đã gửi lệnh đặt âm lượng 40% tới loa-2" in sent.text
    assert "Cụm loa loa-2</h1>" in sent.text
    from_table = api.client.post(url, data={"csrf_token": token, "action": "volume", "level": "101"})
    assert from_table.status_code == 422 and "<h1>Cụm loa</h1>" in from_table.text


def test_devices_page_map_when_coordinates_are_set(api: Api, aired: dict[str, str]) -> None:
    login(api.client, "canbo", "mat-khau-bien-tap")
    page = api.client.get("/devices").text
    assert 'class="zone-map"' not in page  # no coordinates: no map
    with api.station.db.session() as session:
        zone = session.get(Zone, "thon-1")
        assert zone is not None
        zone.name, zone.latitude, zone.longitude = "Thôn Một", 21.0285, 105.8542
        loa3 = session.get(Device, "loa-3")
        assert loa3 is not None
        loa3.latitude, loa3.longitude, loa3.online = 21.0400, 105.8700, False
        session.get(Device, "loa-2").online = False  # type: ignore[union-attr]
    _report(api, protocol.DeviceStatus("loa-1", "online", "thon-1", "0.1.0", time.time()))
    page = api.client.get("/devices").text
    figure = page[page.index('<figure class="zone-map">') : page.index("</figure>")]
    assert 'role="img"' in figure and '<title id="map-title">Bản đồ cụm loa</title>' in figure
    assert figure.count("<circle") == 1 + 1  # loa-1 online on the map + the legend's dot
    assert figure.count("<rect") == 1 + 2 + 1  # background + loa-2 and loa-3 offline + the legend's square
    assert "<title>loa-1 — trực tuyến (vị trí theo vùng)</title>" in figure
    assert "<title>loa-3 — mất kết nối</title>" in figure
    assert "Thôn Một" in figure and "Trực tuyến" in figure and "Mất kết nối" in figure  # text legend too
    assert re.search(r'<text x="[\d.]+" y="[\d.]+">\d+ (m|km)</text>', figure)  # a scale bar

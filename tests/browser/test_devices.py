"""The devices page with live agents, and the play log exported as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser.harness import (
    LIVE_DEVICE,
    LIVE_ZONE,
    SPARE_DEVICE,
    SPARE_ZONE,
    TIMEZONE,
    BrowserStation,
)
from tests.browser.ui import Browsing
from tests.support.station import wait_until

CSV_HEADER = ["thiet_bi", "vung", "ban_tin", "lenh", "bat_dau", "thoi_luong_s", "muc", "ket_qua", "ly_do"]


def _device_row(page: Page, device_id: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_text(device_id, exact=True))


def _shows(page: Page, device_id: str, state: str) -> bool:
    page.reload()
    return state in _device_row(page, device_id).inner_text()


def test_devices_page_shows_agents_going_online_and_offline(
    approver: Page, browsing: Browsing, station: BrowserStation
) -> None:
    approver.goto("/bulletins")
    approver.get_by_role("link", name="Cụm loa & nhật ký phát").click()
    live = _device_row(approver, LIVE_DEVICE)
    expect(live).to_contain_text("Trực tuyến")
    expect(live).to_contain_text(LIVE_ZONE)
    expect(live).not_to_contain_text("chưa bao giờ")
    spare = _device_row(approver, SPARE_DEVICE)
    expect(spare).to_contain_text("Mất kết nối")
    expect(spare).to_contain_text("chưa bao giờ")
    expect(live.get_by_role("spinbutton", name=re.compile("Âm lượng"))).to_be_visible()  # approver controls
    browsing.screenshot(approver, "devices")

    agent = station.agents[SPARE_DEVICE]
    agent.start()
    try:
        assert wait_until(lambda: _shows(approver, SPARE_DEVICE, "Trực tuyến"), 20), agent.config
        expect(_device_row(approver, SPARE_DEVICE)).to_contain_text(SPARE_ZONE)
    finally:
        agent.stop()  # a clean stop says "offline" before disconnecting
    assert wait_until(lambda: _shows(approver, SPARE_DEVICE, "Mất kết nối"), 10)


def test_play_log_csv_export(editor: Page, station: BrowserStation) -> None:
    bulletin = station.ready_bulletin("Phát thử để có nhật ký")
    start = datetime.now(UTC) + timedelta(seconds=6)  # leaves room for a slow API call on a busy CI box
    status, slot = station.api(
        "POST",
        "/api/slots",
        body={"bulletin_id": bulletin["id"], "start_at": start.isoformat(), "zones": [LIVE_ZONE]},
    )
    assert status == 201, slot
    played = wait_until(lambda: station.played(bulletin["id"]), timeout=30)
    assert played, station.process.log_tail()

    editor.goto("/devices")
    log_row = editor.get_by_role("row").filter(
        has=editor.get_by_role("link", name=bulletin["title"], exact=True)  # the title, not the number
    )
    expect(log_row.first).to_contain_text("Đã phát")
    with editor.expect_download() as event:
        editor.get_by_role("link", name="Tải nhật ký phát (CSV)").click()
    download = event.value
    assert download.suggested_filename == "nhat-ky-phat.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")  # BOM for spreadsheets
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_HEADER
    ours = [dict(zip(CSV_HEADER, r, strict=True)) for r in rows[1:] if r[2] == str(bulletin["id"])]
    assert ours, rows
    row = next(r for r in ours if r["ket_qua"] == "Đã phát")
    assert row["thiet_bi"] == LIVE_DEVICE and row["vung"] == LIVE_ZONE and row["muc"] == "normal"
    assert abs(float(row["thoi_luong_s"]) - bulletin["duration_s"]) < 1.0, row
    started = datetime.strptime(row["bat_dau"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=TIMEZONE)
    assert abs((started - start).total_seconds()) < 2, row  # programme time zone, to the second

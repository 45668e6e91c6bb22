"""Every main page at phone and desk width: no sideways scrolling, no English UI words, screenshots of each.

One browser context per role and one pass per width; each page is screenshotted to
`pages/375/<name>.png` and `pages/1280/<name>.png` under the artefacts dir.
"""

from __future__ import annotations

import re
from functools import partial

from playwright.sync_api import Page, Response, ViewportSize, expect

from tests.browser.harness import ADMIN, APPROVER, EDITOR, LIVE_DEVICE, SPARE_ZONE, Account, BrowserStation
from tests.browser.ui import Browsing, path_is

WIDTHS = (ViewportSize(width=375, height=740), ViewportSize(width=1280, height=800))
# Words the app could leak from its code into an officer's page: status codes, Python and JS values,
# config-file names. Whole words, case-sensitive; ids, and codes or file names shown as code, are fine.
ENGLISH = re.compile(
    r"\b(sent|draft|unsent|ready|approved|rejected|pending|failed|expired|cancelled|awaiting_confirmation|"
    r"on_air|starting|stopped|dropped|normal|priority|editor|approver|login|logout|zones|source|status|"
    r"None|True|False|null|undefined|NaN|"
    r"Error|Exception|Traceback)\b|agent\.toml"
)
# The page's visible text less what it marks as code (file names, commands, configuration an admin copies).
_VISIBLE_WORDS_JS = """() => {
  let text = document.body.innerText;
  for (const el of document.querySelectorAll('code, pre, kbd, samp, textarea, .mono')) {
    if (el.innerText) text = text.replace(el.innerText, ' ');
  }
  return text;
}"""
_WIDTH_JS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
_NAV_JS = """() => {
  const links = Array.from(document.querySelectorAll('nav.main-nav a'));
  const emergency = document.querySelector('a.emergency-link');
  const box = emergency.getBoundingClientRect();
  return {
    rows: new Set(links.map(a => Math.round(a.getBoundingClientRect().top))).size,
    emergencyLines: emergency.getClientRects().length,
    emergencyInside: box.left >= 0 && box.right <= window.innerWidth && box.top >= 0 && box.height < 60,
  };
}"""


def _pages(station: BrowserStation) -> dict[Account, dict[str, str]]:
    """Return each role's pages to visit: name -> path."""
    bulletin = station.create_bulletin("Thông báo lịch cắt điện thôn 1")
    status, alert = station.api(
        "POST",
        "/api/alerts",
        body={"text": "Diễn tập phòng cháy chữa cháy", "zones": [SPARE_ZONE], "repeat": 1},
    )  # an editor's alert waits for an approver's confirmation: nothing sounds
    assert status == 201, alert
    return {
        EDITOR: {
            "home": "/",
            "bulletins": "/bulletins",
            "bulletin": f"/bulletins/{bulletin['id']}",
            "programme": "/programme",
            "devices": "/devices",
            "device": f"/devices/{LIVE_DEVICE}",
            "reports": "/reports",
            "account": "/account",
            "dictionary": "/dictionary",
            "https": "/https",
        },
        APPROVER: {
            "home-approver": "/",
            "approvals": "/approvals",
            "emergency": "/emergency",
            "alert": f"/emergency/{alert['id']}",
            "live": "/live",
        },
        ADMIN: {
            "home-admin": "/",
            "admin-users": "/admin/users",
            "admin-zones": "/admin/zones",
            "admin-devices": "/admin/devices",
            "admin-commune": "/admin/commune",
            "admin-backup": "/admin/backup",
            "audit": "/audit",
        },
    }


def _failed_icon(failed: list[str], response: Response) -> None:
    if "favicon" in response.url and response.status >= 400:
        failed.append(response.url)


def _english(page: Page) -> list[str]:
    text = page.evaluate(_VISIBLE_WORDS_JS)
    return sorted({m.group(0) for m in ENGLISH.finditer(text)})


def test_every_page_fits_the_screen_and_speaks_vietnamese(
    browsing: Browsing, station: BrowserStation
) -> None:
    too_wide: list[str] = []
    english: dict[str, list[str]] = {}
    missing: list[str] = []
    for account, pages in _pages(station).items():
        page = browsing.open(account)
        icons: list[str] = []
        page.on("response", partial(_failed_icon, icons))
        for viewport in WIDTHS:
            page.set_viewport_size(viewport)
            width = viewport["width"]
            for name, path in pages.items():
                response = page.goto(path)
                assert response is not None
                if response.status != 200:
                    missing.append(f"{path} answered {response.status}")
                    continue
                expect(page.locator("html")).to_have_attribute("lang", "vi")
                scroll, inner = page.evaluate(_WIDTH_JS)
                if scroll > inner:
                    too_wide.append(f"{path} at {width} px is {scroll} px wide")
                if width == WIDTHS[0]["width"] and (words := _english(page)):
                    english[path] = words
                browsing.screenshot(page, f"pages/{width}/{name}")
        assert not icons, f"favicon requests failed: {icons}"
    assert not missing, missing
    assert not too_wide, "pages wider than the screen:\n" + "\n".join(too_wide)
    assert not english, f"English words on pages: {english}"


def test_the_desk_and_its_navigation_fit_one_line_and_the_emergency_button_stays_whole(
    browsing: Browsing,
) -> None:
    page = browsing.open(ADMIN, viewport=WIDTHS[1])
    page.goto("/")
    expect(page).to_have_url(path_is("/"))
    nav = page.evaluate(_NAV_JS)
    assert nav == {"rows": 1, "emergencyLines": 1, "emergencyInside": True}, nav
    for heading in (
        "Đang phát",
        "Sắp phát hôm nay",
        "Cụm loa cần chú ý",
        "Cảnh báo gần đây",
        "Chờ tôi duyệt",
    ):
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()  # the desk, for an admin
    page.set_viewport_size(WIDTHS[0])
    nav = page.evaluate(_NAV_JS)
    assert nav["emergencyLines"] == 1 and nav["emergencyInside"], nav
    expect(page.get_by_role("link", name="CẢNH BÁO KHẨN CẤP")).to_be_in_viewport()
    page.get_by_role("link", name="CẢNH BÁO KHẨN CẤP").click()
    expect(page).to_have_url(path_is("/emergency"))

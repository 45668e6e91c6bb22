"""What the browser tests do with pages: open contexts, log in, screenshot, audit labels."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, StorageState, expect

from tests.browser.harness import Account

TIMEOUT_MS = 10_000  # Playwright's 30 s default makes a failing run needlessly slow

# Every visible form control must have an accessible name from a <label> (for= or wrapping) or ARIA.
_UNLABELLED_JS = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter(el => el.type !== "hidden")
  .filter(el => {
    const labelled = Array.from(el.labels || []).some(l => l.textContent.trim() !== "");
    const aria = (el.getAttribute("aria-label") || "").trim() !== "";
    const by = (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .some(id => id && document.getElementById(id) && document.getElementById(id).textContent.trim());
    return !(labelled || aria || by);
  })
  .map(el => el.outerHTML)
"""


class Browsing:
    """The browser contexts one test opened, each with its own cookies (one logged-in user each)."""

    def __init__(
        self, browser: Browser, base_url: str, shots: Path, sessions: dict[str, StorageState]
    ) -> None:
        self.browser, self.base_url, self.shots = browser, base_url, shots
        self.sessions = sessions  # cookies per account, shared by the package's tests
        self.contexts: list[BrowserContext] = []

    def open(self, account: Account | None = None, **options: Any) -> Page:
        """Open a page in a fresh context, logged in as `account`.

        The first time an account is needed it logs in through the form; later contexts start with its
        session cookie, which saves a login per test.
        """
        state = self.sessions.get(account.name) if account else None
        context = self.browser.new_context(
            base_url=self.base_url,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            accept_downloads=True,
            storage_state=state,
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        if account is not None and state is None:
            login(page, account)
            self.sessions[account.name] = context.storage_state()
        return page

    def screenshot(self, page: Page, name: str) -> Path:
        """Save a full-page screenshot as an artefact and return its path."""
        path = self.shots / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True)
        return path

    def screenshot_all(self, prefix: str) -> None:
        """Screenshot every open page (after a failure); never raise over the test's own error."""
        pages = [page for context in self.contexts for page in context.pages]
        for number, page in enumerate(pages, start=1):
            with contextlib.suppress(Exception):  # the failure being reported matters more
                self.screenshot(page, f"{prefix}-{number}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def login(page: Page, account: Account) -> None:
    """Log in through the form, as an officer would."""
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(account.name)
    page.get_by_label("Mật khẩu").fill(account.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(path_is("/"))  # the officer's desk


def path_is(path: str) -> re.Pattern[str]:
    """Match a page URL whose path is `path` (any query string)."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def unlabelled_controls(page: Page) -> list[str]:
    """Return the outer HTML of visible form controls that have no accessible label."""
    return list(page.evaluate(_UNLABELLED_JS))


def csrf_token(page: Page) -> str:
    """Return the page's CSRF token (for deliberately forged posts)."""
    value = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert value, "no CSRF token on the page"
    return value

"""Write rate limits: token buckets on a fake clock, which budget a request spends, and a real app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.http.rate_limit import budget_of
from broadcast.limits.token_bucket import Rate, TokenBuckets
from broadcast.people import accounts
from tests.support.free_port import free_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_rate_applies_and_says_when_to_retry() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=60, burst=3), clock)
    assert [buckets.take("a").allowed for _ in range(3)] == [True, True, True]
    refused = buckets.take("a")
    assert not refused.allowed and refused.first_refusal
    assert refused.retry_after_s == pytest.approx(1.0) and refused.retry_after_header == "1"
    again = buckets.take("a")
    assert not again.allowed and not again.first_refusal  # logged once per streak, not per request
    assert buckets.take("b").allowed  # another caller has its own bucket
    clock.now += 0.5
    assert buckets.take("a").retry_after_s == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a").allowed  # one token back after 1 s at 60/minute
    clock.now += 3600
    assert [buckets.take("a").allowed for _ in range(4)] == [True, True, True, False]  # never above burst


def test_slow_rates_round_retry_after_up_and_a_clock_step_back_takes_nothing() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=6, burst=1), clock)
    assert buckets.take("a").allowed
    refused = buckets.take("a")
    assert refused.retry_after_s == pytest.approx(10.0) and refused.retry_after_header == "10"
    clock.now += 4.2
    assert buckets.take("a").retry_after_header == "6"  # 5.8 s: whole seconds, rounded up
    clock.now -= 100  # the monotonic clock never does this; a wall clock might
    assert not buckets.take("a").allowed
    clock.now += 10
    assert buckets.take("a").allowed


def test_unlimited_rate_and_bad_burst() -> None:
    buckets = TokenBuckets(Rate(per_minute=0, burst=1), FakeClock())
    assert all(buckets.take("a").allowed for _ in range(1000)) and len(buckets) == 0
    with pytest.raises(ValueError, match="burst"):
        TokenBuckets(Rate(per_minute=10, burst=0))


def test_memory_stays_bounded_under_a_spray_of_addresses() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_minute=60, burst=2), clock, max_keys=100)
    buckets.take("busy")
    buckets.take("busy")
    for n in range(1000):
        buckets.take(f"spray-{n}")
        clock.now += 0.001
    assert len(buckets) <= 100
    clock.now += 120  # everybody's bucket is full again: forgetting them loses nothing
    buckets.take("late")
    assert len(buckets) <= 100


@pytest.mark.parametrize(
    ("method", "path", "budget"),
    [
        ("GET", "/api/bulletins", None),
        ("HEAD", "/devices", None),
        ("OPTIONS", "/api/alerts", None),
        ("POST", "/api/bulletins", "write"),
        ("PUT", "/api/devices/loa-1/settings", "write"),
        ("DELETE", "/api/slots/3", "write"),
        ("POST", "/bulletins/4/approve", "write"),
        ("POST", "/api/alerts", "alert"),
        ("POST", "/api/alerts/", "alert"),
        ("POST", "/api/alerts/cap", "alert"),
        ("POST", "/api/alerts/12/confirm", "alert"),
        ("POST", "/emergency", "alert"),
        ("POST", "/emergency/12/confirm", "alert"),
        ("POST", "/api/alerts/12/cancel", None),  # stopping a false alarm is never limited
        ("POST", "/emergency/12/cancel", None),
        ("POST", "/login", None),  # its own throttle counts failures per address and name
        ("POST", "/logout", "write"),
        ("POST", "/api/programme/slots/check", None),  # stores nothing; called as the officer types
        ("POST", "/programme/streams/check", None),
        ("POST", "/bulletins/4/schedule/check", None),
        ("POST", "/bulletins/4/schedule", "write"),
        ("post", "/api/alerts/12/cancel/x", "write"),
    ],
)
def test_which_budget_a_request_spends(method: str, path: str, budget: str | None) -> None:
    assert budget_of(method, path) == budget


@dataclass
class Limited:
    client: TestClient
    editor: dict[str, str]
    editor_again: dict[str, str]  # the same account, another token
    approver: dict[str, str]


@pytest.fixture
def limited(tmp_path: Path, migrated_database_url: str) -> Iterator[Limited]:
    """Return a real app allowing 3 writes at once, then 6 a minute (alerts: 2, then 6 a minute)."""
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=migrated_database_url,
        mqtt_port=free_port(),
        mqtt_tls_port=free_port(),
        public_url="http://127.0.0.1:1",
        rate_limit_per_minute=6,
        rate_limit_burst=3,
        alert_rate_limit_per_minute=6,
        alert_rate_limit_burst=2,
    )
    with TestClient(create_app(settings)) as client:
        station = client.app.state.station  # type: ignore[attr-defined]
        with station.db.session() as session:
            accounts.add_user(session, "canbo", "editor", "mat-khau-bien-tap")
            accounts.add_user(session, "chutich", "approver", "mat-khau-duyet-tin")
            tokens = [accounts.issue_token(session, name) for name in ("canbo", "canbo", "chutich")]
        yield Limited(client, *({"Authorization": f"Bearer {token}"} for token in tokens))


def test_writes_are_limited_per_account_with_a_vietnamese_429_and_alerts_keep_their_budget(
    limited: Limited, caplog: pytest.LogCaptureFixture
) -> None:
    http, editor = limited.client, limited.editor
    preview = {"text": "UBND xã thông báo"}

    def normalize(headers: dict[str, str] | None = None) -> int:
        return int(http.post("/api/normalize", json=preview, headers=headers).status_code)

    with caplog.at_level(logging.WARNING, logger="broadcast.http.rate_limit"):
        assert [normalize(editor) for _ in range(3)] == [200, 200, 200]
        refused = http.post("/api/normalize", json=preview, headers=limited.editor_again)
        assert normalize(editor) == 429
    assert refused.status_code == 429  # per account, not per token
    # 6 a minute: the next write in 10 s, less what the burst itself took (the bucket refills on the real
    # clock; a loaded machine spent over a second on those three calls: "9"). Exact figures: the unit tests.
    wait = refused.headers["Retry-After"]
    assert 5 <= int(wait) <= 10, wait
    assert (
        refused.json()["detail"]
        == f"Quá nhiều thao tác trong thời gian ngắn. Vui lòng thử lại sau {wait} giây."
    )
    assert refused.headers["X-Content-Type-Options"] == "nosniff"  # refusals carry the security headers
    [record] = [r for r in caplog.records if "rate limit" in r.getMessage()]  # one line per streak
    assert "user:" in record.getMessage() and "/api/normalize" in record.getMessage()

    assert http.get("/api/bulletins", headers=editor).status_code == 200  # reads are never limited
    assert normalize(limited.approver) == 200  # another account has its own budget
    # Ordinary writes are spent, the alert budget is not: an alert still reaches its route (which
    # decides by role and content), and cancelling is never limited.
    alert = http.post("/api/alerts", json={"text": "x", "zones": ["thon-1"]}, headers=editor)
    assert alert.status_code != 429
    assert all(http.post("/api/alerts/999/cancel", headers=editor).status_code != 429 for _ in range(5))

    # Without an account: by address, before any other check; a web form gets a page, not JSON.
    assert [normalize() for _ in range(4)] == [401, 401, 401, 429]
    page = http.post("/bulletins", data={"title": "x"})
    assert page.status_code == 429 and "thử lại sau" in page.text and page.headers["Retry-After"]

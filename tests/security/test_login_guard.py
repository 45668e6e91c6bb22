"""Login limits (pure): strangers per address and globally, browsers with a device cookie apart."""

from __future__ import annotations

import pytest

from broadcast.limits.token_bucket import Rate
from broadcast.people import login_guard
from broadcast.people.login_guard import LoginGuard

SECRET = b"s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _guard(clock: Clock, per_address: int = 3, overall: int = 5, device_failures: int = 2) -> LoginGuard:
    return LoginGuard(
        Rate(per_address, per_address), Rate(overall, overall), device_failures, 900.0, clock=clock
    )


def test_one_address_trying_random_names_runs_dry() -> None:
    guard = _guard(Clock())
    verdicts = [guard.admit("10.0.0.1", None) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].limit == "address" and verdicts[3].retry_after_s > 0


def test_many_addresses_run_the_global_bucket_dry() -> None:
    guard = _guard(Clock())
    verdicts = [guard.admit(f"10.0.0.{n}", None) for n in range(8)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 3
    assert {v.limit for v in verdicts[5:]} == {"global"}


def test_a_known_browser_is_never_held_by_the_strangers_limits() -> None:
    guard = _guard(Clock())
    for n in range(20):
        guard.admit(f"10.0.0.{n}", None)
    assert not guard.admit("10.0.0.1", None).allowed
    assert guard.admit("10.0.0.1", "device-1").allowed


def test_a_device_cookie_has_its_own_failure_limit_and_a_success_clears_it() -> None:
    clock = Clock()
    guard = _guard(clock)
    guard.failed("device-1")
    guard.failed("device-1")
    refused = guard.admit("10.0.0.1", "device-1")
    assert not refused.allowed and refused.limit == "device"
    assert refused.retry_after_s == pytest.approx(900.0)
    assert guard.admit("10.0.0.1", "device-2").allowed  # another browser is not affected
    clock.now += 901
    assert guard.admit("10.0.0.1", "device-1").allowed
    guard.failed("device-1")
    guard.succeeded("device-1")
    guard.failed("device-1")
    assert guard.admit("10.0.0.1", "device-1").allowed


def test_a_flood_is_one_streak_until_it_stops_for_a_minute() -> None:
    clock = Clock()
    guard = _guard(clock, per_address=1, overall=100)
    guard.admit("10.0.0.1", None)
    streaks = []
    for _ in range(50):
        clock.now += 0.5
        streaks.append(guard.admit("10.0.0.1", None).new_streak)
    assert streaks.count(True) == 1 and streaks[0]
    assert guard.refused == 50
    clock.now += login_guard.STREAK_GAP_S + 1
    guard.admit("10.0.0.1", None)  # refilled: allowed
    later = guard.admit("10.0.0.1", None)
    assert not later.allowed and later.new_streak


def test_device_cookie_vouches_only_for_the_name_it_was_issued_for() -> None:
    cookie = login_guard.remember(SECRET, "", "QuanTri")
    device = login_guard.device_for(SECRET, cookie, "quantri")
    assert device is not None
    assert login_guard.device_for(SECRET, cookie, "quantri") == device  # stable across attempts
    assert login_guard.device_for(SECRET, cookie, "canbo") is None
    assert login_guard.device_for(b"o" * 32, cookie, "quantri") is None  # another station's secret


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),  # the MAC changed
        lambda c: "Y2FuYm8" + c[c.index(".") :],  # the name swapped for "canbo"
        lambda c: "garbage",
        lambda c: "~".join([c] * 50),
        lambda c: "...~%%%.~.a.b",
    ],
)
def test_a_tampered_cookie_vouches_for_nobody(tamper: object) -> None:
    cookie = login_guard.remember(SECRET, "", "quantri")
    forged = tamper(cookie)  # type: ignore[operator]
    assert login_guard.device_for(SECRET, forged, "canbo") is None
    if "~" not in forged:
        assert login_guard.device_for(SECRET, forged, "quantri") is None


def test_a_shared_computer_remembers_a_few_names_newest_first() -> None:
    cookie = ""
    for n in range(8):
        cookie = login_guard.remember(SECRET, cookie, f"canbo{n}")
    assert login_guard.device_for(SECRET, cookie, "canbo7") is not None
    assert login_guard.device_for(SECRET, cookie, "canbo3") is not None
    assert login_guard.device_for(SECRET, cookie, "canbo2") is None
    again = login_guard.remember(SECRET, cookie, "canbo3")
    assert again.split("~")[0].startswith(login_guard._encode_name("canbo3"))
    assert len(again.split("~")) == login_guard.MAX_DEVICE_NAMES

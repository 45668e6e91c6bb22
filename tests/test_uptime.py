"""Device availability and uptime: what counts as due, who answered, heartbeats expected (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcast.reports.uptime import (
    HEARTBEAT_INTERVAL_S,
    Availability,
    Due,
    Enrolment,
    Uptime,
    availability,
    counts,
    describe_duration,
    expected_heartbeats,
    heartbeats_per_hour,
    uptime,
)

T0 = datetime(2025, 5, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=7)


def _due(cid: str, zones: tuple[str, ...], hours: float, kind: str = "bulletin", **kw: object) -> Due:
    return Due(cid, zones, T0 + timedelta(hours=hours), kind, **kw)  # type: ignore[arg-type]


def _by_id(result: list[Availability]) -> dict[str, Availability]:
    return {a.device_id: a for a in result}


def test_share_of_due_items_answered_per_device() -> None:
    devices = [Enrolment("a", "t1", T0), Enrolment("b", "t1", T0), Enrolment("c", "t2", T0)]
    commands = [_due("1", ("t1",), 1), _due("2", ("t1", "t2"), 2), _due("3", ("t2",), 3, "alert")]
    answered = {("a", "1"), ("a", "2"), ("b", "2"), ("c", "2")}
    got = _by_id(availability(devices, commands, answered, T0, NOW, NOW))
    assert (got["a"].due, got["a"].answered, got["a"].percent_text) == (2, 2, "100%")
    assert (got["b"].due, got["b"].answered, got["b"].missed, got["b"].percent_text) == (2, 1, 1, "50%")
    assert (got["c"].due, got["c"].answered, got["c"].percent_text) == (2, 1, "50%")


def test_nothing_due_is_no_evidence_not_zero() -> None:
    (a,) = availability([Enrolment("a", "t9", T0)], [_due("1", ("t1",), 1)], set(), T0, NOW, NOW)
    assert a.ratio is None and a.percent_text == "—" and a.missed == 0


def test_only_commands_inside_the_period_and_the_devices_life_count() -> None:
    device = Enrolment("a", "t1", T0 + timedelta(hours=10), revoked_at=T0 + timedelta(hours=20))
    commands = [
        _due("before-enrolment", ("t1",), 5),
        _due("in-life", ("t1",), 15),
        _due("after-revocation", ("t1",), 25),
        _due("outside-period", ("t1",), -5),
    ]
    (a,) = availability([device], commands, set(), T0, NOW, NOW)
    assert a.due == 1


def test_items_still_playing_or_just_ended_are_not_yet_due() -> None:
    now = T0 + timedelta(hours=1)
    commands = [
        _due("ended-long-ago", ("t1",), 0, duration_s=60),
        _due("ends-just-now", ("t1",), 0.9, duration_s=60),  # report may still be on its way
        _due("long-stream", ("t1",), 0.5, "stream", duration_s=3600),
    ]
    (a,) = availability([Enrolment("a", "t1", T0)], commands, set(), T0, NOW, now)
    assert a.due == 1


def test_unplanned_items_count_only_if_someone_answered_them() -> None:
    """A programme entry removed before it aired (nobody answered) must not count as a miss."""
    assert counts(_due("x", ("t1",), 1, still_planned=False), answered_by_anyone=False) is False
    assert counts(_due("x", ("t1",), 1, still_planned=False), answered_by_anyone=True) is True
    assert counts(_due("x", ("t1",), 1, "alert", still_planned=False), answered_by_anyone=False) is True
    devices = [Enrolment("a", "t1", T0), Enrolment("b", "t1", T0)]
    commands = [_due("gone", ("t1",), 1, still_planned=False), _due("aired", ("t1",), 2, still_planned=False)]
    got = _by_id(availability(devices, commands, {("a", "aired")}, T0, NOW, NOW))
    assert (got["a"].due, got["a"].answered) == (1, 1)
    assert (got["b"].due, got["b"].answered) == (1, 0)


def test_a_zone_listed_twice_counts_once() -> None:
    (a,) = availability([Enrolment("a", "t1", T0)], [_due("1", ("t1", "t1"), 1)], {("a", "1")}, T0, NOW, NOW)
    assert (a.due, a.answered) == (1, 1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (-1, "—"),
        (0, "0 giây"),
        (59, "59 giây"),
        (60, "1 phút"),
        (3599, "59 phút"),
        (3600, "1 giờ"),
        (3600 * 5 + 60 * 7, "5 giờ 7 phút"),
        (86400, "1 ngày"),
        (86400 * 3 + 3600 * 4 + 5, "3 ngày 4 giờ"),
    ],
)
def test_describe_duration(seconds: float | None, text: str) -> None:
    assert describe_duration(seconds) == text


def test_an_unplanned_item_heard_elsewhere_counts_for_the_devices_shown() -> None:
    """The page may show one zone; whether an item aired at all is known from every device."""
    commands = [_due("aired-elsewhere", ("t1", "t2"), 1, still_planned=False)]
    (alone,) = availability([Enrolment("a", "t1", T0)], commands, set(), T0, NOW, NOW)
    assert alone.due == 0
    (shown,) = availability([Enrolment("a", "t1", T0)], commands, set(), T0, NOW, NOW, {"aired-elsewhere"})
    assert (shown.due, shown.answered) == (1, 0)


# --- uptime from heartbeats -------------------------------------------------------------------------------


def test_the_station_expects_the_agents_heartbeat_interval() -> None:
    from edge_agent.config import DEFAULT_HEARTBEAT_S

    assert HEARTBEAT_INTERVAL_S == DEFAULT_HEARTBEAT_S
    assert (
        heartbeats_per_hour() == 120 and heartbeats_per_hour(3600.0) == 1 and heartbeats_per_hour(7200) == 1
    )


DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("device", "until", "now", "counted_since", "expected"),
    [
        (Enrolment("a", "t1", T0 - DAY), T0 + DAY, NOW, None, 2880),  # a whole day: 24 × 120
        (Enrolment("a", "t1", T0 + DAY / 2), T0 + DAY, NOW, None, 1440),  # enrolled at noon
        (Enrolment("a", "t1", T0, revoked_at=T0 + DAY / 4), T0 + DAY, NOW, None, 720),  # revoked at 6:00
        (Enrolment("a", "t1", T0 + DAY / 2, T0 + DAY / 4), T0 + DAY, NOW, None, 0),  # revoked before enrolled
        # the current hour counts up to now, less the heartbeat not yet due: 10:15 → 10 h 14 min 30 s
        (Enrolment("a", "t1", T0), T0 + DAY, T0 + timedelta(hours=10, minutes=15), None, 1229),
        (Enrolment("a", "t1", T0), T0 + DAY, NOW, T0 + DAY * 3 / 4, 720),  # counting began at 18:00
        (Enrolment("a", "t1", T0 + DAY * 2), T0 + DAY, NOW, None, 0),  # enrolled after the period
    ],
)
def test_heartbeats_expected_within_the_devices_life_and_the_past(
    device: Enrolment, until: datetime, now: datetime, counted_since: datetime | None, expected: float
) -> None:
    assert expected_heartbeats(device, T0, until, now, counted_since=counted_since) == expected


@pytest.mark.parametrize(
    ("seen", "expected", "ratio", "text"),
    [
        (2880, 2880.0, 1.0, "100%"),
        (1440, 2880.0, 0.5, "50%"),
        (2874, 2880.0, 2874 / 2880, "99,7%"),  # 99.79 is rounded down: 100% only when nothing is missing
        (2879, 2880.0, 2879 / 2880, "99,9%"),
        (0, 2880.0, 0.0, "0%"),
        (130, 120.0, 1.0, "100%"),  # extra heartbeats (volume changes) never make it over 100%
        (0, 0.5, None, "—"),  # not even one heartbeat due yet: no evidence either way
    ],
)
def test_uptime_ratio_and_how_it_reads(seen: int, expected: float, ratio: float | None, text: str) -> None:
    result = Uptime("a", seen, expected)
    assert result.ratio == ratio and result.percent_text == text


def test_uptime_per_device() -> None:
    devices = [Enrolment("a", "t1", T0), Enrolment("b", "t1", T0 + DAY / 2), Enrolment("c", "t2", T0)]
    got = uptime(devices, {"a": 2160, "b": 1440, "x": 99}, T0, T0 + DAY, NOW)
    assert set(got) == {"a", "b", "c"}
    assert (got["a"].percent_text, got["b"].percent_text, got["c"].percent_text) == ("75%", "100%", "0%")
    assert got["c"].seen == 0 and got["c"].expected == 2880

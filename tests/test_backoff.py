"""The reconnect back-off both MQTT clients share: bounded, jittered, reset only by a good connection."""

from __future__ import annotations

import random
import statistics

import pytest

from broadcast.protocol.backoff import RECONNECT, Backoff, BackoffPolicy


@pytest.mark.parametrize(
    ("attempt", "window"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (5, 5.0), (60, 5.0), (10_000, 5.0)],
)
def test_the_window_doubles_from_base_up_to_the_cap(attempt: int, window: float) -> None:
    assert RECONNECT.window(attempt) == window


@pytest.mark.parametrize(("draw", "wait"), [(0.0, 0.0), (0.5, 1.0), (0.999, 1.998)])
def test_the_wait_is_the_draw_times_the_window(draw: float, wait: float) -> None:
    assert RECONNECT.delay(2, draw) == pytest.approx(wait)  # window 2 s


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"base_s": 0.0}, "base_s"),
        ({"base_s": -1.0}, "base_s"),
        ({"base_s": 6.0, "cap_s": 5.0}, "base_s <= cap_s"),
        ({"stable_s": -1.0}, "stable_s"),
    ],
)
def test_nonsense_policies_are_refused(bad: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BackoffPolicy(**bad)


def test_draws_and_attempts_out_of_range_are_refused() -> None:
    for draw in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="draw"):
            RECONNECT.delay(0, draw)
    with pytest.raises(ValueError, match="attempt"):
        RECONNECT.window(-1)


def test_no_wait_ever_exceeds_the_cap() -> None:
    backoff = Backoff(rng=random.Random(1))
    waits = [backoff.next_delay() for _ in range(2000)]
    assert all(0.0 <= wait < RECONNECT.cap_s for wait in waits)
    assert max(waits) > 0.95 * RECONNECT.cap_s  # and the cap is reached: the whole window is used


def test_a_herd_spreads_over_the_whole_window() -> None:
    """1000 clients at the cap: their waits are ~uniform over [0, cap), no wave at any instant."""
    rng = random.Random(7)
    herd = [Backoff(rng=rng) for _ in range(1000)]
    for client in herd:
        for _ in range(6):  # past the doublings: every client is at the cap
            client.next_delay()
    waits = [client.next_delay() for client in herd]
    assert statistics.mean(waits) == pytest.approx(RECONNECT.cap_s / 2, rel=0.1)
    counts = [0] * 10  # tenths of the window
    for wait in waits:
        counts[int(wait / RECONNECT.cap_s * 10)] += 1
    assert min(counts) > 60 and max(counts) < 140, counts  # 100 expected in each


def test_first_waits_follow_the_doubling_windows() -> None:
    backoff = Backoff(rng=random.Random(3))
    for attempt in range(8):
        assert backoff.next_delay() < RECONNECT.window(attempt)
    assert backoff.attempt == 8


def test_a_good_connection_resets_the_count() -> None:
    backoff = Backoff(rng=random.Random(0))
    for _ in range(5):
        backoff.next_delay()
    backoff.connected(now=100.0)
    backoff.disconnected(now=100.0 + RECONNECT.stable_s)
    assert backoff.attempt == 0
    assert backoff.next_delay() < RECONNECT.base_s


def test_a_short_lived_connection_keeps_the_count() -> None:
    """A broker that accepts and drops at once is not hammered from base_s again."""
    backoff = Backoff(rng=random.Random(0))
    for _ in range(5):
        backoff.next_delay()
    backoff.connected(now=100.0)
    backoff.disconnected(now=101.0)
    assert backoff.attempt == 5
    backoff.disconnected(now=500.0)  # a loss with no connection before it (failed attempts): no reset
    assert backoff.attempt == 5

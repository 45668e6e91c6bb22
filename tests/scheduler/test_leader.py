"""Leader election on the backend under test (SQLite file lock or PostgreSQL advisory lock), in process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from broadcast.scheduler import jobs
from broadcast.scheduler.elected import ElectedScheduler, predicted_push
from broadcast.scheduler.election import LeaderElection
from broadcast.scheduler.locks import lock_key
from broadcast.scheduler.service import ProgrammeScheduler
from broadcast.scheduler.slots import SlotRule
from tests.support import database
from tests.support.station import wait_until

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)


class Terms:
    """Count the elections and losses of one worker."""

    def __init__(self) -> None:
        self.elected = 0
        self.lost = 0

    def on_elected(self) -> None:
        self.elected += 1

    def on_lost(self) -> None:
        self.lost += 1


def leads(election: LeaderElection) -> bool:
    """Return whether the worker leads now (a call, so the checker does not keep an old answer)."""
    return election.is_leader


@pytest.fixture
def elections(database_url: str) -> Iterator[Callable[..., tuple[LeaderElection, Terms]]]:
    made: list[LeaderElection] = []

    def make(key: str = "test-lock") -> tuple[LeaderElection, Terms]:
        terms = Terms()
        election = LeaderElection(
            database_url, key, terms.on_elected, terms.on_lost, retry_s=0.2, check_s=0.2
        )
        made.append(election)
        return election, terms

    yield make
    for election in made:
        election.stop()


@pytest.fixture
def nothing_pushed() -> Iterator[None]:
    jobs.set_slot_handler(lambda slot_id, start: None)
    yield
    jobs.set_slot_handler(None)


def test_lock_keys_are_stable_signed_64_bit() -> None:
    assert lock_key("broadcast.scheduler") == lock_key("broadcast.scheduler")
    assert lock_key("a") != lock_key("b")
    assert -(2**63) <= lock_key("broadcast.scheduler") < 2**63
    assert lock_key(42) == 42


def test_a_sole_worker_leads_as_soon_as_it_starts(
    elections: Callable[..., tuple[LeaderElection, Terms]],
) -> None:
    election, terms = elections()
    election.start()
    assert leads(election) and election.alive
    assert (terms.elected, terms.lost) == (1, 0)
    election.stop()
    assert not leads(election)
    assert (terms.elected, terms.lost) == (1, 1)


def test_one_leader_of_two_and_the_other_takes_over_when_it_stops(
    elections: Callable[..., tuple[LeaderElection, Terms]],
) -> None:
    first, first_terms = elections()
    second, second_terms = elections()
    first.start()
    second.start()
    time.sleep(0.6)  # several retries of the follower
    assert first.is_leader and not second.is_leader
    assert second_terms.elected == 0
    first.stop()
    assert wait_until(lambda: second.is_leader, timeout=3)
    assert (first_terms.elected, first_terms.lost, second_terms.elected) == (1, 1, 1)


def test_different_keys_do_not_exclude_each_other(
    elections: Callable[..., tuple[LeaderElection, Terms]],
) -> None:
    one, _ = elections("lock-one")
    two, _ = elections("lock-two")
    one.start()
    two.start()
    assert one.is_leader and two.is_leader


@pytest.mark.skipif(database.backend() != "postgresql", reason="a server-side session only on PostgreSQL")
def test_a_leader_whose_session_ends_stops_at_once_and_is_elected_again(
    elections: Callable[..., tuple[LeaderElection, Terms]], database_url: str
) -> None:
    election, terms = elections()
    election.start()
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'broadcast-scheduler-leader' AND datname = current_database()"
            )
        ).all()
    engine.dispose()
    assert ended == [(True,)]
    assert wait_until(lambda: terms.lost == 1, timeout=2)
    assert wait_until(lambda: terms.elected == 2 and election.is_leader, timeout=3)


def test_a_follower_hands_slots_to_the_leader(database_url: str, nothing_pushed: None) -> None:
    def make() -> ElectedScheduler:
        return ElectedScheduler(
            lambda: ProgrammeScheduler(database_url, TZ, 30.0), database_url, retry_s=0.2, check_s=0.2
        )

    leader, follower = make(), make()
    try:
        leader.start()
        follower.start()
        assert leader.is_leader and not follower.is_leader
        assert leader.running and follower.running  # /healthz: scheduling is covered on both
        start = datetime.now(VN).replace(microsecond=0) + timedelta(hours=2)
        predicted = follower.add_slot(7, SlotRule(start_at=start))
        assert predicted == start - timedelta(seconds=30)
        assert wait_until(lambda: leader.next_push(7) is not None, timeout=3)
        assert leader.next_push(7) == predicted
        daily = SlotRule(daily_at="06:30", days=frozenset({0, 2, 4}))
        predicted_daily = follower.add_slot(8, daily)
        assert wait_until(lambda: leader.next_push(8) is not None, timeout=3)
        assert leader.next_push(8) == predicted_daily
        follower.remove_slot(7)
        assert wait_until(lambda: leader.next_push(7) is None, timeout=3)
        assert follower.job_ids() == [] and leader.job_ids() == ["slot-8"]
        leader.shutdown()
        assert wait_until(lambda: follower.is_leader, timeout=3)
        assert follower.job_ids() == ["slot-8"]  # the job store carried the jobs over
        assert follower.add_slot(9, SlotRule(start_at=start)) == predicted  # planned directly now
        assert follower.next_push(9) == predicted
    finally:
        follower.shutdown()
        leader.shutdown()


def test_predicted_push_is_what_the_scheduler_plans(database_url: str, nothing_pushed: None) -> None:
    scheduler = ProgrammeScheduler(database_url, TZ, 2.5)
    scheduler.start()
    try:
        now = datetime.now(VN)
        for slot_id, rule in enumerate(
            (
                SlotRule(start_at=now + timedelta(hours=1)),
                SlotRule(daily_at="00:00", days=frozenset({0})),
                SlotRule(daily_at=f"{now:%H}:{now:%M}"),  # inside the lead today or tomorrow
            )
        ):
            planned = scheduler.add_slot(slot_id, rule)
            assert predicted_push(rule, 2.5, TZ, datetime.now(VN)) == planned, rule
    finally:
        scheduler.shutdown()

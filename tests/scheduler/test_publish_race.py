"""Programme refreshes at once (last call, periodic job, API write, other workers) never collide.

Each refresh is made to plan before either stores anything — the interleaving that logged
`UNIQUE constraint failed: commands.id` — with real threads and real processes on the backend under test.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier as ProcessBarrier
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from broadcast import protocol
from broadcast.programme import publishing
from broadcast.signing import keys
from broadcast.storage.db import Database
from broadcast.storage.models import Bulletin, Clip, Command, Slot, SlotItem, User, Zone, ZoneProgramme

TZ = "Asia/Ho_Chi_Minh"
ZONE = "thon-1"
MEET_TIMEOUT_S = 1.0  # how long a refresh waits for the other one to have planned too


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(
        self, topic: str, payload: bytes, *, expiry_s: float, retain: bool = False, wait: float = 5.0
    ) -> None:
        self.sent.append((topic, payload))


def _context(db: Database, secrets: Path, publisher: RecordingPublisher) -> publishing.PushContext:
    signing = keys.StationKeys(secrets).signing_key_raw()
    return publishing.PushContext(db, publisher, signing, "http://127.0.0.1:1", 60.0, TZ)


def _meeting_plans(barrier: threading.Barrier | ProcessBarrier) -> Callable[..., list[Any]]:
    """Return load_plans that waits (briefly) until the other refresh has planned too."""
    original = publishing.load_plans

    def load_plans(*args: Any, **kwargs: Any) -> list[Any]:
        plans = original(*args, **kwargs)
        # Broken: the other refresh waits its turn (it cannot plan until this one is stored).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(MEET_TIMEOUT_S)
        return plans

    return load_plans


def _versions(publisher: RecordingPublisher) -> list[int]:
    topic = protocol.zone_programme_topic(ZONE)
    return [protocol.parse_programme(json.loads(p)).version for t, p in publisher.sent if t == topic]


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[Database]:
    database = Database(migrated_database_url)
    now = datetime.now(UTC)
    with database.session() as session:  # a slot booked ahead, plus a daily one: several entries
        session.add(Zone(id=ZONE, name="Thôn 1"))
        user = User(name="chutich", role="approver", password_hash="-")
        session.add(user)
        session.flush()
        for n, (start_at, daily_at) in enumerate([(now + timedelta(minutes=10), None), (None, "06:00")]):
            sha = f"{n:064d}"
            session.add(Clip(sha256=sha, size=1000, duration_s=20.0, loudness_lufs=-16.0))
            session.flush()
            bulletin = Bulletin(
                title="Họp dân", text="Họp dân.", spoken_text="họp dân", priority="normal", zones=[ZONE],
                status="ready", clip_sha256=sha, engine="espeak", voice="vi", created_by=user.id,
            )  # fmt: skip
            slot = Slot(
                zones=[ZONE], start_at=start_at, daily_at=daily_at, days=[str(d) for d in range(7)],
                title="Thông báo", created_by=user.id,
            )  # fmt: skip
            session.add_all([bulletin, slot])
            session.flush()
            session.add(SlotItem(slot_id=slot.id, position=0, kind="bulletin", bulletin_id=bulletin.id))
    yield database
    database.dispose()


def _assert_stored_once(db: Database, published: int) -> None:
    with db.session() as session:
        ids = list(session.scalars(select(Command.id)))
        assert len(ids) == len(set(ids)) >= 3  # the booked slot and at least two daily occurrences
        state = session.get(ZoneProgramme, ZONE)
        assert state is not None and state.version == published


def test_refreshes_in_two_threads_store_each_entry_once_and_publish_in_order(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = RecordingPublisher()
    ctx = _context(db, tmp_path / "secrets", publisher)
    monkeypatch.setattr(publishing, "load_plans", _meeting_plans(threading.Barrier(2)))
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            publishing.refresh(ctx, [ZONE], force=True)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # The retained programme must end up the newest: versions go out in the order they were made.
    assert _versions(publisher) == [1, 2]
    _assert_stored_once(db, published=2)


def _refresh_in_process(url: str, secrets: str, barrier: ProcessBarrier, results: Any) -> None:
    """Run in a child process: one refresh of the zone on a fresh engine; report versions or the error."""
    publishing.load_plans = _meeting_plans(barrier)  # this child only
    db = Database(url)
    try:
        results.put(publishing.refresh(_context(db, Path(secrets), RecordingPublisher()), [ZONE], force=True))
    except Exception as exc:  # the parent asserts on it
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        db.dispose()


def test_refreshes_in_two_processes_store_each_entry_once(
    db: Database, tmp_path: Path, migrated_database_url: str
) -> None:
    keys.StationKeys(tmp_path / "secrets").signing_key_raw()  # made once, before both read it
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    children = [
        spawn.Process(
            target=_refresh_in_process,
            args=(migrated_database_url, str(tmp_path / "secrets"), barrier, results),
        )
        for _ in range(2)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=90) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert sorted(str(o) for o in outcomes) == [str({ZONE: 1}), str({ZONE: 2})]
    _assert_stored_once(db, published=2)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ZoneProgramme)) == 1

"""Entries of deleted slots cannot be replayed: a lone play must be listed in the programme covering it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcast import protocol
from edge_agent.programme import unlisted_lone_entry
from tests.edge_agent.programme_station import CLIP_SECONDS, ZONE, ProgrammeStation

# --- the rule (pure) -------------------------------------------------------------------------------------

NOW = 1_750_000_000.0
CLIP = protocol.ClipRef("http://127.0.0.1:1/clips/a.mp3", "a" * 64, 10, 2.0)


def _play(command_id: str, start_at: float, zones: tuple[str, ...] = (ZONE,)) -> protocol.PlayCommand:
    return protocol.PlayCommand(command_id, 1, NOW, start_at + 30, start_at, "normal", zones, CLIP)


def _programme(version: int, listed: list[str], window_s: float = 3600) -> protocol.ProgrammeMessage:
    entries = tuple(protocol.canonical_json(_play(c, NOW + 60).to_body()).decode() for c in listed)
    return protocol.ProgrammeMessage(
        f"p{version}", version, NOW, NOW + window_s, ZONE, version, NOW, NOW + window_s, entries
    )


@pytest.mark.parametrize(
    ("command", "held", "refused"),
    [
        (_play("kept", NOW + 60), {ZONE: _programme(2, ["kept"])}, False),
        (_play("deleted", NOW + 60), {ZONE: _programme(2, ["kept"])}, True),
        (_play("deleted", NOW - 5), {ZONE: _programme(2, ["kept"])}, True),  # started before v2 was sent
        (_play("later", NOW + 7200), {ZONE: _programme(2, ["kept"])}, False),  # past what v2 speaks for
        (_play("deleted", NOW + 60), {}, False),  # no programme yet: ids, seq and expiry still apply
        (_play("deleted", NOW + 60), {"thon-9": _programme(2, [])}, False),  # another zone's programme
        (_play("both", NOW + 60, (ZONE, "thon-9")), {ZONE: _programme(2, ["kept"])}, True),
    ],
)
def test_a_lone_play_must_be_listed_in_the_programme_covering_its_start(
    command: protocol.PlayCommand, held: dict[str, protocol.ProgrammeMessage], refused: bool
) -> None:
    reason = unlisted_lone_entry(command, held, (ZONE,))
    assert (reason is not None) is refused
    if reason:
        assert "replayed" in reason and "v2" in reason


# --- real agent processes, real Mosquitto ---------------------------------------------------------------

OLD, NEW = "loa-cu", "loa-moi"  # one held the old programme, the other never did


@pytest.fixture
def station(tmp_path: Path, mp3_clip: Path, station_key: tuple[bytes, str]) -> Iterator[ProgrammeStation]:
    station = ProgrammeStation(tmp_path, [OLD, NEW], mp3_clip, station_key)
    try:
        yield station
    finally:
        station.close()


@pytest.mark.integration
def test_a_deleted_slots_entry_replayed_alone_is_refused_and_the_current_entry_plays(
    station: ProgrammeStation,
) -> None:
    old = station.add_agent(OLD)
    station.wait_for("first agent online", lambda: station.online(OLD))
    start = time.time() + 9.0
    kept, kept_entry = station.entry(start, "slot-1-occurrence")
    deleted, deleted_entry = station.entry(start + CLIP_SECONDS + 0.5, "slot-2-occurrence")
    station.publish_programme(1, [kept_entry, deleted_entry])
    pending = old.directory / "state" / "pending"
    station.wait_for("both entries scheduled", lambda: len(list(pending.glob("*.cmd"))) == 2, timeout=6)
    station.publish_programme(2, [kept_entry])  # slot 2 deleted
    station.wait_for("the deleted entry cancelled", lambda: len(list(pending.glob("*.cmd"))) == 1, timeout=6)

    new = station.add_agent(NEW)  # gets the retained v2 only: it never held the deleted entry
    station.wait_for("second agent online", lambda: station.online(NEW))
    station.wait_for("v2 held", lambda: new.programme_version() == 2, timeout=6)
    # Someone with broker control replays the signed entry alone, on every topic an agent listens to.
    for topic in (
        protocol.zone_command_topic(ZONE),
        protocol.device_command_topic(NEW),
        protocol.device_command_topic(OLD),
    ):
        station.client.publish(topic, deleted_entry.encode(), qos=1).wait_for_publish(5)
    station.client.publish(protocol.zone_command_topic(ZONE), kept_entry.encode(), qos=1).wait_for_publish(5)

    station.wait_for(
        "the replay refused and reported by the agent that never held it",
        lambda: any(r.device_id == NEW for r in station.reports(protocol.CommandRejected, deleted.id)),
    )
    (refusal,) = [r for r in station.reports(protocol.CommandRejected, deleted.id) if r.device_id == NEW]
    assert "replayed" in refusal.reason and "programme v2" in refusal.reason
    time.sleep(max(0.0, deleted.start_at + CLIP_SECONDS + 0.5 - time.time()))
    for agent in (old, new):
        assert [p["command_id"] for p in agent.plays()] == [kept.id], agent.tail()  # once, on time
        (play,) = agent.plays(kept.id)
        assert abs(play["started_at"] - kept.start_at) < 0.5

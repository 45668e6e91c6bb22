"""Zone programmes: version checks (pure), and a real in-process Agent reconciling, cancelling, restarting."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcast import protocol
from edge_agent import pipeline
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.outputs.file import FileSink
from edge_agent.pending import PendingStore
from edge_agent.programme import ProgrammeAccepted, ProgrammeRejected, check_programme, entry_index
from edge_agent.programme_store import ProgrammeStore, StoredProgramme
from edge_agent.seen import SeenStore
from tests.edge_agent.conftest import ClipServe
from tests.support.free_port import free_port

ZONE = "thon-1"
TOPIC = protocol.zone_programme_topic(ZONE)


def _programme(key: bytes, number: int, items: list[bytes], /, **overrides: Any) -> bytes:
    now = time.time()
    programme = protocol.ProgrammeMessage(
        id=f"prog-{number}",
        seq=number,
        issued_at=now,
        expires_at=now + 3600,
        zone=ZONE,
        version=number,
        window_start=now,
        window_end=now + 48 * 3600,
        entries=tuple(e.decode() for e in items),
    )
    return protocol.sign_body({**programme.to_body(), **overrides}, key)


def test_check_programme_accepts_only_newer_versions(
    agent_config: AgentConfig, station_key: tuple[bytes, str], other_key: tuple[bytes, str]
) -> None:
    v2 = _programme(station_key[0], 2, [])
    verdict = check_programme(v2, TOPIC, time.time(), agent_config, {})
    assert isinstance(verdict, ProgrammeAccepted) and verdict.programme.version == 2
    held = {ZONE: (2, v2)}

    def kind(raw: bytes, topic: str = TOPIC, accepted: dict[str, tuple[int, bytes]] = held) -> str:
        result = check_programme(raw, topic, time.time(), agent_config, accepted)
        return "accepted" if isinstance(result, ProgrammeAccepted) else result.kind

    assert kind(v2) == "unchanged"  # the retained copy on every reconnect: not reported
    assert kind(_programme(station_key[0], 2, [])) == "stale"  # same number, other content
    assert kind(_programme(station_key[0], 1, [])) == "stale"  # a replay of an older one
    assert kind(_programme(station_key[0], 3, [])) == "accepted"
    assert kind(_programme(other_key[0], 3, [])) == "unknown-key"  # a forger's own key
    assert kind(_programme(station_key[0], 3, [], zone="thon-9")) == "not-for-me"
    assert (
        kind(_programme(station_key[0], 3, []), topic=protocol.zone_programme_topic("thon-2")) == "malformed"
    )
    assert kind(_programme(station_key[0], 3, [], expires_at=time.time() - 5)) == "expired"
    assert kind(_programme(station_key[0], 3, [], entries="not a list")) == "malformed"
    assert kind(_programme(station_key[0], 3, [], version=-1)) == "malformed"
    rejected = check_programme(_programme(station_key[0], 1, []), TOPIC, time.time(), agent_config, held)
    assert isinstance(rejected, ProgrammeRejected) and rejected.report
    assert "version 1 is not newer than the accepted 2" in rejected.reason


def test_programme_store_tracks_dropped_and_cancelled_ids(tmp_path: Path) -> None:
    store = ProgrammeStore(tmp_path / "programmes.json")
    now = time.time()
    assert store.accept(ZONE, StoredProgramme(1, b"v1", {"a": now + 60, "b": now + 60}), now) == set()
    assert store.accept(ZONE, StoredProgramme(2, b"v2", {"a": now + 60}), now) == {"b"}
    assert store.accept("thon-2", StoredProgramme(1, b"x1", {"c": now + 60}), now) == set()
    store.mark_cancelled({"b": now + 60})
    reopened = ProgrammeStore(tmp_path / "programmes.json")  # a power cut: all of it is on disk
    assert {z: p.version for z, p in reopened.zones().items()} == {ZONE: 2, "thon-2": 1}
    assert reopened.is_dropped("b") and not reopened.is_dropped("a")
    assert reopened.cancelled() == {"b"}
    # Listed again: no longer dropped; still "cancelled" until it is scheduled (then uncancel()).
    assert reopened.accept(ZONE, StoredProgramme(3, b"v3", {"a": now + 60, "b": now + 60}), now) == set()
    assert not reopened.is_dropped("b")
    reopened.uncancel("b")
    assert ProgrammeStore(tmp_path / "programmes.json").cancelled() == frozenset()


# --- a real Agent (no broker: reports stay in its outbox) ------------------------------------------------


@dataclasses.dataclass
class Rig:
    agent: Agent
    sink: FileSink
    key: bytes
    clip: protocol.ClipRef
    config: AgentConfig

    def entry(self, command_id: str, start_in: float, duration_s: float = 0.2, name: str = "a.mp3") -> bytes:
        now = time.time()
        command = protocol.PlayCommand(
            id=command_id,
            seq=1,
            issued_at=now,
            expires_at=now + start_in + 30,
            start_at=now + start_in,
            priority="normal",
            zones=(ZONE,),
            clip=dataclasses.replace(
                self.clip, url=self.clip.url.replace("a.mp3", name), duration_s=duration_s
            ),
        )
        return protocol.sign_body(command.to_body(), self.key)

    def plays(self) -> list[str]:
        if not self.sink.log_path.exists():
            return []
        return [json.loads(line)["command_id"] for line in self.sink.log_path.read_text().splitlines()]

    def rejections(self) -> list[tuple[str, str]]:
        messages = [json.loads(payload) for _, payload in self.agent.outbox.pending()]
        return [(m["command_id"], m["reason"]) for m in messages if m["type"] == "rejected"]

    def pending_ids(self) -> set[str]:
        return {json.loads(payload)["id"] for _, payload in self.agent.pending.load()}

    def restart(self) -> None:
        self.agent.stop()
        self.agent = Agent(self.config, self.sink)
        self.agent.start()


@pytest.fixture
def rig(
    agent_config: AgentConfig,
    station_key: tuple[bytes, str],
    serve_clips: ClipServe,
    mp3_clip: Path,
    tmp_path: Path,
) -> Iterator[Rig]:
    www = tmp_path / "www" / "clips"
    www.mkdir(parents=True)
    shutil.copy(mp3_clip, www / "a.mp3")
    data = mp3_clip.read_bytes()
    base = serve_clips(tmp_path / "www", [])
    clip = protocol.ClipRef(f"{base}/clips/a.mp3", hashlib.sha256(data).hexdigest(), len(data), 0.2)
    config = dataclasses.replace(agent_config, station_url=base, mqtt_port=free_port())
    sink = FileSink(tmp_path / "plays")
    agent = Agent(config, sink)
    agent.start()
    rig = Rig(agent, sink, station_key[0], clip, config)
    yield rig
    rig.agent.stop()


def _body(signed: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(signed)
    body.pop("sig")
    return body


def _wait(what: str, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_newer_programme_cancels_what_it_leaves_out_and_may_bring_it_back(rig: Rig) -> None:
    a, b = rig.entry("a", 1.5), rig.entry("b", 2.5)
    v1 = _programme(rig.key, 1, [a, b])
    rig.agent.handle(v1, TOPIC)
    _wait("both entries scheduled", lambda: rig.pending_ids() == {"a", "b"})
    rig.agent.handle(_programme(rig.key, 2, [a]), TOPIC)
    assert rig.pending_ids() == {"a"}
    assert rig.agent.programmes.cancelled() == {"b"}
    rig.agent.handle(v1, TOPIC)  # a replay of the older version
    rig.agent.handle(v1, TOPIC)
    stale = [r for r in rig.rejections() if r[0] == "prog-1"]
    assert len(stale) == 1 and "not newer" in stale[0][1]  # reported once
    rig.agent.handle(_programme(rig.key, 3, [a, b]), TOPIC)  # re-planned: b is back
    _wait("b scheduled again", lambda: rig.pending_ids() == {"a", "b"})
    _wait("both played", lambda: len(rig.plays()) == 2)
    assert rig.plays() == ["a", "b"]
    assert rig.agent.programmes.cancelled() == frozenset()


def test_entry_arriving_alone_and_in_a_programme_plays_once(rig: Rig) -> None:
    x, y = rig.entry("x", 1.2), rig.entry("y", 1.6)
    rig.agent.handle(x)  # alone first (zone command topic)
    rig.agent.handle(_programme(rig.key, 1, [x, y]), TOPIC)
    rig.agent.handle(y)  # alone after the programme scheduled it (or while fetching it)
    _wait("both played", lambda: len(rig.plays()) == 2)
    time.sleep(0.3)
    assert rig.plays() == ["x", "y"]
    assert rig.rejections() == []


def test_programme_entries_are_checked_like_lone_commands(rig: Rig, other_key: tuple[bytes, str]) -> None:
    now = time.time()
    forged = protocol.sign_body(_body(rig.entry("forged", 1.0)), other_key[0])
    expired = rig.entry("old", -40.0)
    elsewhere = protocol.sign_body({**_body(rig.entry("far", 1.0)), "zones": ["thon-9"]}, rig.key)
    tone = protocol.TestToneCommand("tone", 1, now, now + 60, now + 1, (ZONE,))
    entries = [forged, expired, elsewhere, protocol.sign_body(tone.to_body(), rig.key)]
    rig.agent.handle(_programme(rig.key, 1, entries), TOPIC)
    rig.agent.handle(_programme(rig.key, 2, entries), TOPIC)  # the same refusals are not repeated
    reasons = dict(rig.rejections())
    assert sorted(reasons) == ["far", "forged", "old", "tone"]
    assert "bad signature" in reasons["forged"] and "expired" in reasons["old"]
    assert "not this device's" in reasons["far"] and "not a programme entry kind" in reasons["tone"]
    assert "forged" not in rig.agent.seen and "old" not in rig.agent.seen  # seen means scheduled


def test_restart_replays_the_stored_programme_without_double_plays(rig: Rig) -> None:
    p, q = rig.entry("p", 2.0), rig.entry("q", 2.4)
    rig.agent.handle(_programme(rig.key, 1, [p, q]), TOPIC)
    _wait("both scheduled", lambda: rig.pending_ids() == {"p", "q"})
    rig.restart()
    _wait("both played", lambda: len(rig.plays()) == 2)
    time.sleep(0.3)
    assert rig.plays() == ["p", "q"]


def test_restart_after_a_crash_mid_programme_change(rig: Rig, tmp_path: Path) -> None:
    """State as a power cut left it: v2 stored (drops d), d and k still pending, n never scheduled."""
    d, k, n = rig.entry("d", 2.0), rig.entry("k", 2.0), rig.entry("n", 2.4)
    rig.agent.stop()
    state = rig.config.state_dir
    now = time.time()
    store = ProgrammeStore(state / "programmes.json")
    store.accept(
        ZONE, StoredProgramme(1, _programme(rig.key, 1, [d, k]), {"d": now + 60, "k": now + 60}), now
    )
    v2 = _programme(rig.key, 2, [k, n])
    programme = protocol.parse_programme(protocol.verify_message(v2, rig.config.station_public_key, 2**20))
    store.accept(ZONE, StoredProgramme(2, v2, entry_index(programme)), now)
    pending, seen = PendingStore(state / "pending"), SeenStore(state / "seen.jsonl")
    for command_id, payload in (("d", d), ("k", k)):
        pending.save(command_id, payload)
        seen.add(command_id, now + 60)
    seen.close()
    rig.agent = Agent(rig.config, rig.sink)
    rig.agent.start()
    _wait("k and n played", lambda: len(rig.plays()) == 2)
    time.sleep(0.3)
    assert sorted(rig.plays()) == ["k", "n"]  # d was dropped by v2: cancelled, not played
    assert rig.agent.programmes.cancelled() == {"d"}


def test_an_entry_whose_clip_is_not_there_yet_is_fetched_again_later(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mp3_clip: Path
) -> None:
    monkeypatch.setattr(pipeline, "RETRY_S", 0.3)
    late = rig.entry("late", 2.0, name="late.mp3")
    rig.agent.handle(_programme(rig.key, 1, [late, late]), TOPIC)  # listed twice, too
    _wait("the failed fetch reported", lambda: bool(rig.rejections()))
    assert "HTTP 404" in rig.rejections()[0][1]
    assert "late" not in rig.agent.seen  # not scheduled, so not seen: it may be tried again
    shutil.copy(mp3_clip, tmp_path / "www" / "clips" / "late.mp3")
    _wait("played after the retry", lambda: rig.plays() == ["late"])
    time.sleep(0.3)
    assert rig.plays() == ["late"]
    assert len(rig.rejections()) == 1  # reported once, however often it was retried

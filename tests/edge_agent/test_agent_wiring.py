"""The small parts the composition root wires in order: work underway, refusals, the playout's reports."""

from __future__ import annotations

import time
from pathlib import Path

from broadcast import protocol
from edge_agent.gpio import NullRelay
from edge_agent.gpio.amp import AmpControl
from edge_agent.outputs import PlayRequest
from edge_agent.outputs.file import FileSink
from edge_agent.pending import PendingStore
from edge_agent.pipeline import Underway, Work
from edge_agent.playing import OnAir, PlayMarks
from edge_agent.playout import Playout
from edge_agent.refusals import Refusals


def _play(command_id: str, sha: str, start_in: float = 3600.0) -> protocol.PlayCommand:
    now = time.time()
    return protocol.PlayCommand(
        id=command_id,
        seq=1,
        issued_at=now,
        expires_at=now + start_in + 30,
        start_at=now + start_in,
        priority="normal",
        zones=("thon-1",),
        clip=protocol.ClipRef("http://s/c.mp3", sha * 64, 1, 2.0),
    )


def test_clips_in_use_are_those_underway_and_those_scheduled(tmp_path: Path) -> None:
    playout = Playout(FileSink(tmp_path / "plays"), "loa-01", lambda message: None)
    underway = Underway(playout)
    assert underway.clips_in_use() == set()
    underway.work["a"] = Work(_play("a", "a"), b"", durable=True)
    playout.schedule(PlayRequest(_play("b", "b"), Path("/nonexistent"), "loa-01"))
    assert underway.clips_in_use() == {"a" * 64, "b" * 64}
    underway.work.pop("a")
    assert underway.clips_in_use() == {"b" * 64}


def test_a_repeated_refusal_is_reported_once_a_plain_one_every_time() -> None:
    reports: list[protocol.AgentMessage] = []
    refusals = Refusals("loa-01", reports.append)
    refusals.once(("c1", "unlisted"), "c1", "not listed", "refused lone command c1")
    refusals.once(("c1", "unlisted"), "c1", "not listed", "refused lone command c1")
    refusals.reject("c2", "x" * 600)
    refusals.reject("c2", "again")
    assert [(r.command_id, len(r.reason)) for r in reports if isinstance(r, protocol.CommandRejected)] == [
        ("c1", 10),
        ("c2", 500),
        ("c2", 5),
    ]


def test_on_air_marks_a_start_and_keeps_a_play_the_stop_cut_before_it_began(tmp_path: Path) -> None:
    pending, marks = PendingStore(tmp_path / "pending"), PlayMarks(tmp_path / "playing")
    on_air = OnAir(marks, pending, AmpControl(NullRelay(), 0.0, 0.0))
    started, stopped = _play("started", "a"), _play("stopped", "b")
    pending.save(started.id, b"{}")
    pending.save(stopped.id, b"{}")
    on_air.started(started)
    assert [m.command_id for m in marks.leftovers()] == ["started"] and len(pending.load()) == 1
    on_air.done(started, "played")
    on_air.done(stopped, "stopped")
    assert marks.leftovers() == [] and [key for key, _ in pending.load()] == [PendingStore.key("stopped")]

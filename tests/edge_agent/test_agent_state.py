"""Durable agent state: the seen-command store and the persisted pending programme."""

from __future__ import annotations

import json
from pathlib import Path

from edge_agent.pending import PendingStore
from edge_agent.seen import SeenStore

NOW = 1_750_000_000.0


def test_seen_ids_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "seen.jsonl"
    store = SeenStore(path, now=NOW)
    store.add("cmd-1", NOW + 60)
    store.add("lệnh-2", NOW + 60)
    store.close()
    reopened = SeenStore(path, now=NOW + 1)
    assert "cmd-1" in reopened
    assert "lệnh-2" in reopened
    assert "cmd-3" not in reopened
    assert len(reopened) == 2


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "seen.jsonl"
    store = SeenStore(path, now=NOW)
    store.add("cmd-1", NOW + 60)
    store.close()
    with path.open("a") as handle:
        handle.write('{"id": "cmd-2", "expi')  # power cut in the middle of an append
    reopened = SeenStore(path, now=NOW)
    assert "cmd-1" in reopened
    assert "cmd-2" not in reopened
    reopened.add("cmd-3", NOW + 60)
    reopened.close()
    # Compaction rewrote the file without the torn line, so later appends are whole lines.
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["cmd-1", "cmd-3"]


def test_long_expired_ids_are_pruned_on_open(tmp_path: Path) -> None:
    path = tmp_path / "seen.jsonl"
    store = SeenStore(path, now=NOW)
    store.add("old", NOW - 10 * 3600)
    store.add("recent", NOW - 60)  # just expired: kept a while against clock steps
    store.add("live", NOW + 60)
    store.close()
    reopened = SeenStore(path, now=NOW)
    assert "old" not in reopened
    assert "recent" in reopened
    assert "live" in reopened
    assert len(path.read_text().splitlines()) == 2


def test_pending_store_round_trip(tmp_path: Path) -> None:
    store = PendingStore(tmp_path / "pending")
    store.save("cmd/../1", b"payload-1")  # ids never become paths
    store.save("cmd-2", b"payload-2")
    assert sorted(p for _, p in PendingStore(tmp_path / "pending").load()) == [b"payload-1", b"payload-2"]
    store.remove("cmd/../1")
    store.remove("never-saved")
    entries = store.load()
    assert [p for _, p in entries] == [b"payload-2"]
    store.discard(entries[0][0])
    assert store.load() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pending"]

"""Retention: keep the newest N complete backups, drop crashed ones, never the last good one."""

from __future__ import annotations

import pytest

from broadcast.backup.retention import BackupInfo, choose_prunable, unreferenced_clips


def _infos(spec: str) -> list[BackupInfo]:
    """'c1 c2 i3' -> backups 20260101T00000NZ, complete (c) or incomplete (i)."""
    return [BackupInfo(f"20260101T00000{item[1]}Z", complete=item[0] == "c") for item in spec.split()]


def _ids(numbers: str) -> list[str]:
    return [f"20260101T00000{n}Z" for n in numbers]


@pytest.mark.parametrize(
    ("spec", "keep", "doomed"),
    [
        ("c1 c2 c3", 2, "1"),
        ("c1 c2 c3", 3, ""),
        ("c1 c2 c3", 5, ""),
        ("c1 i2 c3", 1, "12"),  # a crashed backup older than a good one goes
        ("c1 c2 i3", 1, "1"),  # a newer incomplete one may be running now: kept
        ("i1 i2", 1, ""),  # no good backup at all: delete nothing
        ("c3 c1 c2", 1, "12"),  # order of listing does not matter
        ("", 3, ""),
    ],
)
def test_choose_prunable(spec: str, keep: int, doomed: str) -> None:
    assert choose_prunable(_infos(spec) if spec else [], keep) == _ids(doomed)


def test_keep_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        choose_prunable(_infos("c1"), 0)


def test_clips_no_kept_backup_references_are_unreferenced() -> None:
    assert unreferenced_clips(["a", "b", "c"], [["a"], ["a", "c"]]) == ["b"]
    assert unreferenced_clips(["a"], []) == ["a"]

"""The accepted zone programmes and what was taken out of them, in one file written atomically."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent._files import atomic_write

log = logging.getLogger(__name__)

# Ids are kept a while past their expiry, like the seen store's, so a clock step cannot revive them.
_PRUNE_GRACE_S = 3600.0


@dataclass(frozen=True)
class StoredProgramme:
    """One zone's accepted programme: its version, its signed bytes, and its entries' id -> expires_at."""

    version: int
    raw: bytes
    entries: dict[str, float]


class ProgrammeStore:
    """Per zone the last accepted programme; ids dropped from a programme and ids cancelled before start.

    `dropped`: ids a newer programme left out (what must not play, even if a crash came before the
    cancellation). `cancelled`: ids actually taken out of the playout before they started; only these may
    come back when a later programme lists them again (an id that already played never does).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._zones: dict[str, StoredProgramme] = {}
        self._dropped: dict[str, float] = {}
        self._cancelled: dict[str, float] = {}
        self._load()

    def zones(self) -> dict[str, StoredProgramme]:
        """Return the accepted programme of every zone that has one."""
        with self._lock:
            return dict(self._zones)

    def accept(self, zone: str, programme: StoredProgramme, now: float) -> set[str]:
        """Store a newer programme durably and return the ids it drops that no other zone still lists."""
        with self._lock:
            old = self._zones.get(zone)
            removed = dict(old.entries) if old else {}
            for cid in programme.entries:
                removed.pop(cid, None)
            self._zones[zone] = programme
            listed = self._listed()
            self._dropped.update(removed)
            self._dropped = {cid: exp for cid, exp in self._dropped.items() if cid not in listed}
            self._prune(now)
            self._save()
            return set(removed) - listed

    def is_dropped(self, command_id: str) -> bool:
        """Return True if a programme dropped this id and no current programme lists it."""
        with self._lock:
            return command_id in self._dropped

    def cancelled(self) -> frozenset[str]:
        """Return the ids cancelled before they started (a programme may bring them back)."""
        with self._lock:
            return frozenset(self._cancelled)

    def mark_cancelled(self, ids: dict[str, float]) -> None:
        """Record durably that these ids were taken out of the playout before they started."""
        with self._lock:
            self._cancelled.update(ids)
            self._save()

    def uncancel(self, command_id: str) -> None:
        """Record durably that a cancelled id was scheduled again."""
        with self._lock:
            if self._cancelled.pop(command_id, None) is not None:
                self._save()

    def _listed(self) -> set[str]:
        return {cid for stored in self._zones.values() for cid in stored.entries}

    def _prune(self, now: float) -> None:
        self._dropped = {c: e for c, e in self._dropped.items() if e + _PRUNE_GRACE_S >= now}
        self._cancelled = {c: e for c, e in self._cancelled.items() if e + _PRUNE_GRACE_S >= now}

    def _save(self) -> None:
        state = {
            "zones": {
                zone: {"version": stored.version, "programme": stored.raw.decode(), "entries": stored.entries}
                for zone, stored in self._zones.items()
            },
            "dropped": self._dropped,
            "cancelled": self._cancelled,
        }
        atomic_write(self.path, json.dumps(state, ensure_ascii=False).encode())

    def _load(self) -> None:
        try:
            state: Any = json.loads(self.path.read_bytes())
            zones = {
                str(zone): StoredProgramme(
                    int(item["version"]),
                    str(item["programme"]).encode(),
                    {str(c): float(e) for c, e in item["entries"].items()},
                )
                for zone, item in state["zones"].items()
            }
            dropped = {str(c): float(e) for c, e in state["dropped"].items()}
            cancelled = {str(c): float(e) for c, e in state["cancelled"].items()}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # Written atomically, so only a failing SD card gets here; the retained copies come back.
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return
        self._zones, self._dropped, self._cancelled = zones, dropped, cancelled

"""Where the command-number guard (broadcast.backup.seq_guard, written beside this core) joins in.

`backup_facts(settings, database_url) -> dict` is stored in the manifest's extra["command_seq"];
`after_restore(settings, manifest) -> list[str]` runs on the restored data dir before it takes the
target's place. Either function missing means that step has nothing to add.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from broadcast.backup.manifest import Manifest
from broadcast.config import Settings

GUARD_MODULE = "broadcast.backup.seq_guard"


def _guard(name: str) -> Callable[..., Any] | None:
    if importlib.util.find_spec(GUARD_MODULE) is None:
        return None
    found = getattr(importlib.import_module(GUARD_MODULE), name, None)
    return found if callable(found) else None


def backup_facts(settings: Settings, database_url: str) -> dict[str, Any]:
    """Return what the guard wants kept in the manifest (empty without a guard)."""
    facts = _guard("backup_facts")
    return dict(facts(settings, database_url)) if facts else {}


def after_restore(settings: Settings, manifest: Manifest) -> list[str]:
    """Run the guard on the restored data dir; return its messages for the officer."""
    step = _guard("after_restore")
    return [str(line) for line in step(settings, manifest) or []] if step else []

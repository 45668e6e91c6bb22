"""Every TIMING_CRITICAL entry names a test that exists, so a rename cannot quietly un-serialise it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TIMING_CRITICAL

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("entry", sorted(TIMING_CRITICAL))
def test_entry_names_an_existing_module_or_test(entry: str) -> None:
    module, _, test = entry.partition("::")
    source = (ROOT / module).read_text()
    assert not test or f"def {test}(" in source, f"{entry}: no such test"

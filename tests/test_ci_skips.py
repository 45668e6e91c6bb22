"""Under CI=true a skipped test fails the run, except the skips that hold by design (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = """
import pytest

def test_needs_a_tool():
    pytest.skip("frobnicate is not installed")

@pytest.mark.skipif(True, reason="a server-side session only on PostgreSQL")
def test_for_the_other_backend():
    pass

def test_runs():
    pass
"""


def _run(tmp_path: Path, ci: str | None) -> tuple[int, str]:
    (tmp_path / "test_sample.py").write_text(MODULE)
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_XDIST_WORKER"}}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "tests.conftest", "-p", "no:randomly",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
        cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return result.returncode, result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_tool_fails_and_a_backend_skip_stands(tmp_path: Path, ci: str) -> None:
    code, out = _run(tmp_path, ci)
    assert code == 1, out
    assert "FAILED" in out and "frobnicate is not installed" in out
    assert "1 failed, 1 passed, 1 skipped" in out


def test_outside_ci_skips_stay_skips(tmp_path: Path) -> None:
    code, out = _run(tmp_path, None)
    assert code == 0, out
    assert "1 passed, 2 skipped" in out

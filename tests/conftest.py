"""Suite-wide fixtures: the database backend under test (SQLite, or PostgreSQL with TEST_DATABASE)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports broadcast.people.accounts (which reads it once): passwords hashed at the test
# cost, here and in every station process (tests/support/station.py passes it on). The tests that are
# about hashing cost (the login flood) start their stations without it.
os.environ.setdefault("BROADCAST_TEST_CHEAP_HASHES", "1")

from tests.support import database
from tests.support.station import RENDER_CACHE_ENV

# One speech/clip render cache for the whole run (every station renders the same siren and alert
# phrases at start); workers started by pytest-xdist inherit it through the environment.
if RENDER_CACHE_ENV not in os.environ:
    _render_cache = tempfile.mkdtemp(prefix="loa-xa-render-cache-")
    os.environ[RENDER_CACHE_ENV] = _render_cache
    atexit.register(shutil.rmtree, _render_cache, ignore_errors=True)


# Stations under test start no snapserver and serve no HTTPS unless the test asks (its own ports): a fixed
# port per station would collide between xdist workers, and most tests never go live.
os.environ.setdefault("BROADCAST_LIVE_ENGINE", "off")
os.environ.setdefault("BROADCAST_HTTPS_PORT", "0")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a PostgreSQL run with no server, rather than silently testing SQLite."""
    if database.backend() == "postgresql" and not database.server_answers():
        raise pytest.UsageError(
            f"{database.BACKEND_ENV}=postgresql but no PostgreSQL answers at "
            f"{database.server_url().render_as_string(hide_password=True)}"
        )


# Modules, or single tests, asserting times to 0.2 s or less with real processes or servers: test.sh runs
# them on their own after the parallel pass, so a loaded CPU cannot turn their clocks into false failures.
TIMING_CRITICAL = frozenset(
    {
        "tests/edge_agent/test_agent_playout.py",
        "tests/edge_agent/test_agent_control.py",
        "tests/edge_agent/test_agent_relay.py",
        "tests/edge_agent/test_agent_service.py",  # watchdog ticks of 20 ms against 0.1-0.2 s deadlines
        "tests/edge_agent/test_programme_sync.py",
        # Real-process tests with bounds of 0.1-0.2 s; the others check plays with tests/support/timing.py.
        "tests/edge_agent/test_agent_stream.py::test_file_sink_records_the_stream_from_start_at_for_its_duration",
        "tests/edge_agent/test_agent_stream.py::test_alsa_relay_feeds_one_aplay_and_cuts_it_off_on_time",
        "tests/edge_agent/test_agent_stream.py::test_agent_relays_a_signed_stream_and_reports_it",
        "tests/edge_agent/test_agent_outputs.py::test_file_sink_records_at_start_and_keeps_audio",  # 50 ms
        "tests/tts/test_gtts.py::test_a_quota_refusal_holds_off_every_call_until_the_cool_down_ends",  # 0.1 s
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        test = item.nodeid.split("[", 1)[0]  # every parametrisation of a named test
        if test in TIMING_CRITICAL or test.split("::", 1)[0] in TIMING_CRITICAL:
            item.add_marker(pytest.mark.serial)


# In CI a skip must not pass for a test: a missing tool, server or package fails the run there. Only
# these skips stand, as they hold by design (the other backend's pass runs the test, or the data is not
# part of the repository).
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ALLOWED_SKIPS = (
    "a server-side session only on PostgreSQL",  # runs in test.sh's PostgreSQL pass
    "PostgreSQL pass: no database file",  # runs in the SQLite pass
    "shared corpus not present",  # the project's text corpus lives beside the repository, not in it
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true, turn a skip that is not one of ALLOWED_SKIPS into a failure."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not (IN_CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if not any(allowed in reason for allowed in ALLOWED_SKIPS):
        report.outcome = "failed"
        report.longrepr = f"CI=true and this test skipped ({reason}): install what it needs, or fix it"


def pytest_report_header(config: pytest.Config) -> str:
    """Say which database backend this run tests."""
    if database.backend() == "postgresql":
        where = database.server_url().render_as_string(hide_password=True)
        return f"database backend: postgresql ({where}, one fresh database per test)"
    return "database backend: sqlite"


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_databases() -> Iterator[None]:
    """Drop test databases that outlived their test (made by module- or session-scoped fixtures)."""
    yield
    database.drop_created_since(0)
    database.drop_templates()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases a test created (for itself or for its station processes)."""
    mark = database.created_count()
    yield
    database.drop_created_since(mark)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Return the URL of a fresh, empty database of the backend under test."""
    return database.fresh_database_url(tmp_path / "db")


@pytest.fixture
def migrated_database_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a fresh database already at the newest migration (a copy of a template)."""
    return database.migrated_database_url(tmp_path / "db", tmp_path_factory.getbasetemp() / "template-db")

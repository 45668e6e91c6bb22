"""Schemathesis against the station's OpenAPI spec, as an admin and as an editor, with a bounded budget.

Every generated request (valid and deliberately invalid) goes over real HTTP to a real station (database,
managed Mosquitto, TTS). Each answer must not be a 5xx and must match the schema where one is declared;
after each request the database must still be whole (nothing half-stored) and every accepted write must
have left an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import func, select

from broadcast.app import create_app
from broadcast.config import Settings
from broadcast.storage.models import AuditEntry
from tests.fuzz import invariants
from tests.fuzz.station import FuzzStation, start
from tests.support import database

pytestmark = pytest.mark.integration

# Budgets per operation: the admin run also walks schemathesis' coverage phase (boundary values, missing
# and malformed fields, an unsupported method); the editor run is random fuzzing only. Together about
# 1,800 requests in about 25 s on 2 cores.
EXAMPLES = {"admin": 10, "editor": 6}
# Operations that read a bulletin or an alert aloud (espeak + ffmpeg, 0.2–1 s each) get a smaller budget.
SLOW = {"POST /api/alerts": 3, "POST /api/bulletins": 4, "POST /api/bulletins/{bulletin_id}/render": 3}
READS = ("GET", "HEAD", "OPTIONS")


def _config(role: str) -> SchemathesisConfig:
    coverage = {"enabled": role == "admin", "unexpected-methods": ["PATCH"]}
    return SchemathesisConfig.from_dict(
        {
            "seed": 7,
            "generation": {"mode": "all", "max-examples": EXAMPLES[role], "deterministic": True},
            "phases": {"coverage": coverage, "stateful": {"enabled": False}},
            "operations": [
                {"include-name": name, "generation": {"max-examples": budget}}
                for name, budget in SLOW.items()
            ],
        }
    )


def _seed(fuzz: FuzzStation) -> None:
    """Give the fuzzer real rows to hit (ids 1, 2...): bulletins draft and approved, a slot, a word."""
    body = {"title": "Lịch tiêm chủng", "text": "Tiêm chủng lúc 7h30 ngày 15/5.", "zones": ["thon-1"]}
    for _ in range(2):
        assert fuzz.call("POST", "/api/bulletins", "editor", json=body).status_code == 201
    fuzz.call("POST", "/api/bulletins/1/submit", "editor")  # where the workflow asks for it
    assert fuzz.call("POST", "/api/bulletins/1/approve", "approver").status_code == 200
    start_at = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    slot = {"bulletin_id": 1, "start_at": start_at, "zones": ["thon-1"]}
    assert fuzz.call("POST", "/api/slots", "editor", json=slot).status_code == 201
    assert (
        fuzz.call("PUT", "/api/dictionary/HTX", "editor", json={"reading": "hợp tác xã"}).status_code == 200
    )


@pytest.fixture(scope="module")
def fuzz_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzStation]:
    tmp = tmp_path_factory.mktemp("fuzz")
    fuzz = start(tmp, database.fresh_database_url(Path(tmp) / "db"))
    try:
        _seed(fuzz)
        yield fuzz
    finally:
        fuzz.stop()


# The spec is what the app serves at /openapi.json; building the app starts nothing (no lifespan).
# (schemathesis' lazy fixture loader does not work with pytest 9, so the schema is loaded eagerly.)
SPEC = create_app(Settings(data_dir=Path("unused"))).openapi()
admin_schema = schemathesis.openapi.from_dict(SPEC, config=_config("admin"))
editor_schema = schemathesis.openapi.from_dict(SPEC, config=_config("editor"))


def _audit_count(fuzz: FuzzStation) -> int:
    with fuzz.station.db.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _fuzz_one(case: Any, fuzz: FuzzStation, role: str) -> None:
    headers = fuzz.headers(role)
    write = case.method.upper() not in READS
    if write:
        audited, state = _audit_count(fuzz), invariants.fingerprint(fuzz.station)
    case.call_and_validate(
        base_url=fuzz.url,
        headers=headers,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
    if write:  # a read cannot half-store anything; skipping these checks halves the run time
        invariants.check(fuzz.station)
        if invariants.fingerprint(fuzz.station) != state:
            label = f"{case.method.upper()} {case.path}"
            assert _audit_count(fuzz) > audited, f"{label} changed state without an audit entry"


@admin_schema.parametrize()
def test_api_survives_fuzzing_as_admin(case: Any, fuzz_station: FuzzStation) -> None:
    _fuzz_one(case, fuzz_station, "admin")


@editor_schema.parametrize()
def test_api_survives_fuzzing_as_editor(case: Any, fuzz_station: FuzzStation) -> None:
    _fuzz_one(case, fuzz_station, "editor")

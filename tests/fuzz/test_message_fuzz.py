"""Hypothesis against the message handlers: the agent's command decision, the station's report ingest, CAP.

Each handler takes bytes from the outside world. Whatever arrives, it must decide (accept or reject with a
reason), never crash, never accept something that was not signed as is, and store nothing from a message
it refused.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from broadcast import protocol, reports
from broadcast.alerts.cap import CapError, CapMessage, parse_cap
from broadcast.storage.db import Database, migrate
from broadcast.storage.models import Device, Play, Zone
from edge_agent import handlers
from edge_agent.config import AgentConfig
from tests.support import database

KEY = Ed25519PrivateKey.generate()
PRIVATE = KEY.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
STATION = "http://127.0.0.1:8080"
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
FUZZ_DB = settings(FUZZ, max_examples=120)  # each example commits to a real database

CONFIG = AgentConfig(
    device_id="loa-01",
    zones=("thon-1", "thon-2"),
    station_url=STATION,
    station_public_key=PUBLIC,
    mqtt_host="127.0.0.1",
    mqtt_port=1883,
    mqtt_username="loa-01",
    mqtt_password="unused-in-these-tests",
    state_dir=Path("unused"),
    output="file:unused",
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        ["thon-1", "thon-9", "normal", "emergency", f"{STATION}/clips/a.mp3", "http://evil/x.mp3"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=15,
)
CLIP = st.fixed_dictionaries(
    {"url": st.sampled_from([f"{STATION}/clips/a.mp3", "http://evil/a.mp3", "file:///etc/passwd"])},
    optional={"sha256": st.just("a" * 64) | VALUES, "size": VALUES, "duration_s": VALUES},
)
COMMAND_KEYS = "id seq issued_at expires_at start_at zones priority url level duration_s repeat interval_s"
COMMAND_KEYS += " alert_id title frequency entries"


@st.composite
def command_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Return command-shaped bodies: mostly plausible fields, any of them wrong or missing."""
    now = time.time()
    body: dict[str, Any] = {
        "v": draw(st.sampled_from([1, 1, 1, 2, "1"])),
        "kind": draw(st.sampled_from(["play", "stream", "volume", "test_tone", "alert", "cancel", "nope"])),
        "id": draw(st.text(min_size=1, max_size=40) | st.just("cmd-1")),
        "seq": draw(st.integers(min_value=-5, max_value=2**63)),
        "issued_at": now,
        "expires_at": now + draw(st.floats(min_value=-3600, max_value=3600)),
        "start_at": now + draw(st.floats(min_value=-60, max_value=600)),
        "zones": draw(st.lists(st.sampled_from(["thon-1", "thon-2", "thon-9", ""]), max_size=3)),
        "priority": draw(st.sampled_from(["normal", "priority", "emergency", "loud"])),
        "clip": draw(CLIP),
    }
    for key in draw(st.lists(st.sampled_from(COMMAND_KEYS.split()), max_size=4)):
        body[key] = draw(VALUES)
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
        body.pop(key, None)
    return body


def _accepted_is_sound(decision: handlers.Decision, now: float) -> None:
    """An accepted command is unexpired, for this device's zones, and fetches only from the station."""
    if isinstance(decision, handlers.Rejected):
        assert decision.reason
        return
    command = decision.command
    assert now <= command.expires_at
    assert set(command.zones) & set(CONFIG.zones)
    if isinstance(decision, handlers.Accepted):
        assert handlers.is_under(decision.command.clip.url, STATION)


@FUZZ
@given(command_bodies())
def test_the_agent_decides_any_signed_body_soundly(body: dict[str, Any]) -> None:
    now = time.time()
    try:
        payload = protocol.sign_body(body, PRIVATE)
    except (TypeError, ValueError):  # NaN or a non-JSON value: the station could never sign it
        return
    _accepted_is_sound(handlers.decide(payload, now, CONFIG, set()), now)


@FUZZ
@given(st.data())
def test_a_tampered_signed_command_is_never_accepted_as_something_else(data: st.DataObject) -> None:
    now = float(int(time.time()))  # a whole second: the payload keeps one length across examples
    original = {
        "v": 1, "kind": "volume", "id": "cmd-vol", "seq": 7, "issued_at": now, "expires_at": now + 60,
        "start_at": now, "zones": ["thon-1"], "level": 40,
    }  # fmt: skip
    payload = bytearray(protocol.sign_body(original, PRIVATE))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
        payload[at] ^= data.draw(st.integers(min_value=1, max_value=255))  # always a different byte
    decision = handlers.decide(bytes(payload), now, CONFIG, set())
    if not isinstance(decision, handlers.Rejected):  # only a change that decodes to the same content passes
        assert isinstance(decision, handlers.AcceptedControl)
        assert decision.command == protocol.parse_command(dict(original))


@FUZZ
@given(st.binary(max_size=2000) | VALUES.map(lambda v: json.dumps(v).encode()))
def test_the_agent_rejects_garbage(payload: bytes) -> None:
    decision = handlers.decide(payload, time.time(), CONFIG, set())
    assert isinstance(decision, handlers.Rejected)


# --- station: agent reports ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = database.fresh_database_url(tmp_path_factory.mktemp("reports"))
    migrate(url)
    db = Database(url)
    with db.session() as session:
        session.add(Zone(id="thon-1"))
        session.flush()
        session.add(Device(id="loa-1", zone="thon-1", mqtt_password_hash="unused"))
    yield db
    db.dispose()


REPORT_KEYS = "type device_id command_id clip_sha256 started_at duration_s priority state version ts reason"
REPORT_KEYS += " uptime_s volume clock_offset_ms"


def TEXT(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:  # noqa: N802
    """Return text without NUL (hypothesis favours it; a NUL is tried on purpose where it matters)."""
    return st.text(st.characters(exclude_characters="\x00"), min_size=min_size, max_size=max_size)


@st.composite
def reports_(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": draw(st.sampled_from(["status", "play", "rejected", "heartbeat", "received", "x"])),
        "device_id": draw(st.sampled_from(["loa-1"] * 5 + ["loa-2"])),
        "command_id": draw(TEXT(max_size=20) | TEXT(min_size=60, max_size=100) | st.just("c\x00")),
        "clip_sha256": "a" * 64,
        "started_at": draw(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70)),
        "duration_s": draw(st.floats(allow_nan=True)),
        "priority": "normal",
        "state": draw(st.sampled_from(["online", "offline", "on"])),
        "ts": draw(st.floats(allow_nan=True) | st.integers(-(2**70), 2**70)),
        "reason": draw(TEXT(max_size=600)),
    }
    for key in draw(st.lists(st.sampled_from(REPORT_KEYS.split()), max_size=2)):
        body[key] = draw(VALUES)
    return body


TOPICS = [protocol.device_event_topic("loa-1")] * 3 + [protocol.device_status_topic("loa-1")]


def _plays(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Play)) or 0


@FUZZ_DB
@given(
    st.sampled_from([*TOPICS, protocol.device_event_topic("loa-2"), "loa/v1/dev//event", "x"]),
    reports_().map(lambda b: json.dumps(b).encode()) | st.binary(max_size=300),
)
def test_the_station_ingests_any_report_without_crashing(report_db: Database, topic: str, raw: bytes) -> None:
    before = _plays(report_db)
    try:
        protocol.parse_agent_message(raw, protocol.device_id_from_topic(topic))
        valid = True
    except protocol.ProtocolError:
        valid = False
    reports.ingest(report_db, topic, raw)  # must log and drop what it cannot use, never raise
    if not valid:
        assert _plays(report_db) == before


# --- CAP import -------------------------------------------------------------------------------------------

SAMPLE = (Path(__file__).parents[1] / "data" / "cap" / "bao-so-3.xml").read_bytes()


@st.composite
def mutated_cap(draw: st.DrawFn) -> bytes:
    """Return the typhoon sample with bytes flipped, cut, or hostile XML spliced in."""
    doc = bytearray(SAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(doc) - 1))
        action = draw(st.sampled_from(["flip", "cut", "splice"]))
        if action == "flip":
            doc[at] = draw(st.integers(min_value=0, max_value=255))
        elif action == "cut":
            del doc[at:]
            break
        else:
            doc[at:at] = draw(
                st.sampled_from(
                    [b"<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>", b"&x;", b"<![CDATA[", b"\x00",
                     b"<area><areaDesc>" + b"A" * 5000 + b"</areaDesc></area>", "ạ".encode("utf-16")]
                )
            )  # fmt: skip
    return bytes(doc)


@FUZZ
@given(mutated_cap() | st.binary(max_size=500))
def test_cap_import_only_refuses_with_a_clear_error(raw: bytes) -> None:
    try:
        message = parse_cap(raw)
    except CapError as exc:
        problem = str(exc)
        assert problem  # the officer is told what is wrong
        return
    assert isinstance(message, CapMessage)
    assert "passwd" not in message.spoken_text  # external entities are never resolved

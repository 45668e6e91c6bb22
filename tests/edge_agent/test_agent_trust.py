"""The agent's trusted station keys: key updates checked table-driven, persisted, retired for good."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from broadcast import protocol
from edge_agent.parked import Parked
from edge_agent.trust import KeysAccepted, KeysRejected, TrustState, TrustStore, check_key_update
from tests.edge_agent.conftest import new_keypair

NOW = time.time()
OLD, NEW, THIEF = new_keypair(), new_keypair(), new_keypair()


def _kid(key: tuple[bytes, str]) -> str:
    return protocol.key_id(key[1])


def _update(seq: int, keys: list[tuple[tuple[bytes, str], float | None]], signer: tuple[bytes, str]) -> bytes:
    trusted = tuple(protocol.TrustedKey(_kid(k), k[1], end) for k, end in keys)
    body = protocol.KeyUpdate(f"keys-{seq}", seq, NOW, trusted).to_body()
    return protocol.sign_body(body, signer[0])


ROTATION = _update(1, [(OLD, NOW + 60), (NEW, None)], OLD)
PINNED = TrustState().with_pinned(OLD[1])
ROTATED = TrustState(
    1,
    (protocol.TrustedKey(_kid(OLD), OLD[1], NOW + 60), protocol.TrustedKey(_kid(NEW), NEW[1])),
    update=ROTATION,
)

# (case, state, update, expected kind or None for accepted, text of the reason)
CASES: list[tuple[str, TrustState, Callable[[], bytes], str | None, str]] = [
    ("rotation signed by the pinned key", PINNED, lambda: ROTATION, None, ""),
    ("the retained copy again", ROTATED, lambda: ROTATION, "unchanged", "already"),
    ("an older update", ROTATED, lambda: _update(1, [(NEW, None)], NEW), "stale", "not newer"),
    (
        "the old key, in its grace, adding a key",
        ROTATED,
        lambda: _update(2, [(OLD, None), (THIEF, None)], OLD),
        "not-allowed",
        "newest",
    ),
    (
        "signed by an unknown key",
        PINNED,
        lambda: _update(1, [(THIEF, None)], THIEF),
        "unknown-key",
        "not trusted",
    ),
    (
        "every key would expire",
        PINNED,
        lambda: _update(1, [(OLD, NOW + 60)], OLD),
        "malformed",
        "nothing could sign",
    ),
    ("not signed", PINNED, lambda: protocol.canonical_json({"kind": "keys"}), "unverified", "unsigned"),
    (
        "the next rotation by the newest key",
        ROTATED,
        lambda: _update(2, [(NEW, NOW + 60), (THIEF, None)], NEW),
        None,
        "",
    ),
]


@pytest.mark.parametrize(("case", "state", "update", "kind", "reason"), CASES, ids=[c[0] for c in CASES])
def test_check_key_update(
    case: str, state: TrustState, update: Callable[[], bytes], kind: str | None, reason: str
) -> None:
    verdict = check_key_update(update(), state, NOW)
    if kind is None:
        assert isinstance(verdict, KeysAccepted), verdict
        assert verdict.state.serial == verdict.update.seq > state.serial
        assert {k.kid for k in verdict.state.keys} == {k.kid for k in verdict.update.keys}
    else:
        assert isinstance(verdict, KeysRejected) and verdict.kind == kind, verdict
        assert reason in verdict.reason and verdict.report == (kind != "unchanged")


def test_keys_are_retired_for_good_across_restarts_even_if_agent_toml_pins_them(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = TrustStore(path, OLD[1])
    assert set(store.ring(NOW)) == {_kid(OLD)}
    assert isinstance(store.offer(ROTATION, NOW), KeysAccepted)
    assert set(TrustStore(path, OLD[1]).ring(NOW)) == {_kid(OLD), _kid(NEW)}  # persisted
    after_grace = NOW + 61
    assert set(store.ring(after_grace)) == {_kid(NEW)}
    restarted = TrustStore(path, OLD[1])  # agent.toml still pins the old key
    assert set(restarted.ring(NOW)) == {_kid(NEW)}  # even with the clock stepped back
    assert _kid(OLD) in json.loads(path.read_bytes())["retired"]
    # The thief's old key can no longer sign anything, not even a key update.
    stolen = _update(2, [(OLD, None), (THIEF, None)], OLD)
    verdict = restarted.offer(stolen, after_grace)
    assert isinstance(verdict, KeysRejected) and verdict.kind == "unknown-key"


def test_signatures_name_their_key_and_verify_picks_it() -> None:
    body = {"v": 1, "kind": "volume", "id": "x"}
    ring = {_kid(OLD): OLD[1], _kid(NEW): NEW[1]}
    signed = protocol.sign_body(body, NEW[0])
    assert json.loads(signed)["kid"] == _kid(NEW)
    assert protocol.verify_message(signed, ring)["id"] == "x"
    with pytest.raises(protocol.UnknownKeyError):
        protocol.verify_message(signed, {_kid(OLD): OLD[1]})


def test_parked_messages_are_bounded_and_expire() -> None:
    parked = Parked(park_s=10, max_parked=2)
    parked.add("t", b"1", 0.0)
    parked.add("t", b"2", 5.0)
    parked.add("t", b"3", 6.0)  # the oldest goes
    assert parked.take(15.5) == [("t", b"3")]  # b"2" is older than park_s by now
    assert len(parked) == 0

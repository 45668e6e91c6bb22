"""The station keys this agent trusts: the key pinned in agent.toml, then what signed key updates say.

A key update (retained on loa/v1/keys) must be signed by a trusted key that is not being retired, and
be numbered above the last one accepted: a stolen old key can sign commands until its grace period
ends, but it can neither extend its own life nor add a key. A key once dropped never comes back, even
if agent.toml still pins it. The state is written atomically before it is used.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from broadcast import protocol
from edge_agent._files import try_atomic_write

log = logging.getLogger(__name__)

KeysRejectKind = Literal["unverified", "unknown-key", "malformed", "stale", "not-allowed", "unchanged"]


@dataclass(frozen=True)
class TrustState:
    """Accepted key-update number, trusted keys, ids of keys dropped for good, the update as received."""

    serial: int = 0
    keys: tuple[protocol.TrustedKey, ...] = ()
    retired: frozenset[str] = field(default_factory=frozenset)
    update: bytes = b""

    def ring(self, now: float) -> dict[str, str]:
        """Return key id -> public key of the keys valid at now."""
        return {k.kid: k.public_key for k in self.keys if k.valid_at(now)}

    def with_pinned(self, public_key: str) -> TrustState:
        """Return the state trusting the agent.toml key too, unless an update already dropped it."""
        kid = protocol.key_id(public_key)
        if kid in self.retired or any(k.kid == kid for k in self.keys):
            return self
        return replace(self, keys=(*self.keys, protocol.TrustedKey(kid, public_key)))

    def expired(self, now: float) -> TrustState:
        """Return the state without keys whose grace period has ended (they are retired for good)."""
        gone = {k.kid for k in self.keys if not k.valid_at(now)}
        if not gone:
            return self
        keys = tuple(k for k in self.keys if k.kid not in gone)
        return replace(self, keys=keys, retired=self.retired | gone)


@dataclass(frozen=True)
class KeysAccepted:
    """A newer key update from the newest trusted key: the state to keep from now on."""

    state: TrustState
    update: protocol.KeyUpdate


@dataclass(frozen=True)
class KeysRejected:
    """A key update that changes nothing; `report` says whether the station should hear about it."""

    kind: KeysRejectKind
    reason: str
    update_id: str = ""

    @property
    def report(self) -> bool:
        """Return True unless it is the retained copy already accepted (sent on every reconnect)."""
        return self.kind != "unchanged"


def check_key_update(raw: bytes, state: TrustState, now: float) -> KeysAccepted | KeysRejected:
    """Return whether a received key update replaces the trusted keys: pure data in, verdict out."""
    try:
        body = protocol.verify_message(raw, state.ring(now))
    except protocol.UnknownKeyError as exc:
        return KeysRejected("unknown-key", f"key update: {exc}")
    except protocol.ProtocolError as exc:
        return KeysRejected("unverified", f"key update: {exc}")
    claimed = body.get("id")
    update_id = claimed[:64] if isinstance(claimed, str) else ""
    try:
        update = protocol.parse_key_update(body)
    except protocol.ProtocolError as exc:
        return KeysRejected("malformed", f"key update: {exc}", update_id)
    if update.seq <= state.serial:
        if update.seq == state.serial and raw == state.update:
            return KeysRejected("unchanged", "already accepted", update.id)
        reason = f"key update {update.seq} is not newer than the accepted {state.serial}"
        return KeysRejected("stale", reason, update.id)
    signer = next((k for k in state.keys if k.kid == body.get("kid")), None)
    if signer is None or signer.not_after is not None:
        reason = "key update not signed by the newest station key (only it may change the trusted keys)"
        return KeysRejected("not-allowed", reason, update.id)
    keys = tuple(k for k in update.keys if k.kid not in state.retired and k.valid_at(now))
    if all(k.not_after is not None for k in keys):
        return KeysRejected("malformed", "key update would leave no key to sign the next one", update.id)
    dropped = {k.kid for k in state.keys} - {k.kid for k in keys}
    return KeysAccepted(TrustState(update.seq, keys, state.retired | dropped, raw), update)


class TrustStore:
    """The trust state in a JSON file next to the agent's other state."""

    def __init__(self, path: Path, pinned_public_key: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state = _load(path).with_pinned(pinned_public_key)

    def ring(self, now: float) -> dict[str, str]:
        """Return the keys to check signatures with at now (retiring, durably, those past their end)."""
        with self._lock:
            state = self._state.expired(now)
            if state is not self._state:
                gone = sorted(self._state.retired ^ state.retired)
                log.warning("station key(s) %s reached the end of their grace period: dropped", gone)
                self._set(state)
            return state.ring(now)

    def kids(self) -> list[str]:
        """Return the ids of the trusted keys (for logs and tests)."""
        with self._lock:
            return [k.kid for k in self._state.keys]

    def offer(self, raw: bytes, now: float) -> KeysAccepted | KeysRejected:
        """Check a received key update; if accepted, store it (before it is used) and return it."""
        self.ring(now)  # retire what has expired first: an expired key must not sign the update
        with self._lock:
            verdict = check_key_update(raw, self._state, now)
            if isinstance(verdict, KeysAccepted):
                self._set(verdict.state)
            return verdict

    def _set(self, state: TrustState) -> None:
        self._state = state
        data = {
            "serial": state.serial,
            "keys": [
                {"kid": k.kid, "public_key": k.public_key, "not_after": k.not_after} for k in state.keys
            ],
            "retired": sorted(state.retired),
            "update": state.update.decode(),
        }
        try_atomic_write(self.path, json.dumps(data).encode(), "the trusted station keys")


def _load(path: Path) -> TrustState:
    try:
        data: Any = json.loads(path.read_bytes())
        keys = tuple(
            protocol.TrustedKey(str(k["kid"]), str(k["public_key"]), _optional_float(k["not_after"]))
            for k in data["keys"]
        )
        retired = frozenset(str(r) for r in data["retired"])
        return TrustState(int(data["serial"]), keys, retired, str(data["update"]).encode())
    except FileNotFoundError:
        return TrustState()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Written atomically, so only a failing SD card gets here: the pinned key is trusted again.
        log.error("ignoring unreadable %s (trusting the key in agent.toml): %s", path, exc)
        return TrustState()


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))

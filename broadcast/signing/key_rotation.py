"""Rotate the station's command-signing key without re-flashing agents.

A rotation generates a new Ed25519 key and a key update (signed by the key in use, listing the new key
and the old one with the end of its grace period), written to the keyring in the secrets dir. The
running station publishes that update retained on loa/v1/keys, so agents offline now catch up later;
from the switch time on it signs with the new key; agents drop the old key when its grace ends. The
grace should outlast every command signed with the old key: the programme window (48 h) plus the
command lifetime, hence the 72 h default.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcast import protocol
from broadcast.signing.commands import Publisher
from broadcast.storage.files import write_atomic

log = logging.getLogger(__name__)

KEYRING_FILE = "signing_keys.json"
ORIGINAL_KEY_FILE = "station_ed25519.pem"
DEFAULT_SWITCH_S = 600.0  # online agents have the update within seconds; ten minutes is plenty
DEFAULT_GRACE_S = 72 * 3600.0
ANNOUNCE_EXPIRY_S = 400 * 24 * 3600.0  # retained for an agent switched off for a season


class RotationError(ValueError):
    """A rotation that must not happen (one is already under way); the text is for the officer."""


@dataclass(frozen=True)
class SigningKey:
    """A station key: its PEM file in the secrets dir, from when it signs, and until when agents trust it."""

    kid: str
    file: str
    public_key: str
    active_from: float | None = None  # None: from the beginning
    not_after: float | None = None  # None: no end (the newest key)


@dataclass(frozen=True)
class Keyring:
    """Every station key still trusted by agents, and the key update that announced the newest."""

    serial: int
    keys: tuple[SigningKey, ...]
    announcement: str = ""

    def current(self, now: float) -> SigningKey:
        """Return the key that signs at `now`: the one that most recently became active."""
        active = [k for k in self.keys if k.active_from is None or k.active_from <= now]
        return max(active, key=lambda k: -1.0 if k.active_from is None else k.active_from)


def load_pem(path: Path) -> bytes:
    """Return the raw 32-byte private key stored in a PEM file."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path.name} is not an Ed25519 key")
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def load_keyring(secrets_dir: Path) -> Keyring | None:
    """Return the keyring, or None if the station never rotated its key (the original key signs)."""
    try:
        data = json.loads((secrets_dir / KEYRING_FILE).read_bytes())
    except FileNotFoundError:
        return None
    keys = tuple(SigningKey(**item) for item in data["keys"])
    return Keyring(int(data["serial"]), keys, str(data.get("announcement", "")))


def plan(ring: Keyring, new: SigningKey, now: float, switch_at: float, grace_s: float) -> Keyring:
    """Return the keyring with `new` signing from switch_at and the current key trusted grace_s longer.

    Keys whose grace already ended are left out. Pure: the caller signs the announcement and saves.
    """
    if any(k.active_from is not None and k.active_from > now for k in ring.keys):
        raise RotationError("Một lần đổi khoá đang chờ đến giờ chuyển; hãy đợi nó hoàn tất.")
    if switch_at < now or grace_s < 0:
        raise RotationError("Giờ chuyển khoá không được ở quá khứ và thời gian ân hạn không được âm.")
    current = ring.current(now)
    kept = []
    for key in ring.keys:
        if key.not_after is not None and key.not_after <= now:
            continue  # its grace is over: agents have dropped it already
        kept.append(replace(key, not_after=switch_at + grace_s) if key.kid == current.kid else key)
    return Keyring(ring.serial + 1, (*kept, new))


def key_update(ring: Keyring, now: float) -> protocol.KeyUpdate:
    """Return the key update announcing the keyring to agents."""
    keys = tuple(protocol.TrustedKey(k.kid, k.public_key, k.not_after) for k in ring.keys)
    return protocol.KeyUpdate(id=str(uuid.uuid4()), seq=ring.serial, issued_at=now, keys=keys)


@dataclass(frozen=True)
class Rotation:
    """What a rotation did, for the officer and the audit log."""

    old_kid: str
    new_kid: str
    switch_at: float
    old_not_after: float


def rotate(
    secrets_dir: Path,
    now: float | None = None,
    switch_in_s: float = DEFAULT_SWITCH_S,
    grace_s: float = DEFAULT_GRACE_S,
) -> Rotation:
    """Generate the next signing key and its announcement (signed by the key in use); save both."""
    now = time.time() if now is None else now
    ring = load_keyring(secrets_dir) or _original(secrets_dir)
    current = ring.current(now)
    private = Ed25519PrivateKey.generate()
    public = protocol.public_key_of(
        private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    )
    kid = protocol.key_id(public)
    new = SigningKey(kid, f"station_ed25519-{kid}.pem", public, active_from=now + switch_in_s)
    planned = plan(ring, new, now, now + switch_in_s, grace_s)
    write_atomic(
        secrets_dir / new.file,
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        mode=0o600,
    )
    signed = protocol.sign_body(key_update(planned, now).to_body(), load_pem(secrets_dir / current.file))
    _save(secrets_dir, replace(planned, announcement=signed.decode()))
    for gone in {k.file for k in ring.keys} - {k.file for k in planned.keys}:
        # A key past its grace is worthless to agents; deleting it leaves nothing to steal later.
        (secrets_dir / gone).unlink(missing_ok=True)
    old_not_after = next(k.not_after for k in planned.keys if k.kid == current.kid)
    assert old_not_after is not None
    log.warning("signing key rotation: %s -> %s at %s", current.kid, kid, time.ctime(now + switch_in_s))
    return Rotation(current.kid, kid, now + switch_in_s, old_not_after)


class Announcer:
    """Publish the keyring's key update retained whenever it is new to this process (and once at start)."""

    def __init__(self, secrets_dir: Path) -> None:
        self.secrets_dir = secrets_dir
        self._published = ""

    def tick(self, publisher: Publisher) -> bool:
        """Publish the announcement if it changed since the last successful publish; True if published."""
        ring = load_keyring(self.secrets_dir)
        if ring is None or not ring.announcement or ring.announcement == self._published:
            return False
        try:
            publisher.publish(
                protocol.KEYS_TOPIC, ring.announcement.encode(), expiry_s=ANNOUNCE_EXPIRY_S, retain=True
            )
        except Exception:  # broker down: tried again on the next tick
            log.exception("could not publish the station key update; will retry")
            return False
        self._published = ring.announcement
        log.info("published station key update %d on %s", ring.serial, protocol.KEYS_TOPIC)
        return True


def _original(secrets_dir: Path) -> Keyring:
    public = protocol.public_key_of(load_pem(secrets_dir / ORIGINAL_KEY_FILE))
    return Keyring(0, (SigningKey(protocol.key_id(public), ORIGINAL_KEY_FILE, public),))


def _save(secrets_dir: Path, ring: Keyring) -> None:
    data = {"serial": ring.serial, "keys": [asdict(k) for k in ring.keys], "announcement": ring.announcement}
    write_atomic(secrets_dir / KEYRING_FILE, json.dumps(data, indent=1).encode(), mode=0o600)

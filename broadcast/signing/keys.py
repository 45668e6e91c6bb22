"""Station secrets kept in the data dir: the Ed25519 command-signing key(s) and the broker password."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from broadcast import protocol
from broadcast.signing import key_rotation


def _read_or_create(path: Path, make: bytes) -> bytes:
    """Return the file's bytes, creating it (0600, atomically) with `make` the first time."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(make)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # fails if another process created it first; theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


class StationKeys:
    """The station's own secrets; generated on first use, never a default."""

    def __init__(self, secrets_dir: Path) -> None:
        self.dir = secrets_dir

    def signing_key_raw(self, now: float | None = None) -> bytes:
        """Return the 32-byte Ed25519 private key that signs commands now (see key_rotation)."""
        ring = key_rotation.load_keyring(self.dir)
        if ring is not None:
            return key_rotation.load_pem(self.dir / ring.current(time.time() if now is None else now).file)
        _read_or_create(
            self.dir / key_rotation.ORIGINAL_KEY_FILE,
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        return key_rotation.load_pem(self.dir / key_rotation.ORIGINAL_KEY_FILE)

    def public_key_b64(self, now: float | None = None) -> str:
        """Return the public key of the signing key in use (what a newly enrolled agent pins)."""
        return protocol.public_key_of(self.signing_key_raw(now))

    def web_secret(self) -> bytes:
        """Return the key that binds CSRF tokens to web sessions."""
        return _read_or_create(self.dir / "web_secret", secrets.token_bytes(32))

    def broker_password(self) -> str:
        """Return the station's own password on the managed broker."""
        return _read_or_create(
            self.dir / "mqtt_station_password", secrets.token_urlsafe(32).encode()
        ).decode()

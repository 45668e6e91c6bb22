"""Station secrets kept in the data dir: the Ed25519 command-signing key and the broker password."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


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

    def signing_key_raw(self) -> bytes:
        """Return the 32-byte Ed25519 private key that signs every command."""
        pem = _read_or_create(
            self.dir / "station_ed25519.pem",
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("station signing key is not Ed25519")
        return key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def public_key_b64(self) -> str:
        """Return the public key agents pin in their config."""
        key = Ed25519PrivateKey.from_private_bytes(self.signing_key_raw())
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def web_secret(self) -> bytes:
        """Return the key that binds CSRF tokens to web sessions."""
        return _read_or_create(self.dir / "web_secret", secrets.token_bytes(32))

    def broker_password(self) -> str:
        """Return the station's own password on the managed broker."""
        return _read_or_create(
            self.dir / "mqtt_station_password", secrets.token_urlsafe(32).encode()
        ).decode()

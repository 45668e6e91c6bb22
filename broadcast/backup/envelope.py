"""The passphrase envelope: scrypt derives keys, AES-256-GCM seals each 1 MiB chunk, HMAC signs manifests.

One backup has one salt (stored in its manifest with the scrypt parameters). The derived 64 bytes are an
AES key and an HMAC key. A sealed file is a small header (magic, nonce prefix) followed by chunks, each
sealed with the header, its index and a last-chunk flag as associated data: a chunk cut off, dropped,
swapped or altered fails to open. `key_check` (a constant sealed with the key) tells a wrong passphrase
apart from a damaged file before anything large is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"LOABK1\n"
CHUNK = 1 << 20
_TAG = 16
_PREFIX = 8  # random nonce prefix per file; the last 4 nonce bytes count chunks
_CHECK = b"broadcast-backup key check v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1


class EnvelopeError(ValueError):
    """A sealed file or the key check does not open: wrong key, or damaged/truncated bytes."""


@dataclass(frozen=True)
class Keys:
    """The two keys one passphrase and one salt give."""

    seal: bytes
    mac: bytes


def new_kdf() -> dict[str, object]:
    """Return fresh key-derivation parameters (a new random salt) to store in a manifest."""
    return {
        "name": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(os.urandom(16)).decode(),
    }


def derive(passphrase: str, kdf: dict[str, object]) -> Keys:
    """Return the keys of `passphrase` under the stored parameters; refuse unknown or absurd parameters."""
    try:
        n, r, p = int(str(kdf["n"])), int(str(kdf["r"])), int(str(kdf["p"]))
        salt = base64.b64decode(str(kdf["salt"]), validate=True)
    except (KeyError, ValueError) as exc:
        raise EnvelopeError("key-derivation parameters are damaged") from exc
    if kdf.get("name") != "scrypt" or not (1 << 10 <= n <= 1 << 20) or not (1 <= r <= 32) or not 1 <= p <= 16:
        raise EnvelopeError("key-derivation parameters are damaged or unknown")
    raw = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return Keys(seal=raw[:32], mac=raw[32:])


def key_check(keys: Keys) -> str:
    """Return the sealed constant that proves a passphrase right (stored in the manifest)."""
    nonce = hashlib.sha256(keys.mac).digest()[:12]  # fixed per key: the plaintext is fixed too
    return base64.b64encode(AESGCM(keys.seal).encrypt(nonce, _CHECK, b"check")).decode()


def passphrase_matches(keys: Keys, stored_check: str) -> bool:
    """Return True if `stored_check` opens with these keys."""
    try:
        blob = base64.b64decode(stored_check, validate=True)
        nonce = hashlib.sha256(keys.mac).digest()[:12]
        return AESGCM(keys.seal).decrypt(nonce, blob, b"check") == _CHECK
    except (InvalidTag, ValueError):
        return False


def sign(keys: Keys, body: bytes) -> str:
    """Return the HMAC-SHA256 of `body` (hex)."""
    return hmac.new(keys.mac, body, hashlib.sha256).hexdigest()


def signature_ok(keys: Keys, body: bytes, mac: str) -> bool:
    return hmac.compare_digest(sign(keys, body), mac)


def _aad(index: int, last: bool) -> bytes:
    return MAGIC + struct.pack(">I?", index, last)


def seal_stream(keys: Keys, source: BinaryIO, target: BinaryIO) -> None:
    """Write `source` sealed to `target` (chunk by chunk; memory stays one chunk)."""
    prefix = os.urandom(_PREFIX)
    target.write(MAGIC + prefix)
    aead = AESGCM(keys.seal)
    index = 0
    block = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        if index >= 0xFFFFFFFF:
            raise EnvelopeError("file too large to seal")
        nonce = prefix + struct.pack(">I", index)
        target.write(aead.encrypt(nonce, block, _aad(index, last)))
        if last:
            return
        block, index = following, index + 1


def open_stream(keys: Keys, source: BinaryIO, target: BinaryIO) -> None:
    """Write the opened contents of sealed `source` to `target`; raise EnvelopeError on any damage."""
    for block in _opened(keys, source):
        target.write(block)


def _opened(keys: Keys, source: BinaryIO) -> Iterator[bytes]:
    head = source.read(len(MAGIC) + _PREFIX)
    if len(head) < len(MAGIC) + _PREFIX or not head.startswith(MAGIC):
        raise EnvelopeError("not a sealed backup file (bad header)")
    prefix = head[len(MAGIC) :]
    aead = AESGCM(keys.seal)
    index = 0
    sealed = source.read(CHUNK + _TAG)
    while True:
        if len(sealed) < _TAG:
            raise EnvelopeError("sealed file is truncated")
        following = source.read(CHUNK + _TAG)
        last = not following
        nonce = prefix + struct.pack(">I", index)
        try:
            yield aead.decrypt(nonce, sealed, _aad(index, last))
        except InvalidTag:
            raise EnvelopeError("sealed file is damaged, truncated or sealed with another key") from None
        if last:
            return
        sealed, index = following, index + 1


def seal_file(keys: Keys, source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        seal_stream(keys, src, dst)


def open_file(keys: Keys, source: Path, target: Path) -> None:
    """Open `source` into `target`; a partial `target` is removed when the file does not open."""
    try:
        with source.open("rb") as src, target.open("wb") as dst:
            open_stream(keys, src, dst)
    except BaseException:
        target.unlink(missing_ok=True)
        raise

"""Station signing keys as agents see them: key ids, and the signed key update that rotates them.

Every signature names its key (`kid`, inside the signed body), so an agent that trusts more than one
station key (during a rotation's grace period) checks one signature, not several. A key update lists the
keys agents must trust from now on, each with an optional end (`not_after`); it is published retained on
`loa/v1/keys` so an agent that was offline catches up, and signed by a key the agents already trust.
Standard library only (``cryptography`` is imported inside the sign/verify functions).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from broadcast.protocol.base import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    TOPIC_ROOT,
    ProtocolError,
    _check_envelope,
    _field,
    _number,
    canonical_json,
    json_object,
)

KEYS_TOPIC = f"{TOPIC_ROOT}/keys"
MAX_KEYS = 8  # the current key, the next one, and a few still in their grace period
_KID_LENGTH = 16


class UnknownKeyError(ProtocolError):
    """A message signed by a key this receiver does not (or no longer) trust."""


def public_key_raw(public_key_b64: str) -> bytes:
    """Return the 32 raw bytes of a base64 Ed25519 public key, or raise ProtocolError."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError("public key is not base64") from exc
    if len(raw) != 32:
        raise ProtocolError("public key is not 32 bytes")
    return raw


def key_id(public_key_b64: str) -> str:
    """Return the key id of a public key: the first 16 hex digits of the sha256 of its raw bytes."""
    return hashlib.sha256(public_key_raw(public_key_b64)).hexdigest()[:_KID_LENGTH]


def public_key_of(private_key_raw: bytes) -> str:
    """Return the base64 public key of a raw Ed25519 private key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.from_private_bytes(private_key_raw).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign_body(body: dict[str, Any], private_key_raw: bytes) -> bytes:
    """Return the wire message: body plus its key id, and an Ed25519 signature over their canonical form."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(private_key_raw)
    signed = {**body, "kid": key_id(public_key_of(private_key_raw))}
    signature = key.sign(canonical_json(signed))
    return canonical_json({**signed, "sig": base64.b64encode(signature).decode()})


def verify_message(
    raw: bytes, public_keys: str | Mapping[str, str], max_bytes: int = MAX_MESSAGE_BYTES
) -> dict[str, Any]:
    """Return the body of a signed message, or raise ProtocolError if it is malformed or forged.

    public_keys is one base64 key, or the trusted keys by key id. A message without `kid` (signed
    before key ids existed) is checked against every trusted key.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    body = json_object(raw, max_bytes)
    sig = body.pop("sig", None)
    if not isinstance(sig, str):
        raise ProtocolError("unsigned message")
    try:
        signature = base64.b64decode(sig, validate=True)
        ring = {key_id(public_keys): public_keys} if isinstance(public_keys, str) else dict(public_keys)
    except (ProtocolError, binascii.Error, ValueError) as exc:
        raise ProtocolError("bad signature") from exc
    kid = body.get("kid")
    if kid is not None and (not isinstance(kid, str) or kid not in ring):
        shown = kid[:_KID_LENGTH] if isinstance(kid, str) else "?"
        raise UnknownKeyError(f"bad signature: key {shown!r} is not trusted")
    candidates = [ring[kid]] if isinstance(kid, str) else list(ring.values())
    message = canonical_json(body)
    for candidate in candidates:
        try:
            Ed25519PublicKey.from_public_bytes(public_key_raw(candidate)).verify(signature, message)
        except (InvalidSignature, ValueError, ProtocolError):
            continue
        return body
    raise ProtocolError("bad signature")


@dataclass(frozen=True)
class TrustedKey:
    """A station public key and, if it is being retired, the instant after which it is refused."""

    kid: str
    public_key: str
    not_after: float | None = None

    def valid_at(self, now: float) -> bool:
        """Return True if the key may still vouch for a message at `now`."""
        return self.not_after is None or now < self.not_after


@dataclass(frozen=True)
class KeyUpdate:
    """The station keys agents trust from now on; `seq` is the rotation number and only grows."""

    id: str
    seq: int
    issued_at: float
    keys: tuple[TrustedKey, ...]
    kind: Literal["keys"] = "keys"
    v: int = PROTOCOL_VERSION

    def to_body(self) -> dict[str, Any]:
        """Return the JSON-ready body (without signature)."""
        keys = [{"kid": k.kid, "public_key": k.public_key, "not_after": k.not_after} for k in self.keys]
        return {"id": self.id, "seq": self.seq, "issued_at": self.issued_at, "keys": keys,
                "kind": self.kind, "v": self.v}  # fmt: skip


def parse_key_update(body: dict[str, Any]) -> KeyUpdate:
    """Validate a verified key-update body: known shape, each kid matching its key, one key without end."""
    _check_envelope(body, "keys")
    raw_keys = _field(body, "keys", list)
    if not 0 < len(raw_keys) <= MAX_KEYS or not all(isinstance(k, dict) for k in raw_keys):
        raise ProtocolError(f"keys must be a list of 1-{MAX_KEYS} key objects")
    keys = []
    for item in raw_keys:
        public_key = _field(item, "public_key", str)
        kid = _field(item, "kid", str)
        if kid != key_id(public_key):
            raise ProtocolError(f"key id {kid[:_KID_LENGTH]!r} does not match its public key")
        not_after = item.get("not_after")
        if not_after is not None:
            not_after = _number(item, "not_after")
        keys.append(TrustedKey(kid, public_key, not_after))
    if len({k.kid for k in keys}) != len(keys):
        raise ProtocolError("a key is listed twice")
    if all(k.not_after is not None for k in keys):
        raise ProtocolError("every key would expire: nothing could sign the next update")
    seq = _field(body, "seq", int)
    if seq < 1:
        raise ProtocolError("key update seq must be positive")
    issued_at = _number(body, "issued_at")
    if not math.isfinite(issued_at):
        raise ProtocolError("issued_at is not finite")
    return KeyUpdate(id=_field(body, "id", str), seq=seq, issued_at=issued_at, keys=tuple(keys))

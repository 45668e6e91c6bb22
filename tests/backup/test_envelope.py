"""The passphrase envelope: what it seals opens with the passphrase only, and any damage is caught."""

from __future__ import annotations

import io
import os

import pytest

from broadcast.backup import envelope

KDF = {"name": "scrypt", "n": 1 << 14, "r": 8, "p": 1, "salt": "AAAAAAAAAAAAAAAAAAAAAA=="}


def _sealed(data: bytes, keys: envelope.Keys) -> bytes:
    out = io.BytesIO()
    envelope.seal_stream(keys, io.BytesIO(data), out)
    return out.getvalue()


def _opened(blob: bytes, keys: envelope.Keys) -> bytes:
    out = io.BytesIO()
    envelope.open_stream(keys, io.BytesIO(blob), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def keys() -> envelope.Keys:
    return envelope.derive("mật khẩu đúng", KDF)


@pytest.mark.parametrize("size", [0, 1, envelope.CHUNK - 1, envelope.CHUNK, 2 * envelope.CHUNK + 7])
def test_sealed_bytes_open_to_the_same_bytes(keys: envelope.Keys, size: int) -> None:
    data = os.urandom(size)
    blob = _sealed(data, keys)
    assert data not in blob or size < 16  # a byte or two of random data turns up in any blob by chance
    assert _opened(blob, keys) == data


def test_the_same_passphrase_and_salt_give_the_same_keys_and_another_passphrase_other_keys() -> None:
    assert envelope.derive("a", KDF) == envelope.derive("a", KDF)
    assert envelope.derive("a", KDF) != envelope.derive("b", KDF)
    assert envelope.derive("a", KDF) != envelope.derive("a", envelope.new_kdf())


def test_the_key_check_tells_a_wrong_passphrase(keys: envelope.Keys) -> None:
    check = envelope.key_check(keys)
    assert envelope.passphrase_matches(keys, check)
    assert not envelope.passphrase_matches(envelope.derive("sai", KDF), check)
    assert not envelope.passphrase_matches(keys, "not base64 !")


def test_a_wrong_key_does_not_open(keys: envelope.Keys) -> None:
    blob = _sealed(b"secret key material", keys)
    with pytest.raises(envelope.EnvelopeError):
        _opened(blob, envelope.derive("sai", KDF))


@pytest.mark.parametrize(
    "cut",
    [
        lambda b: b[:-1],  # last byte gone
        lambda b: b[: len(envelope.MAGIC) + 8 + envelope.CHUNK + 16],  # cut at a chunk boundary
        lambda b: b[:10],  # header only
        lambda b: b"",
    ],
)
def test_a_truncated_file_does_not_open(keys: envelope.Keys, cut: object) -> None:
    blob = _sealed(os.urandom(2 * envelope.CHUNK + 100), keys)
    with pytest.raises(envelope.EnvelopeError):
        _opened(cut(blob), keys)  # type: ignore[operator]


def test_a_flipped_bit_or_swapped_chunks_do_not_open(keys: envelope.Keys) -> None:
    blob = bytearray(_sealed(os.urandom(3 * envelope.CHUNK), keys))
    flipped = bytearray(blob)
    flipped[len(flipped) // 2] ^= 1
    with pytest.raises(envelope.EnvelopeError):
        _opened(bytes(flipped), keys)
    head, size = len(envelope.MAGIC) + 8, envelope.CHUNK + 16
    first, second = blob[head : head + size], blob[head + size : head + 2 * size]
    swapped = blob[:head] + second + first + blob[head + 2 * size :]
    with pytest.raises(envelope.EnvelopeError):
        _opened(bytes(swapped), keys)


def test_the_manifest_signature_covers_every_byte(keys: envelope.Keys) -> None:
    mac = envelope.sign(keys, b'{"a":1}')
    assert envelope.signature_ok(keys, b'{"a":1}', mac)
    assert not envelope.signature_ok(keys, b'{"a":2}', mac)


@pytest.mark.parametrize(
    "kdf",
    [
        {"name": "pbkdf2", "n": 16384, "r": 8, "p": 1, "salt": "AAAA"},
        {"name": "scrypt", "n": 1 << 30, "r": 8, "p": 1, "salt": "AAAA"},  # a memory bomb
        {"name": "scrypt", "n": 16384, "r": 8, "p": 1},
    ],
)
def test_damaged_or_hostile_parameters_are_refused(kdf: dict[str, object]) -> None:
    with pytest.raises(envelope.EnvelopeError):
        envelope.derive("x", kdf)

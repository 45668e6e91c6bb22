"""Which station a data directory (or a backup) belongs to, so a restore never mixes two stations.

The station id is `st-` + 16 hex digits of the sha256 of the station's first signing public key, written
to `secrets/station_id` the first time a backup is made: the key may be rotated later, the id stays. A
data dir whose id file is missing (never backed up) is matched by its signing public keys instead.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from broadcast import protocol
from broadcast.signing import key_rotation
from broadcast.storage.files import write_atomic

STATION_ID_FILE = "station_id"


def signing_public_keys(secrets_dir: Path) -> tuple[str, ...]:
    """Return the public keys (base64) of every signing key kept in `secrets_dir`, oldest first."""
    keys: list[str] = []
    original = secrets_dir / key_rotation.ORIGINAL_KEY_FILE
    if original.is_file():
        keys.append(protocol.public_key_of(key_rotation.load_pem(original)))
    ring = key_rotation.load_keyring(secrets_dir) if secrets_dir.is_dir() else None
    if ring is not None:
        keys += [k.public_key for k in ring.keys]
    return tuple(dict.fromkeys(keys))


def derive_station_id(public_key_b64: str) -> str:
    return "st-" + hashlib.sha256(public_key_b64.encode("ascii")).hexdigest()[:16]


def station_id_of(secrets_dir: Path) -> str | None:
    """Return the data dir's station id: the recorded one, else derived from its oldest key; None: no keys."""
    recorded = secrets_dir / STATION_ID_FILE
    if recorded.is_file():
        return recorded.read_text(encoding="ascii").strip() or None
    keys = signing_public_keys(secrets_dir)
    return derive_station_id(keys[0]) if keys else None


def ensure_station_id(secrets_dir: Path) -> str:
    """Return the station id, recording it the first time; a station with no key gets its first key now."""
    found = station_id_of(secrets_dir)
    if found is None:
        from broadcast.signing.keys import StationKeys

        StationKeys(secrets_dir).signing_key_raw()  # a station that never signed: its key is made now
        found = station_id_of(secrets_dir)
        assert found is not None
    if not (secrets_dir / STATION_ID_FILE).is_file():
        write_atomic(secrets_dir / STATION_ID_FILE, found + "\n", mode=0o600)
    return found


def same_station(
    target_secrets: Path, backup_station_id: str, backup_keys: tuple[str, ...]
) -> tuple[bool, str | None]:
    """Return (may restore here, the target's station id): True for a dir with no keys or the same station."""
    target_id = station_id_of(target_secrets)
    if target_id is None or target_id == backup_station_id:
        return True, target_id
    if (target_secrets / STATION_ID_FILE).is_file():
        return False, target_id
    # Never backed up: its id is only derived; any signing key in common means the same station.
    return bool(set(signing_public_keys(target_secrets)) & set(backup_keys)), target_id

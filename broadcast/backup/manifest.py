"""What one backup holds, as data: its id, the station it belongs to, every member with size and sha256.

Pure: JSON in, JSON out, no I/O. The manifest is the last thing a backup writes, so a backup without one
never counts as complete. Its `mac` covers every other field (see envelope.sign), so a manifest edited or
damaged after the fact is refused by the passphrase that made it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from broadcast.clipstore.store import is_sha256

FORMAT = 1
ID_FORMAT = "%Y%m%dT%H%M%SZ"
_ID = re.compile(r"^\d{8}T\d{6}Z$")
DATABASE_MEMBER = "database.enc"
SECRETS_MEMBER = "secrets.enc"
MANIFEST_NAME = "manifest.json"
DatabaseKind = Literal["sqlite", "postgresql"]


class ManifestError(ValueError):
    """A manifest that is not one this code wrote (damaged, or from a newer format)."""


def backup_id(now: datetime) -> str:
    """Return the id of a backup made at `now`: its UTC time, which sorts as the backups were made."""
    return now.astimezone(UTC).strftime(ID_FORMAT)


def is_backup_id(value: str) -> bool:
    return bool(_ID.fullmatch(value))


def clip_name(sha256: str) -> str:
    return f"{sha256}.mp3"


@dataclass(frozen=True)
class Member:
    """One stored file: its name, the sha256 and size of the bytes as stored."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """Everything needed to check and restore one backup (see /work/notes/h4-api.md for the layout)."""

    backup_id: str
    created_at: str
    station_id: str
    signing_public_keys: tuple[str, ...]
    database_kind: DatabaseKind
    schema_revision: str | None
    counts: dict[str, int]
    members: tuple[Member, ...]
    clips: tuple[Member, ...]
    clips_kept_in: str | None
    kdf: dict[str, object]
    key_check: str
    app_version: str
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT
    mac: str = ""

    def member(self, name: str) -> Member:
        for item in self.members:
            if item.name == name:
                return item
        raise ManifestError(f"the manifest lists no {name}")

    @property
    def stored_bytes(self) -> int:
        return sum(m.size for m in self.members) + sum(c.size for c in self.clips)

    def body(self) -> bytes:
        """Return the canonical bytes the mac covers (every field but the mac)."""
        data = asdict(replace(self, mac=""))
        del data["mac"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def _members(raw: Any) -> tuple[Member, ...]:
    if not isinstance(raw, list):
        raise ManifestError("member list missing")
    out = []
    for item in raw:
        member = Member(str(item["name"]), str(item["sha256"]), int(item["size"]))
        if (
            not is_sha256(member.sha256)
            or member.size < 0
            or "/" in member.name
            or member.name.startswith(".")
        ):
            raise ManifestError(f"bad member entry {member.name!r}")
        out.append(member)
    return tuple(out)


def parse(blob: bytes) -> Manifest:
    """Return the manifest in `blob`; raise ManifestError if it is damaged or of an unknown format."""
    try:
        data = json.loads(blob)
        if int(data.get("format", 0)) != FORMAT:
            raise ManifestError(f"backup format {data.get('format')!r} is not known to this version")
        manifest = Manifest(
            backup_id=str(data["backup_id"]),
            created_at=str(data["created_at"]),
            station_id=str(data["station_id"]),
            signing_public_keys=tuple(str(k) for k in data["signing_public_keys"]),
            database_kind=_kind(data["database_kind"]),
            schema_revision=None if data["schema_revision"] is None else str(data["schema_revision"]),
            counts={str(k): int(v) for k, v in dict(data["counts"]).items()},
            members=_members(data["members"]),
            clips=_members(data["clips"]),
            clips_kept_in=None if data["clips_kept_in"] is None else str(data["clips_kept_in"]),
            kdf=dict(data["kdf"]),
            key_check=str(data["key_check"]),
            app_version=str(data["app_version"]),
            extra=dict(data.get("extra") or {}),
            mac=str(data["mac"]),
        )
    except ManifestError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(f"manifest is damaged ({exc.__class__.__name__}: {exc})") from None
    if not is_backup_id(manifest.backup_id):
        raise ManifestError(f"bad backup id {manifest.backup_id!r}")
    for clip in manifest.clips:
        if clip.name != clip_name(clip.sha256):
            raise ManifestError(f"clip entry {clip.name!r} does not match its sha256")
    return manifest


def _kind(value: object) -> DatabaseKind:
    if value == "sqlite":
        return "sqlite"
    if value == "postgresql":
        return "postgresql"
    raise ManifestError(f"unknown database kind {value!r}")

"""Check one received zone programme against what this agent already accepted: pure data in, verdict out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from broadcast import protocol
from edge_agent.config import AgentConfig

ProgrammeRejectKind = Literal[
    "unverified", "unknown-key", "malformed", "not-for-me", "expired", "stale", "unchanged"
]
_SUFFIX = "/programme"


@dataclass(frozen=True)
class ProgrammeAccepted:
    """A programme that is authentic, for one of this device's zones, and newer than the one it holds."""

    programme: protocol.ProgrammeMessage
    raw: bytes


@dataclass(frozen=True)
class ProgrammeRejected:
    """A programme that must not replace the current one; `key` says which report it would repeat."""

    kind: ProgrammeRejectKind
    reason: str
    programme_id: str = ""
    key: str = ""

    @property
    def report(self) -> bool:
        """Return True if the station should hear about it (the retained copy on reconnect is routine)."""
        return self.kind != "unchanged"


ProgrammeVerdict = ProgrammeAccepted | ProgrammeRejected


def is_programme_topic(topic: str) -> bool:
    """Return True if topic is a zone's programme topic."""
    return topic.startswith(f"{protocol.TOPIC_ROOT}/zone/") and topic.endswith(_SUFFIX)


def check_programme(
    raw: bytes,
    topic: str,
    now: float,
    config: AgentConfig,
    accepted: Mapping[str, tuple[int, bytes]],
    *,
    check_expiry: bool = True,
    keys: Mapping[str, str] | None = None,
) -> ProgrammeVerdict:
    """Return whether to accept a raw programme received on topic; accepted maps zone -> (version, raw).

    keys: the trusted station keys by key id (default: the key pinned in agent.toml).
    """
    key = hashlib.sha256(raw).hexdigest()[:16]
    try:
        body = protocol.verify_message(
            raw, config.station_public_key if keys is None else keys, max_bytes=protocol.MAX_PROGRAMME_BYTES
        )
    except protocol.UnknownKeyError as exc:
        return ProgrammeRejected("unknown-key", f"programme: {exc}", key=key)
    except protocol.ProtocolError as exc:
        return ProgrammeRejected("unverified", f"programme: {exc}", key=key)
    claimed = body.get("id")
    claimed_id = claimed[:64] if isinstance(claimed, str) else ""
    try:
        programme = protocol.parse_programme(body)
    except protocol.ProtocolError as exc:
        return ProgrammeRejected("malformed", f"programme: {exc}", claimed_id, key)
    if programme.zone not in config.zones:
        reason = f"programme for zone {programme.zone!r}, which is not this device's"
        return ProgrammeRejected("not-for-me", reason, programme.id, key)
    if topic != protocol.zone_programme_topic(programme.zone):
        reason = f"programme for zone {programme.zone!r} arrived on {topic!r}"
        return ProgrammeRejected("malformed", reason, programme.id, key)
    held = accepted.get(programme.zone)
    if held is not None and programme.version <= held[0]:
        if programme.version == held[0] and raw == held[1]:
            return ProgrammeRejected("unchanged", "already accepted", programme.id, key)
        # An older (or a different same-numbered) version: a replay, or a station that lost its counter.
        reason = f"programme version {programme.version} is not newer than the accepted {held[0]}"
        return ProgrammeRejected("stale", reason, programme.id, key)
    if check_expiry and now > programme.expires_at:
        reason = f"programme expired {now - programme.expires_at:.1f} s ago"
        return ProgrammeRejected("expired", reason, programme.id, key)
    return ProgrammeAccepted(programme, raw)


def entry_ids(programme: protocol.ProgrammeMessage) -> list[str]:
    """Return each entry's claimed id, in order ("" where it has none)."""
    ids = []
    for entry in programme.entries:
        try:
            claimed = json.loads(entry).get("id")
        except (ValueError, AttributeError, RecursionError):
            claimed = None
        ids.append(claimed if isinstance(claimed, str) else "")
    return ids


def entry_index(programme: protocol.ProgrammeMessage) -> dict[str, float]:
    """Return id -> expires_at of the entries (the programme's signature vouches for what they claim)."""
    index: dict[str, float] = {}
    for entry in programme.entries:
        try:
            body = json.loads(entry)
            command_id, expires_at = body["id"], float(body["expires_at"])
        except (ValueError, KeyError, TypeError, RecursionError):
            continue  # rejected (and reported) when the entry itself is checked
        if isinstance(command_id, str):
            index[command_id] = expires_at
    return index


def unlisted_lone_entry(
    command: protocol.PlayCommand | protocol.StreamCommand,
    held: Mapping[str, protocol.ProgrammeMessage],
    zones: Collection[str],
) -> str | None:
    """Return why a play that came alone must not play, or None if it may.

    A zone programme is the station's whole word on what plays in its window: a lone play whose start
    falls in the window of the newest programme held for one of this device's zones, yet is not listed
    there, is an entry of a deleted or changed slot (signed earlier, replayed by someone with broker
    control). The station sends no other lone plays.
    """
    for zone in sorted(set(command.zones) & set(zones)):
        programme = held.get(zone)
        if programme is None or command.start_at > programme.window_end:
            continue  # no programme speaks for that time: ids, sequence numbers and expiry still apply
        if command.id not in entry_ids(programme):
            return (
                f"replayed: not an entry of programme v{programme.version} of zone {zone!r}, "
                "which covers its start (a slot deleted or changed since it was signed)"
            )
    return None
